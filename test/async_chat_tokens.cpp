// asynchat: tests of the channel's initiating functions (async_connect, async_close) with
// callbacks, use_future and, in C++20, use_awaitable
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE async_chat_tokens
#include <asynchat/loop.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#endif

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/echo_listener.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asynchat::test;

namespace {

// A client that records its lines and its hooks.
class client : public asynchat::async_chat
{
public:
    explicit client(executor_type const& ex) : asynchat::async_chat(ex) { set_terminator("\n"); }
    explicit client(stream_type s) : asynchat::async_chat(std::move(s)) { set_terminator("\n"); }

    std::vector<std::string> lines;
    std::vector<std::string> events;

protected:
    void collect_incoming_data(std::string_view d) override { _collect_incoming_data(d); }
    void found_terminator() override { lines.push_back(_get_data()); }
    void handle_connect() override { events.push_back("connect"); }
    void handle_error(std::exception_ptr e) override
    {
        events.push_back("error");
        asynchat::async_chat::handle_error(e);
    }
    void handle_close() override
    {
        events.push_back("close");
        asynchat::async_chat::handle_close();
    }
};

// An address nobody listens on: a port bound and released again.
tcp::endpoint refused_endpoint(asio::io_context& io)
{
    tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto const ep = a.local_endpoint();
    a.close();
    return ep;
}

// Pin both ends' socket buffers to 64 KiB (no autotuning): megabytes queued then stay queued
// until the peer reads, however the machine's TCP memory is tuned.
void small_buffers(tcp::socket& mine, tcp::socket& peer)
{
    mine.set_option(asio::socket_base::send_buffer_size(64 << 10));
    peer.set_option(asio::socket_base::receive_buffer_size(64 << 10));
}

// A result a callback fills in.
struct outcome
{
    std::optional<error_code> ec;
    bool on_executor = false;
};

} // namespace

BOOST_AUTO_TEST_SUITE(async_connect)

BOOST_AUTO_TEST_CASE(callback_completes_after_handle_connect_and_reading_starts)
{
    // Setup: an echo server; a client channel on a strand.
    asio::io_context io;
    auto server = std::make_shared<echo_listener>(io.get_executor());
    server->start();
    auto const strand = asio::make_strand(io);
    auto c = std::make_shared<client>(strand);

    // Event: async_connect with a callback, then a line pushed.
    outcome got;
    std::vector<std::string> events_seen;
    c->async_connect(
        server->local_endpoint(),
        [&](error_code ec)
        {
            got.ec = ec;
            got.on_executor = strand.running_in_this_thread();
            events_seen = c->events;
        }
    );
    BOOST_TEST(!got.ec); // never inside the call
    c->push("hello\n");

    // Check: success, on the channel's strand, after handle_connect(); the echo comes back.
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec && !c->lines.empty(); }));
    BOOST_TEST(!*got.ec);
    BOOST_TEST(got.on_executor);
    BOOST_TEST(
        events_seen == std::vector<std::string>{"connect"}, boost::test_tools::per_element()
    );
    BOOST_TEST(c->lines == std::vector<std::string>{"hello"}, boost::test_tools::per_element());
    c->close();
    server->close();
    BOOST_TEST(run_to_completion(io));
}

BOOST_AUTO_TEST_CASE(failure_goes_to_the_handler_not_to_handle_error)
{
    asio::io_context io;
    auto c = std::make_shared<client>(io.get_executor());
    outcome got;
    c->async_connect(refused_endpoint(io), [&](error_code ec) { got.ec = ec; });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec.has_value(); }));
    BOOST_TEST(*got.ec == asio::error::connection_refused, got.ec->message());
    BOOST_TEST(c->events.empty()); // no handle_error(), no handle_close()
    BOOST_TEST(!c->connected());
    BOOST_TEST(asynchat::channel_count(io) == 0u);
    BOOST_TEST(run_to_completion(io));
    BOOST_TEST(c.use_count() == 1); // nothing holds it
}

BOOST_AUTO_TEST_CASE(close_while_connecting_aborts)
{
    asio::io_context io;
    auto server = std::make_shared<echo_listener>(io.get_executor());
    server->start();
    auto c = std::make_shared<client>(io.get_executor());
    outcome got;
    c->async_connect(server->local_endpoint(), [&](error_code ec) { got.ec = ec; });
    c->close(); // runs after the connect started, before it completes
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec.has_value(); }));
    BOOST_TEST(*got.ec == asio::error::operation_aborted);
    BOOST_TEST(c->events.empty());
    server->close();
    BOOST_TEST(run_to_completion(io));
}

