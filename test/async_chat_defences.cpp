// asynchat: tests of async_chat's defences: message size limit, write watermarks, timeouts
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE async_chat_defences
#include <asynchat/error.hpp>
#include <asynchat/testing/manual_clock.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using asynchat::testing::manual_clock;
using asynchat::testing::manual_timer;

namespace {

template <class Stream, class Timer = asio::steady_timer>
class chat : public asynchat::basic_async_chat<Stream, Timer>
{
public:
    using base = asynchat::basic_async_chat<Stream, Timer>;
    using base::base;

    std::vector<std::string> messages;
    std::vector<std::string> events;
    std::vector<boost::system::error_code> codes;
    std::size_t longest_collected = 0;
    bool keep_open_on_timeout = false;

protected:
    void collect_incoming_data(std::string_view data) override
    {
        this->_collect_incoming_data(data);
        longest_collected = std::max(longest_collected, pending_size_ += data.size());
    }
    void found_terminator() override
    {
        messages.push_back(this->_get_data());
        pending_size_ = 0;
    }
    void handle_error(std::exception_ptr e) override
    {
        try
        {
            std::rethrow_exception(e);
        }
        catch (boost::system::system_error const& x)
        {
            codes.push_back(x.code());
            events.push_back(std::string("error: ") + x.what());
        }
        catch (std::exception const& x)
        {
            events.push_back(std::string("error: ") + x.what());
        }
    }
    void handle_write_high_water() override
    {
        events.push_back("high " + std::to_string(this->outgoing_bytes()));
    }
    void handle_write_low_water() override
    {
        events.push_back("low " + std::to_string(this->outgoing_bytes()));
    }
    void handle_timeout() override
    {
        events.push_back("timeout");
        if (!keep_open_on_timeout)
            base::handle_timeout();
    }

private:
    std::size_t pending_size_ = 0;
};

// The same channel, its timeouts on the test's clock.
template <class Stream>
using manual_chat = chat<Stream, manual_timer>;

// Write `data` from the peer without blocking: more than a socket buffer holds must wait for
// the channel to read.
template <class Socket>
void send_async(Socket& peer, std::string data)
{
    auto owned = std::make_shared<std::string>(std::move(data));
    asio::async_write(
        peer, asio::buffer(*owned), [owned](boost::system::error_code, std::size_t) {}
    );
}

} // namespace

BOOST_AUTO_TEST_SUITE(max_message_size)

BOOST_AUTO_TEST_CASE_TEMPLATE(a_long_message_is_an_error_and_closes, Loopback, transports)
{
    // Setup: lines of at most 16 bytes.
    channel_pair<Loopback, chat> p;
    p.channel->set_terminator("\n");
    p.channel->set_max_message_size(16);
    p.channel->start();

    // Event: two good lines, then 1 MiB without a newline.
    send_async(p.peer, std::string("short\n0123456789abcdef\n") + std::string(1 << 20, 'x'));

    // Check: the good lines arrive whole; the long one is cut at the limit, reported with the
    // library's error code, and the channel closes although handle_error() did not close it.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->messages == (std::vector<std::string>{"short", "0123456789abcdef"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST_REQUIRE(p.channel->codes.size() == 1u);
    BOOST_TEST((p.channel->codes[0] == asynchat::make_error_code(asynchat::error::message_too_long))
    );
    BOOST_TEST(std::string(p.channel->codes[0].category().name()) == "asynchat");
    BOOST_TEST(p.channel->codes[0].message().find("message too long") != std::string::npos);
    BOOST_TEST(p.channel->longest_collected <= 16u);
    BOOST_TEST(p.channel->_get_data().size() <= 16u); // the sample collector kept within it
}

BOOST_AUTO_TEST_CASE_TEMPLATE(applies_to_the_none_terminator, Loopback, transports)
{
    channel_pair<Loopback, chat> p;
    p.channel->set_terminator(std::nullopt);
    p.channel->set_max_message_size(1000);
    p.channel->start();
    send_async(p.peer, std::string(5000, 'y'));
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(p.channel->codes.size() == 1u);
    BOOST_TEST(p.channel->longest_collected <= 1000u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(write_watermarks)

BOOST_AUTO_TEST_CASE_TEMPLATE(high_then_low_as_the_queue_fills_and_drains, Loopback, transports)
{
    // Setup: watermarks at 64 KiB and 1 MiB; the peer does not read yet; socket buffers of
    // 64 KiB.
    channel_pair<Loopback, chat> p(64 << 10);
    p.channel->set_write_watermarks(64 << 10, 1 << 20);
    BOOST_CHECK_THROW(p.channel->set_write_watermarks(2, 1), std::invalid_argument);
    p.channel->start();

    // Event: 4 MiB pushed in 64 KiB pieces, in one handler on the channel's executor: no write
    // can complete in between, however much the kernel's buffers would take.
    asio::post(
        p.channel->get_executor(),
        [&]
        {
            for (int i = 0; i < 64; ++i)
                p.channel->push(std::string(64 << 10, 'w'));
        }
    );
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->events.empty(); }));
    BOOST_TEST(p.channel->outgoing_bytes() > 0u);

    // Check: high once, while above 1 MiB; low once the peer has drained it to 64 KiB.
    BOOST_TEST(p.channel->events.size() == 1u);
    BOOST_TEST(p.channel->events[0].rfind("high ", 0) == 0u);
    std::size_t received = 0;
    std::vector<char> buf(1 << 16);
    while (received < (4u << 20))
    {
        received += p.peer.read_some(asio::buffer(buf));
        p.io.poll();
    }
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->events.size() == 2; }));
    BOOST_TEST(p.channel->events[1].rfind("low ", 0) == 0u);
    BOOST_TEST(std::stoul(p.channel->events[1].substr(4)) <= (64u << 10));
    BOOST_TEST(p.channel->outgoing_bytes() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timeouts)

