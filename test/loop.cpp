// asynchat: tests of loop(), close_all() and channel_count() with both kinds of channel
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/loop.hpp>

#define BOOST_TEST_MODULE loop
#include <asynchat/async_chat.hpp>
#include <asynchat/dispatcher.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <vector>

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

// A listening dispatcher on 127.0.0.1, port 0, that nobody connects to.
std::shared_ptr<asynchat::dispatcher> idle_listener(asio::io_context& io)
{
    auto listener = std::make_shared<asynchat::dispatcher>(io.get_executor());
    listener->create_socket();
    listener->bind({asio::ip::make_address("127.0.0.1"), 0});
    listener->listen(5);
    listener->start();
    return listener;
}

// The CPU time (user and system) of the whole process so far.
std::chrono::microseconds process_cpu()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto const us = [](timeval t)
    { return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec); };
    return us(u.ru_utime) + us(u.ru_stime);
}

// Counts what a pass gives a dispatcher that stays ready but moves no bytes.
class stuck : public asynchat::dispatcher
{
public:
    using dispatcher::dispatcher;
    int reads = 0;
    int writes = 0;
    int closes = 0;
    bool want_write = false;
    std::size_t read_size = 0; // 0: input stays unread; 1: sees the EOF

protected:
    void handle_read() override
    {
        ++reads;
        recv(read_size);
    }
    void handle_write() override { ++writes; }
    bool writable() override { return want_write; }
    void handle_close() override { ++closes; } // stays open, as a careless port would
};

// An async_chat that neither reads nor writes, with input and output waiting.
class paused_chat : public asynchat::async_chat
{
public:
    explicit paused_chat(tcp::socket s) : asynchat::async_chat(std::move(s)) {}

protected:
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
    bool readable() override { return false; }
    bool writable() override { return false; }
};

} // namespace

BOOST_AUTO_TEST_SUITE(idle)

BOOST_AUTO_TEST_CASE(an_idle_listener_costs_no_cpu)
{
    // Setup: a started listener nobody connects to, as in the README's demo (its start() is
    // still pending, so the first pass does not wait); a timer closes it after a second.
    asio::io_context io;
    auto listener = idle_listener(io);
    asio::steady_timer end(io, std::chrono::seconds(1));
    end.async_wait([&](boost::system::error_code) { asynchat::close_all(io); });
    auto const cpu_before = process_cpu();
    auto const start = std::chrono::steady_clock::now();

    // Event: loop() until the map is empty (the timer ends it: the passes must wait for it).
    std::size_t const passes = asynchat::loop(io, std::chrono::seconds(30));

    // Check: it waited, and the waiting cost (almost) no CPU: under 2% of the time.
    auto const wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - start
    )
                             .count();
    auto const cpu_us = (process_cpu() - cpu_before).count();
    BOOST_TEST_MESSAGE(
        "idle listener: " << passes << " passes, " << cpu_us << " us of CPU in " << wall_us << " us"
    );
    BOOST_TEST(wall_us >= 1000000);
    BOOST_TEST(cpu_us < wall_us / 50);
    BOOST_TEST(passes <= 2u);
}