BOOST_AUTO_TEST_CASE(on_a_connected_or_closed_channel)
{
    asio::io_context io;
    auto [mine, theirs] = loopback_tcp::pair(io);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    outcome again;
    c->async_connect(theirs.local_endpoint(), [&](error_code ec) { again.ec = ec; });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return again.ec.has_value(); }));
    BOOST_TEST(*again.ec == asio::error::already_connected);
    BOOST_TEST(c->connected()); // the channel is not disturbed

    c->close();
    outcome closed;
    c->async_connect(theirs.local_endpoint(), [&](error_code ec) { closed.ec = ec; });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return closed.ec.has_value(); }));
    BOOST_TEST(*closed.ec == asio::error::operation_aborted);
    BOOST_TEST(asynchat::channel_count(io) == 0u);
}

BOOST_AUTO_TEST_CASE(use_future_from_another_thread)
{
    // Setup: the io_context runs on a thread of its own.
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    auto server = std::make_shared<echo_listener>(asio::make_strand(io));
    server->start();

    // Event and check: a connect that succeeds, one that fails (the future throws).
    auto c = std::make_shared<client>(asio::make_strand(io));
    auto ok = c->async_connect(server->local_endpoint(), asio::use_future);
    BOOST_TEST_REQUIRE((ok.wait_for(std::chrono::seconds(10)) == std::future_status::ready));
    BOOST_CHECK_NO_THROW(ok.get());
    BOOST_TEST(c->connected());

    auto d = std::make_shared<client>(asio::make_strand(io));
    // A shared_future keeps the stored exception alive while it is looked at: with a plain
    // future, get() gives up the shared state, and the promise, destroyed on the thread of
    // use_future's executor, may free the exception meanwhile as far as TSan can tell (the
    // exception's reference count lives in the uninstrumented libstdc++).
    auto bad = d->async_connect(refused_endpoint(io), asio::use_future).share();
    BOOST_TEST_REQUIRE((bad.wait_for(std::chrono::seconds(10)) == std::future_status::ready));
    try
    {
        bad.get();
        BOOST_FAIL("a refused connect did not throw");
    }
    catch (boost::system::system_error const& e)
    {
        BOOST_TEST(e.code() == asio::error::connection_refused);
    }

    // Clean up: async_close through a future too.
    auto closed = c->async_close(asio::use_future);
    BOOST_TEST_REQUIRE((closed.wait_for(std::chrono::seconds(10)) == std::future_status::ready));
    BOOST_CHECK_NO_THROW(closed.get());
    server->close();
    work.reset();
    runner.join();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(async_close)

BOOST_AUTO_TEST_CASE(completes_once_everything_queued_is_written_and_closed)
{
    // Setup: 4 MiB queued on a channel whose peer has not read yet.
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    std::string const payload(4 << 20, 'z');
    c->push(payload);

    // Event: async_close; then the peer reads everything.
    outcome got;
    c->async_close([&](error_code ec) { got.ec = ec; });
    BOOST_TEST(
        run_until(
            io, [] { return false; }, std::chrono::milliseconds(50)
        ) == false
    );
    BOOST_TEST(!got.ec); // still writing: the peer reads nothing yet
    std::string received;
    std::thread reader([&] { received = read_to_eof(peer); });

    // Check: success once closed, with all bytes and the EOF at the peer.
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec.has_value(); }));
    reader.join();
    BOOST_TEST(!*got.ec, got.ec->message());
    BOOST_TEST(!c->connected());
    BOOST_TEST(received.size() == payload.size());
    BOOST_TEST((received == payload));
}

BOOST_AUTO_TEST_CASE(close_before_the_output_is_written_aborts)
{
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    c->push(std::string(8 << 20, 'q')); // more than the socket buffers hold
    outcome got;
    c->async_close([&](error_code ec) { got.ec = ec; });
    BOOST_TEST(
        run_until(
            io, [] { return false; }, std::chrono::milliseconds(20)
        ) == false
    );
    c->close();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec.has_value(); }));
    BOOST_TEST(*got.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(peer_reset_reports_the_error)
{
    // Setup: the peer resets the connection while 8 MiB wait to be written.
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    c->push(std::string(8 << 20, 'r'));
    outcome got;
    c->async_close([&](error_code ec) { got.ec = ec; });
    BOOST_TEST(
        run_until(
            io, [] { return false; }, std::chrono::milliseconds(20)
        ) == false
    );
    peer.set_option(asio::socket_base::linger(true, 0));
    peer.close();

    // Check: the reset, as the write saw it (a reset, or a broken pipe if it came first).
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec.has_value(); }));
    BOOST_TEST(
        (*got.ec == asio::error::connection_reset || *got.ec == asio::error::broken_pipe),
        got.ec->message()
    );
}

BOOST_AUTO_TEST_CASE(on_a_closed_channel_completes_at_once_but_not_inline)
{
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    c->close();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !c->connected(); }));
    outcome got;
    c->async_close([&](error_code ec) { got.ec = ec; });
    BOOST_TEST(!got.ec);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec.has_value(); }));
    BOOST_TEST(!*got.ec);
}