// The timeout logic on the test's clock: each check is exact, whatever the machine's speed.

BOOST_AUTO_TEST_CASE_TEMPLATE(idle_timeout_closes_a_silent_channel, Loopback, transports)
{
    // Setup: a 30 s idle timeout on the manual clock.
    channel_pair<Loopback, manual_chat> p;
    p.channel->set_idle_timeout(30s);
    p.channel->start();
    settle(p.io); // start() runs: the clocks start now

    // Event: 1 ms short of it. Check: open.
    manual_clock::advance(30s - 1ms);
    settle(p.io);
    BOOST_TEST_REQUIRE(p.channel->connected());
    BOOST_TEST(p.channel->events.empty());

    // Event: the last millisecond. Check: one handle_timeout(), whose default closes.
    manual_clock::advance(1ms);
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->events == std::vector<std::string>{"timeout"}, boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(activity_postpones_the_idle_timeout, Loopback, transports)
{
    // Setup: a 200 ms idle timeout.
    channel_pair<Loopback, manual_chat> p;
    p.channel->set_terminator(std::nullopt);
    p.channel->set_idle_timeout(200ms);
    p.channel->start();
    settle(p.io); // start() runs: the clocks start now

    // Event: the peer sends a byte every 150 ms, 10 times (1.5 s in all).
    for (std::size_t i = 1; i <= 10; ++i)
    {
        manual_clock::advance(150ms);
        asio::write(p.peer, asio::buffer("x", 1));
        BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->bytes_received() == i; }));
    }
    // Check: still open; it closes 200 ms after the last byte, not before.
    settle(p.io);
    BOOST_TEST_REQUIRE(p.channel->connected());
    manual_clock::advance(199ms);
    settle(p.io);
    BOOST_TEST_REQUIRE(p.channel->connected());
    manual_clock::advance(1ms);
    BOOST_TEST(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->events == std::vector<std::string>{"timeout"}, boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(read_timeout_cuts_off_a_slow_loris, Loopback, transports)
{
    // Setup: a peer that sends a partial request line, then nothing; the channel keeps writing,
    // so it is never idle.
    channel_pair<Loopback, manual_chat> p;
    p.channel->set_terminator("\r\n");
    p.channel->set_idle_timeout(50ms);
    p.channel->set_read_timeout(80ms);
    p.channel->start();
    settle(p.io); // start() runs: the clocks start now
    asio::write(p.peer, asio::buffer(std::string("GET / HTT")));
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->bytes_received() == 9u; }));

    // Event: 70 ms of writing, 10 ms apart. Check: the idle timeout never fires.
    for (std::size_t i = 1; i <= 7; ++i)
    {
        manual_clock::advance(10ms);
        p.channel->push("still here\r\n");
        BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->bytes_sent() == 12 * i; }));
    }
    settle(p.io);
    BOOST_TEST_REQUIRE(p.channel->connected());

    // Event: the 80th millisecond without input. Check: the read timeout fires.
    manual_clock::advance(10ms);
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->events == std::vector<std::string>{"timeout"}, boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_handled_timeout_restarts_the_clock, Loopback, transports)
{
    // Setup: a 20 ms idle timeout whose handler keeps the channel open.
    channel_pair<Loopback, manual_chat> p;
    p.channel->keep_open_on_timeout = true;
    p.channel->set_idle_timeout(20ms);
    p.channel->start();
    settle(p.io); // start() runs: the clocks start now

    // Event: 20 ms, three times. Check: a timeout each time, 20 ms after the last one.
    for (std::size_t i = 1; i <= 3; ++i)
    {
        manual_clock::advance(19ms);
        settle(p.io);
        BOOST_TEST_REQUIRE(p.channel->events.size() == i - 1);
        manual_clock::advance(1ms);
        BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->events.size() == i; }));
    }
    BOOST_TEST(p.channel->connected());

    // Event: the timeout switched off. Check: no more, however long.
    p.channel->set_idle_timeout(manual_clock::duration::zero());
    manual_clock::advance(1h);
    settle(p.io);
    BOOST_TEST(p.channel->events.size() == 3u);
    p.channel->close();
    BOOST_TEST(run_until(p.io, [&] { return !p.channel->connected(); }));
}

// One test on the real clock, the default timer: the timeout really fires, no earlier than set.
BOOST_AUTO_TEST_CASE_TEMPLATE(idle_timeout_on_the_steady_clock, Loopback, transports)
{
    channel_pair<Loopback, chat> p;
    p.channel->set_idle_timeout(50ms);
    p.channel->start();
    auto const started = std::chrono::steady_clock::now();
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->events == std::vector<std::string>{"timeout"}, boost::test_tools::per_element()
    );
    BOOST_TEST((std::chrono::steady_clock::now() - started >= 50ms));
}

BOOST_AUTO_TEST_SUITE_END()
