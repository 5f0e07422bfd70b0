// asynchat: tests of loop(), close_all() and channel_count() with both kinds of channel
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/loop.hpp>

#define BOOST_TEST_MODULE loop
#include <boost/test/unit_test.hpp>

#include <asynchat/async_chat.hpp>
#include <asynchat/dispatcher.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <string>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using tcp = asio::ip::tcp;

namespace {

class line_chat : public asynchat::async_chat
{
public:
    explicit line_chat(tcp::socket s) : asynchat::async_chat(std::move(s)) { set_terminator("\n"); }
    std::vector<std::string> lines;
    bool want_input = true;

protected:
    void collect_incoming_data(std::string_view d) override { _collect_incoming_data(d); }
    void found_terminator() override { lines.push_back(_get_data()); }
    bool readable() override { return want_input; }
};

class reader : public asynchat::dispatcher
{
public:
    using dispatcher::dispatcher;
    std::string data;
    bool want_input = true;

protected:
    void handle_read() override { data += recv(4096); }
    bool readable() override { return want_input; }
    bool writable() override { return false; }
    void handle_close() override { close(); }
};

} // namespace

BOOST_AUTO_TEST_CASE(returns_once_no_channel_is_left)
{
    // Setup: a channel whose peer sends a line and leaves.
    asio::io_context io;
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(server));
    chat->start();
    asio::write(peer, asio::buffer(std::string("bye\n")));
    peer.close();

    // Event
    std::size_t const passes = asynchat::loop(io, std::chrono::seconds(5));

    // Check: the loop ended because the map emptied, not because of a count.
    BOOST_TEST(passes >= 1u);
    BOOST_TEST(asynchat::channel_count(io) == 0u);
    BOOST_TEST(chat->lines == std::vector<std::string>{"bye"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(count_limits_the_passes)
{
    asio::io_context io;
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(server));
    chat->start();
    BOOST_TEST(asynchat::loop(io, std::chrono::milliseconds(1), 3) == 3u);
    BOOST_TEST(asynchat::channel_count(io) == 1u);
    asynchat::close_all(io);
}

BOOST_AUTO_TEST_CASE(an_empty_map_makes_no_pass)
{
    asio::io_context io;
    BOOST_TEST(asynchat::loop(io, std::chrono::seconds(5), 10) == 0u);
}

BOOST_AUTO_TEST_CASE(the_map_holds_both_kinds)
{
    // Setup: a listening dispatcher and an async_chat.
    asio::io_context io;
    auto listener = std::make_shared<asynchat::dispatcher>(io.get_executor());
    listener->create_socket();
    listener->bind({asio::ip::make_address("127.0.0.1"), 0});
    listener->listen(5);
    listener->start();
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(server));
    chat->start();
    BOOST_TEST(asynchat::channel_count(io) == 2u);

    // Event: one closes itself; close_all() takes the rest.
    chat->close();
    io.poll();
    BOOST_TEST(asynchat::channel_count(io) == 1u);
    asynchat::close_all(io);

    // Check: the map is empty at once; the sockets close when the io_context runs.
    BOOST_TEST(asynchat::channel_count(io) == 0u);
    io.poll();
    BOOST_TEST(!listener->accepting());
    BOOST_TEST(!chat->connected());
}

BOOST_AUTO_TEST_CASE(predicates_on_outside_state_take_effect_within_one_pass)
{
    // Setup: both kinds of channel, not wanting input, with input waiting.
    asio::io_context io;
    auto [chat_peer, chat_socket] = loopback_tcp::pair(io);
    auto [reader_peer, reader_socket] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(chat_socket));
    auto r = std::make_shared<reader>(std::move(reader_socket));
    chat->want_input = false;
    r->want_input = false;
    chat->start();
    r->start();
    asio::write(chat_peer, asio::buffer(std::string("line\n")));
    asio::write(reader_peer, asio::buffer(std::string("bytes")));
    asynchat::loop(io, std::chrono::milliseconds(5), 3);
    BOOST_TEST(chat->lines.empty());
    BOOST_TEST(r->data.empty());

    // Event: the outside state changes; no hook of theirs ran since.
    chat->want_input = true;
    r->want_input = true;
    asynchat::loop(io, std::chrono::milliseconds(5), 1);

    // Check
    BOOST_TEST(chat->lines.size() == 1u);
    BOOST_TEST(r->data == "bytes");
    asynchat::close_all(io);
    io.poll();
}

BOOST_AUTO_TEST_CASE(unrelated_asio_work_runs_inside_the_loop)
{
    // Setup: a timer beside a channel.
    asio::io_context io;
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(server));
    chat->start();
    asio::steady_timer timer(io, std::chrono::milliseconds(20));
    bool fired = false;
    timer.async_wait([&](boost::system::error_code) { fired = true; });

    // Event: loop until the timer has fired (at most 5 s), then let the peer go.
    for (int i = 0; i < 500 && !fired; ++i)
        asynchat::loop(io, std::chrono::milliseconds(10), 1);
    peer.close();
    asynchat::loop(io, std::chrono::seconds(5));

    // Check
    BOOST_TEST(fired);
    BOOST_TEST(asynchat::channel_count(io) == 0u);
}

BOOST_AUTO_TEST_CASE(a_pass_waits_for_an_event)
{
    // A reply arriving 30 ms later is seen by a single pass with a long timeout.
    asio::io_context io;
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(server));
    chat->start();
    asio::steady_timer later(io, std::chrono::milliseconds(30));
    later.async_wait([&](boost::system::error_code) { asio::write(peer, asio::buffer(std::string("late\n"))); });
    for (int pass = 0; pass < 3 && chat->lines.empty(); ++pass)
        asynchat::loop(io, std::chrono::seconds(5), 1);
    BOOST_TEST(chat->lines.size() == 1u);
    asynchat::close_all(io);
    io.poll();
}