BOOST_AUTO_TEST_CASE(from_a_hook_the_handler_runs_after_the_hook)
{
    // Setup: a channel that answers "quit" with a goodbye and async_close().
    struct quitter : client
    {
        using client::client;
        bool inside = false;
        std::optional<error_code> ec;
        bool ran_inside = false;
        void found_terminator() override
        {
            inside = true;
            push("bye\n");
            async_close(
                [this](error_code e)
                {
                    ec = e;
                    ran_inside = inside;
                }
            );
            inside = false;
        }
    };
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<quitter>(std::move(mine));
    c->start();
    asio::write(peer, asio::buffer(std::string("quit\n")));
    std::string received;
    std::thread reader([&] { received = read_to_eof(peer); });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return c->ec.has_value(); }));
    reader.join();
    BOOST_TEST(!*c->ec);
    BOOST_TEST(!c->ran_inside);
    BOOST_TEST(received == "bye\n");
}

BOOST_AUTO_TEST_CASE(handler_runs_on_its_associated_executor)
{
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    auto const other = asio::make_strand(io);
    outcome got;
    c->async_close(asio::bind_executor(
        other,
        [&](error_code ec)
        {
            got.ec = ec;
            got.on_executor = other.running_in_this_thread();
        }
    ));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.ec.has_value(); }));
    BOOST_TEST(got.on_executor);
}

BOOST_AUTO_TEST_CASE(destroying_the_io_context_destroys_pending_handlers_uncalled)
{
    // Setup: a close that cannot complete (the peer never reads 8 MiB), through a future.
    std::future<void> f;
    bool called = false;
    auto witness = std::make_shared<int>(0);
    std::weak_ptr<int> alive = witness;
    std::weak_ptr<client> channel;
    {
        asio::io_context io;
        auto [mine, peer] = loopback_tcp::pair(io);
        small_buffers(mine, peer);
        auto c = std::make_shared<client>(std::move(mine));
        channel = c;
        c->start();
        c->push(std::string(8 << 20, 'd'));
        f = c->async_close(asio::use_future);
        c->async_close([&called, w = std::move(witness)](error_code) { called = true; });
        c.reset();
        BOOST_TEST(
            run_until(
                io, [] { return false; }, std::chrono::milliseconds(20)
            ) == false
        );
        // Event: the io_context is destroyed with both operations pending.
    }
    // Check: the callback was destroyed without a call, the future is broken, the channel freed.
    BOOST_TEST(!called);
    BOOST_TEST(alive.expired());
    BOOST_TEST(channel.expired());
    BOOST_TEST_REQUIRE((f.wait_for(std::chrono::seconds(0)) == std::future_status::ready));
    BOOST_CHECK_THROW(f.get(), std::future_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(async_flush)

BOOST_AUTO_TEST_CASE(completes_once_what_was_queued_before_is_written)
{
    // Setup: 4 MiB queued, the peer not reading yet, 64 KiB socket buffers.
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    c->push(std::string(4 << 20, 'f'));

    // Event: async_flush, then more output after it; the peer starts reading later.
    std::optional<error_code> got;
    std::uint64_t sent_at_completion = 0;
    c->async_flush(
        [&](error_code ec)
        {
            got = ec;
            sent_at_completion = c->bytes_sent();
        }
    );
    c->push("after\n");
    BOOST_TEST(
        run_until(
            io, [] { return false; }, std::chrono::milliseconds(20)
        ) == false
    );
    BOOST_TEST(!got); // the peer has read nothing: the 4 MiB cannot all be written
    std::size_t received = 0;
    std::vector<char> buf(1 << 16);
    while (!got)
    {
        boost::system::error_code ec;
        received += peer.read_some(asio::buffer(buf), ec);
        BOOST_TEST_REQUIRE(!ec);
        io.poll();
    }

    // Check: success, with exactly the bytes before it sent; the rest follows.
    BOOST_TEST(!*got);
    BOOST_TEST(sent_at_completion >= (4u << 20));
    BOOST_TEST(sent_at_completion < (4u << 20) + 6);
    c->close_when_done();
    std::string rest;
    std::atomic<bool> done{false};
    std::thread reader(
        [&]
        {
            rest = read_to_eof(peer);
            done = true;
        }
    );
    BOOST_TEST(run_until(io, [&] { return done.load(); }));
    reader.join();
    BOOST_TEST(received + rest.size() == (4u << 20) + 6);
    BOOST_TEST(rest.substr(rest.size() - 6) == "after\n");
}

BOOST_AUTO_TEST_CASE(close_first_aborts_and_a_future_reports_it)
{
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    small_buffers(mine, peer);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    c->push(std::string(4 << 20, 'a'));
    auto flushed = c->async_flush(asio::use_future);
    BOOST_TEST(
        run_until(
            io, [] { return false; }, std::chrono::milliseconds(20)
        ) == false
    );
    c->close();
    BOOST_TEST(run_to_completion(io));
    BOOST_TEST_REQUIRE((flushed.wait_for(std::chrono::seconds(0)) == std::future_status::ready));
    try
    {
        flushed.get();
        BOOST_FAIL("the flush did not report the close");
    }
    catch (boost::system::system_error const& e)
    {
        BOOST_TEST(e.code() == asio::error::operation_aborted);
    }
}

BOOST_AUTO_TEST_CASE(with_nothing_queued_completes_soon_but_not_inline)
{
    asio::io_context io;
    auto [mine, peer] = loopback_tcp::pair(io);
    auto c = std::make_shared<client>(std::move(mine));
    c->start();
    BOOST_TEST(run_to_completion(io, std::chrono::milliseconds(20)) == false);
    std::optional<error_code> got;
    asio::post(
        io,
        [&]
        {
            c->async_flush([&](error_code ec) { got = ec; });
            BOOST_TEST(!got);
        }
    );
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.has_value(); }));
    BOOST_TEST(!*got);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(threads)