BOOST_AUTO_TEST_CASE(a_pass_without_events_waits_its_timeout)
{
    // Setup: an idle map: a listener, a dispatcher and an async_chat whose predicates are all
    // false, with their start() done.
    asio::io_context io;
    auto listener = idle_listener(io);
    auto [d_peer, d_sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<stuck>(std::move(d_sock));
    auto [c_peer, c_sock] = loopback_tcp::pair(io);
    auto c = std::make_shared<paused_chat>(std::move(c_sock));
    d->start();
    c->start();
    io.poll();
    auto const start = std::chrono::steady_clock::now();

    // Event: asyncore.loop(timeout=0.2, count=3).
    std::size_t const passes = asynchat::loop(io, std::chrono::milliseconds(200), 3);

    // Check: three passes of 200 ms each.
    auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - start
    )
                       .count();
    BOOST_TEST_MESSAGE("loop(io, 200ms, 3): " << passes << " passes in " << wall_ms << " ms");
    BOOST_TEST(passes == 3u);
    BOOST_TEST(wall_ms >= 590);
    BOOST_TEST(wall_ms < 3000);

    // Event: a handler that is ready at once, then three passes again.
    bool ran = false;
    asio::post(io, [&] { ran = true; });
    auto const again = std::chrono::steady_clock::now();
    std::size_t const passes_again = asynchat::loop(io, std::chrono::milliseconds(200), 3);

    // Check: the first pass ran it and did not wait; the next two waited all the same.
    wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - again
    )
                  .count();
    BOOST_TEST_MESSAGE(
        "loop(io, 200ms, 3) after a post: " << passes_again << " passes in " << wall_ms << " ms"
    );
    BOOST_TEST(ran);
    BOOST_TEST(passes_again == 3u);
    BOOST_TEST(wall_ms >= 390);
    BOOST_TEST(wall_ms < 3000);
    asynchat::close_all(io);
    io.poll();
}

BOOST_AUTO_TEST_CASE(handles_that_stay_ready_without_progress_are_paced)
{
    // Setup: each way a channel can stay ready while its handler moves nothing: always
    // writable with nothing to send; unread input; an EOF whose handle_close() does not close;
    // an async_chat whose predicates are false with input and output waiting.
    asio::io_context io;
    auto [w_peer, w_sock] = loopback_tcp::pair(io);
    auto [r_peer, r_sock] = loopback_tcp::pair(io);
    auto [e_peer, e_sock] = loopback_tcp::pair(io);
    auto [c_peer, c_sock] = loopback_tcp::pair(io);
    auto w = std::make_shared<stuck>(std::move(w_sock));
    auto r = std::make_shared<stuck>(std::move(r_sock));
    auto e = std::make_shared<stuck>(std::move(e_sock));
    auto c = std::make_shared<paused_chat>(std::move(c_sock));
    w->want_write = true;
    e->read_size = 1;
    asio::write(r_peer, asio::buffer(std::string("x")));
    e_peer.close();
    asio::write(c_peer, asio::buffer(std::string("input\n")));
    for (auto const& channel : {w, r, e})
        channel->start();
    c->start();
    c->push("output\n");
    asio::steady_timer end(io, std::chrono::seconds(1));
    end.async_wait([&](boost::system::error_code) { asynchat::close_all(io); });
    auto const cpu_before = process_cpu();

    // Event: loop() for a second.
    std::size_t const passes = asynchat::loop(io, std::chrono::seconds(30));

    // Check: each handler is called about once per idle_retry (10 ms), not as fast as it can.
    auto const cpu_us = (process_cpu() - cpu_before).count();
    BOOST_TEST_MESSAGE(
        passes << " passes, handle_write " << w->writes << ", handle_read " << r->reads
               << ", handle_close " << e->closes << ", " << cpu_us << " us of CPU in a second"
    );
    BOOST_TEST(passes <= 200u);
    BOOST_TEST(w->writes <= 200);
    BOOST_TEST(r->reads <= 200);
    BOOST_TEST(e->closes <= 200);
    BOOST_TEST(w->writes >= 10); // still called, once a pass
    BOOST_TEST(cpu_us < 100000);
}

BOOST_AUTO_TEST_SUITE_END()

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

