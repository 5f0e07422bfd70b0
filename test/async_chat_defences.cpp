// asynchat: tests of async_chat's defences: message size limit, write watermarks, timeouts
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE async_chat_defences
#include <asynchat/error.hpp>

#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

namespace {

template <class Stream>
class chat : public asynchat::basic_async_chat<Stream>
{
public:
    using base = asynchat::basic_async_chat<Stream>;
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
    // Setup: watermarks at 64 KiB and 1 MiB; the peer does not read yet.
    channel_pair<Loopback, chat> p;
    p.channel->set_write_watermarks(64 << 10, 1 << 20);
    BOOST_CHECK_THROW(p.channel->set_write_watermarks(2, 1), std::invalid_argument);
    p.channel->start();

    // Event: 4 MiB pushed in 64 KiB pieces.
    for (int i = 0; i < 64; ++i)
        p.channel->push(std::string(64 << 10, 'w'));
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

BOOST_AUTO_TEST_CASE_TEMPLATE(idle_timeout_closes_a_silent_channel, Loopback, transports)
{
    channel_pair<Loopback, chat> p;
    p.channel->set_idle_timeout(std::chrono::milliseconds(50));
    p.channel->start();
    auto const started = std::chrono::steady_clock::now();
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->events == std::vector<std::string>{"timeout"}, boost::test_tools::per_element()
    );
    BOOST_TEST((std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(50)));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(activity_postpones_the_idle_timeout, Loopback, transports)
{
    // Setup: a 200 ms idle timeout; the peer sends a byte every 20 ms for 400 ms.
    channel_pair<Loopback, chat> p;
    p.channel->set_terminator(std::nullopt);
    p.channel->set_idle_timeout(std::chrono::milliseconds(200));
    p.channel->start();
    asio::steady_timer tick(p.io);
    int sent = 0;
    std::function<void()> send_one = [&]
    {
        tick.expires_after(std::chrono::milliseconds(20));
        tick.async_wait(
            [&](boost::system::error_code)
            {
                asio::write(p.peer, asio::buffer("x", 1));
                if (++sent < 20)
                    send_one();
            }
        );
    };
    send_one();

    // Check: still open after the 400 ms of activity, closed by the timeout after.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return sent == 20; }));
    BOOST_TEST(p.channel->connected());
    BOOST_TEST(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->events == std::vector<std::string>{"timeout"}, boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(read_timeout_cuts_off_a_slow_loris, Loopback, transports)
{
    // Setup: we keep writing (so the channel is never idle), the peer sends nothing after a
    // partial request line.
    channel_pair<Loopback, chat> p;
    p.channel->set_terminator("\r\n");
    p.channel->set_read_timeout(std::chrono::milliseconds(80));
    p.channel->start();
    asio::write(p.peer, asio::buffer(std::string("GET / HTT")));
    asio::steady_timer tick(p.io);
    std::function<void()> chatter = [&]
    {
        tick.expires_after(std::chrono::milliseconds(10));
        tick.async_wait(
            [&](boost::system::error_code ec)
            {
                if (ec || !p.channel->connected())
                    return;
                p.channel->push("still here\r\n");
                chatter();
            }
        );
    };
    chatter();

    // Check
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->connected(); }));
    BOOST_TEST(
        p.channel->events == std::vector<std::string>{"timeout"}, boost::test_tools::per_element()
    );
    tick.cancel();
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_handled_timeout_restarts_the_clock, Loopback, transports)
{
    channel_pair<Loopback, chat> p;
    p.channel->keep_open_on_timeout = true;
    p.channel->set_idle_timeout(std::chrono::milliseconds(20));
    p.channel->start();
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->events.size() >= 3; }));
    BOOST_TEST(p.channel->connected());
    p.channel->set_idle_timeout(std::chrono::steady_clock::duration::zero());
    p.channel->close();
    BOOST_TEST(run_until(p.io, [&] { return !p.channel->connected(); }));
}

BOOST_AUTO_TEST_SUITE_END()