BOOST_AUTO_TEST_CASE(fifty_clients_on_two_threads)
{
    // Setup: an echo server and 50 clients on strands of one io_context run by two threads.
    asio::io_context io;
    auto server = std::make_shared<echo_listener>(asio::make_strand(io));
    server->start();
    std::atomic<int> connected{0}, closed{0}, wrong_executor{0};
    std::vector<std::shared_ptr<client>> clients;
    for (int i = 0; i < 50; ++i)
    {
        auto const strand = asio::make_strand(io);
        auto c = std::make_shared<client>(strand);
        clients.push_back(c);
        // Event: connect, send a line, wait for its echo, close; all through handlers.
        c->async_connect(
            server->local_endpoint(),
            [&, c, strand, i](error_code ec)
            {
                if (ec)
                    return;
                wrong_executor += strand.running_in_this_thread() ? 0 : 1;
                ++connected;
                c->push("line " + std::to_string(i) + "\n");
                c->async_close(
                    [&, strand](error_code e)
                    {
                        wrong_executor += strand.running_in_this_thread() ? 0 : 1;
                        if (!e)
                            ++closed;
                    }
                );
            }
        );
    }
    auto work = asio::make_work_guard(io);
    std::thread second([&] { io.run(); });
    bool const done = run_until(
        io, [&] { return closed == 50; }, std::chrono::seconds(20)
    );
    server->close();
    work.reset();
    io.stop();
    second.join();

    // Check: every client connected and closed with success, each handler on its strand.
    BOOST_TEST(done);
    BOOST_TEST(connected == 50);
    BOOST_TEST(closed == 50);
    BOOST_TEST(wrong_executor == 0);
}

BOOST_AUTO_TEST_SUITE_END()

#if defined(BOOST_ASIO_HAS_CO_AWAIT)

BOOST_AUTO_TEST_SUITE(coroutines)

BOOST_AUTO_TEST_CASE(co_await_connect_push_close)
{
    // Setup: a server channel that records what it gets, in the same io_context.
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::shared_ptr<client> server;
    acceptor.async_accept(
        [&](error_code ec, tcp::socket s)
        {
            if (ec)
                return;
            server = std::make_shared<client>(std::move(s));
            server->start();
        }
    );

    // Event: a coroutine connects, pushes two lines and closes, awaiting each step.
    std::vector<std::string> trace;
    auto c = std::make_shared<client>(io.get_executor());
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void>
        {
            co_await c->async_connect(acceptor.local_endpoint(), asio::use_awaitable);
            trace.push_back(c->connected() ? "connected" : "not connected");
            c->push("one\ntwo\n");
            co_await c->async_flush(asio::use_awaitable);
            trace.push_back(c->bytes_sent() == 8 ? "flushed" : "not flushed");
            co_await c->async_close(asio::use_awaitable);
            trace.push_back(c->connected() ? "open" : "closed");
            try
            {
                auto d = std::make_shared<client>(io.get_executor());
                co_await d->async_connect(refused_endpoint(io), asio::use_awaitable);
            }
            catch (boost::system::system_error const& e)
            {
                trace.push_back(e.code() == asio::error::connection_refused ? "refused" : "?");
            }
        },
        asio::detached
    );

    // Check
    BOOST_TEST_REQUIRE(
        run_until(io, [&] { return trace.size() == 4 && server && server->lines.size() == 2; })
    );
    BOOST_TEST(
        trace == (std::vector<std::string>{"connected", "flushed", "closed", "refused"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST(
        server->lines == (std::vector<std::string>{"one", "two"}), boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_SUITE_END()

#endif