BOOST_AUTO_TEST_CASE(the_map_reuses_the_slots_of_closed_channels)
{
    // Setup: six channels.
    asio::io_context io;
    std::vector<tcp::socket> peers;
    std::vector<std::shared_ptr<line_chat>> chats;
    auto open = [&]
    {
        auto [peer, server] = loopback_tcp::pair(io);
        peers.push_back(std::move(peer));
        chats.push_back(std::make_shared<line_chat>(std::move(server)));
        chats.back()->start();
    };
    for (int i = 0; i < 6; ++i)
        open();
    BOOST_TEST(asynchat::channel_count(io) == 6u);

    // Event: two close, three more open (two in the freed slots, one in a new one).
    chats[1]->close();
    chats[3]->close();
    io.poll();
    BOOST_TEST(asynchat::channel_count(io) == 4u);
    for (int i = 0; i < 3; ++i)
        open();

    // Check: the map holds the seven open channels, each once: close_all() closes them all.
    BOOST_TEST(asynchat::channel_count(io) == 7u);
    asynchat::close_all(io);
    BOOST_TEST(asynchat::channel_count(io) == 0u);
    io.poll();
    for (auto const& chat : chats)
        BOOST_TEST(!chat->connected());
}

BOOST_AUTO_TEST_CASE(a_channel_closing_after_close_all_leaves_the_new_ones)
{
    // Setup: a channel whose close is still on its way when close_all() empties the map.
    asio::io_context io;
    auto [old_peer, old_server] = loopback_tcp::pair(io);
    auto old_chat = std::make_shared<line_chat>(std::move(old_server));
    old_chat->start();
    asynchat::close_all(io);

    // Event: a new channel takes the first slot before the old one's close runs.
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(server));
    chat->start();
    io.poll();

    // Check: the old channel's close removed nothing of the new one's.
    BOOST_TEST(!old_chat->connected());
    BOOST_TEST(asynchat::channel_count(io) == 1u);
    chat->close();
    io.poll();
    BOOST_TEST(asynchat::channel_count(io) == 0u);
}

BOOST_AUTO_TEST_CASE(a_channel_destroyed_without_closing_leaves_the_map)
{
    // Setup: two channels; the first wants no input, so no read keeps it alive.
    asio::io_context io;
    auto [peer1, server1] = loopback_tcp::pair(io);
    auto [peer2, server2] = loopback_tcp::pair(io);
    auto first = std::make_shared<line_chat>(std::move(server1));
    auto second = std::make_shared<line_chat>(std::move(server2));
    first->want_input = false;
    first->start();
    second->start();
    io.poll();
    BOOST_TEST(asynchat::channel_count(io) == 2u);

    // Event: the owner lets the first go without closing it; a third channel opens.
    std::weak_ptr<line_chat> const gone = first;
    first.reset();
    io.poll();
    BOOST_TEST_REQUIRE(gone.expired());
    auto [peer3, server3] = loopback_tcp::pair(io);
    auto third = std::make_shared<line_chat>(std::move(server3));
    third->start();

    // Check: the map counts the live two, and close_all() closes both.
    BOOST_TEST(asynchat::channel_count(io) == 2u);
    asynchat::close_all(io);
    io.poll();
    BOOST_TEST(!second->connected());
    BOOST_TEST(!third->connected());
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
    later.async_wait([&](boost::system::error_code)
                     { asio::write(peer, asio::buffer(std::string("late\n"))); });
    for (int pass = 0; pass < 3 && chat->lines.empty(); ++pass)
        asynchat::loop(io, std::chrono::seconds(5), 1);
    BOOST_TEST(chat->lines.size() == 1u);
    asynchat::close_all(io);
    io.poll();
}

BOOST_AUTO_TEST_SUITE(visiting_channels)

namespace {

// Medusa's zombie reaper, on a steady_timer: every `period`,
//     for channel in socket_map.values():
//         if now - channel.last_used > timeout: channel.close()
// for the channels that are a Channel.
template <class Channel>
class reaper
{
public:
    reaper(asio::io_context& io, std::chrono::milliseconds limit, std::chrono::milliseconds period)
        : io_(io), timer_(io), limit_(limit), period_(period)
    {
        arm();
    }
    void stop() { timer_.cancel(); }
    int reaped = 0;

private:
    void arm()
    {
        timer_.expires_after(period_);
        timer_.async_wait(
            [this](boost::system::error_code ec)
            {
                if (ec)
                    return;
                auto const now = std::chrono::steady_clock::now();
                for (auto const& channel : asynchat::channels<Channel>(io_))
                    if (now - channel->last_io_time() > limit_)
                    {
                        channel->close();
                        ++reaped;
                    }
                arm();
            }
        );
    }

    asio::io_context& io_;
    asio::steady_timer timer_;
    std::chrono::milliseconds limit_;
    std::chrono::milliseconds period_;
};

} // namespace

BOOST_AUTO_TEST_CASE(a_reaper_closes_the_channels_idle_too_long)
{
    // Setup: two line channels, one whose peer sends a line every 20 ms, one whose peer is
    // silent; a silent channel of another type; a listener.
    asio::io_context io;
    auto listener = idle_listener(io);
    auto [active_peer, active_socket] = loopback_tcp::pair(io);
    auto [idle_peer, idle_socket] = loopback_tcp::pair(io);
    auto [other_peer, other_socket] = loopback_tcp::pair(io);
    auto active = std::make_shared<line_chat>(std::move(active_socket));
    auto idle = std::make_shared<line_chat>(std::move(idle_socket));
    auto other = std::make_shared<paused_chat>(std::move(other_socket));
    active->start();
    idle->start();
    other->start();
    asio::steady_timer pinger(io);
    bool pinging = true;
    std::function<void()> ping = [&]
    {
        pinger.expires_after(std::chrono::milliseconds(20));
        pinger.async_wait(
            [&](boost::system::error_code ec)
            {
                if (ec || !pinging)
                    return;
                asio::write(active_peer, asio::buffer(std::string("ping\n")));
                ping();
            }
        );
    };
    ping();

    // Check: the snapshots hold the channels of each type.
    BOOST_TEST(asynchat::channels<line_chat>(io).size() == 2u);
    BOOST_TEST(asynchat::channels<paused_chat>(io).size() == 1u);
    BOOST_TEST(asynchat::channels<asynchat::async_chat>(io).size() == 3u);
    BOOST_TEST_REQUIRE(asynchat::channels<asynchat::dispatcher>(io).size() == 1u);
    BOOST_TEST(asynchat::channels<asynchat::dispatcher>(io)[0] == listener);
    BOOST_TEST(asynchat::channels<asynchat::channel_logger>(io).size() == 4u);

    // Event: the reaper closes line channels idle for more than 400 ms.
    reaper<line_chat> reap(io, std::chrono::milliseconds(400), std::chrono::milliseconds(20));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !idle->connected(); }, 5s
    ));

    // Check: only the silent line channel went; the other type is not the reaper's.
    BOOST_TEST(reap.reaped == 1);
    BOOST_TEST(active->connected());
    BOOST_TEST(active->lines.size() >= 5u);
    BOOST_TEST(other->connected());
    BOOST_TEST(listener->accepting());
    auto const left = asynchat::channels<line_chat>(io);
    BOOST_TEST_REQUIRE(left.size() == 1u);
    BOOST_TEST(left[0] == active);

    // Event: the active peer falls silent too.
    pinging = false;
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !active->connected(); }, 5s
    ));

    // Check
    BOOST_TEST(reap.reaped == 2);
    BOOST_TEST(asynchat::channels<line_chat>(io).empty());
    BOOST_TEST(other->connected());
    reap.stop();
    pinger.cancel();
    asynchat::close_all(io);
    io.poll();
}

BOOST_AUTO_TEST_CASE(an_empty_map_gives_no_channel)
{
    asio::io_context io;
    BOOST_TEST(asynchat::channels<asynchat::async_chat>(io).empty());
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<line_chat>(std::move(server));
    // Not started: not in the map yet, as asyncore's add_channel() has not run.
    BOOST_TEST(asynchat::channels<line_chat>(io).empty());
    chat->start();
    BOOST_TEST(asynchat::channels<line_chat>(io).size() == 1u);
    chat->close();
    io.poll();
    BOOST_TEST(asynchat::channels<line_chat>(io).empty());
}

BOOST_AUTO_TEST_SUITE_END()
