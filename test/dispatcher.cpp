// asynchat: tests of dispatcher and dispatcher_with_send over loopback TCP
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/dispatcher.hpp>

#define BOOST_TEST_MODULE dispatcher
#include <asynchat/async_chat.hpp>
#include <asynchat/dispatcher_with_send.hpp>
#include <asynchat/loop.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/child_process.hpp"
#include "support/echo_listener.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint const localhost{asio::ip::make_address("127.0.0.1"), 0};

// Records what happens to it.
class probe : public asynchat::dispatcher
{
public:
    using dispatcher::dispatcher;
    using dispatcher::handle_accept;
    int closes = 0;
    std::vector<std::string> errors;
    std::function<void()> on_read;
    std::function<void()> on_write;

protected:
    void handle_read() override
    {
        if (on_read)
            on_read();
    }
    void handle_write() override
    {
        if (on_write)
            on_write();
    }
    bool writable() override { return static_cast<bool>(on_write); }
    void handle_connect() override {}
    void handle_close() override
    {
        ++closes;
        close();
    }
    void handle_error(std::exception_ptr e) override
    {
        errors.push_back(what(e));
        close();
    }
};

// A channel whose first line waits, on its own thread, until `peers` channels are inside
// found_terminator() at once (at most 5 s): it tells whether channels run in parallel.
struct rendezvous
{
    std::mutex m;
    std::condition_variable cv;
    int inside = 0;
    int met = 0;
    int peers = 2;
};

class meeting_chat : public asynchat::async_chat
{
public:
    meeting_chat(tcp::socket s, rendezvous& r) : asynchat::async_chat(std::move(s)), r_(r)
    {
        set_terminator("\n");
    }

protected:
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override
    {
        std::unique_lock lock(r_.m);
        ++r_.inside;
        r_.cv.notify_all();
        bool const met =
            r_.cv.wait_for(lock, std::chrono::seconds(5), [&] { return r_.inside >= r_.peers; });
        r_.met += met;
        lock.unlock();
        push(met ? "met\n" : "alone\n");
    }

private:
    rendezvous& r_;
};

class meeting_listener : public asynchat::dispatcher
{
public:
    meeting_listener(asio::io_context& io, rendezvous& r) : dispatcher(asio::make_strand(io)), r_(r)
    {
        create_socket();
        bind(localhost);
        listen(64);
    }
    std::vector<asio::any_io_executor> executors;

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        executors.push_back(sock.get_executor());
        std::make_shared<meeting_chat>(std::move(sock), r_)->start();
    }

private:
    rendezvous& r_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(server)

BOOST_AUTO_TEST_CASE(accepted_channels_run_in_parallel_on_two_threads)
{
    // Setup: the listener runs on a strand, as a multi-threaded server's should; two threads.
    asio::io_context io(2);
    rendezvous r;
    auto server = std::make_shared<meeting_listener>(io, r);
    server->start();
    tcp::socket a(io), b(io);
    a.connect(server->local_endpoint());
    b.connect(server->local_endpoint());

    // Event: both send a line; each channel's hook waits until both are inside their hooks.
    asio::write(a, asio::buffer(std::string("x\n")));
    asio::write(b, asio::buffer(std::string("y\n")));
    std::string got_a, got_b;
    std::atomic<int> answers{0};
    auto on_answer = [&](boost::system::error_code, std::size_t)
    {
        if (++answers == 2)
        {
            server->close();
            asynchat::close_all(io);
        }
    };
    asio::async_read_until(a, asio::dynamic_buffer(got_a), '\n', on_answer);
    asio::async_read_until(b, asio::dynamic_buffer(got_b), '\n', on_answer);
    std::thread second([&] { io.run_for(std::chrono::seconds(10)); });
    io.run_for(std::chrono::seconds(10));
    second.join();

    // Check: the two hooks overlapped (a strand of each socket's own, not of the listener's
    // strand), and each socket's executor is a strand of the io_context itself.
    BOOST_TEST(got_a == "met\n");
    BOOST_TEST(got_b == "met\n");
    BOOST_TEST(r.met == 2);
    BOOST_TEST_REQUIRE(server->executors.size() == 2u);
    for (auto const& ex : server->executors)
        BOOST_TEST((ex.target<asio::strand<asio::io_context::executor_type>>() != nullptr));
    BOOST_TEST((server->executors[0] != server->executors[1]));
}

BOOST_AUTO_TEST_CASE(without_strand_per_socket_channels_use_the_io_context_executor)
{
    // Setup: one thread, as in asyncore.
    asio::io_context io(1);
    rendezvous r;
    r.peers = 1;
    auto server = std::make_shared<meeting_listener>(io, r);
    server->strand_per_socket = false;
    server->start();
    tcp::socket a(io);
    a.connect(server->local_endpoint());

    // Event: a line.
    asio::write(a, asio::buffer(std::string("x\n")));
    std::string got;
    bool answered = false;
    asio::async_read_until(
        a,
        asio::dynamic_buffer(got),
        '\n',
        [&](boost::system::error_code, std::size_t) { answered = true; }
    );
    BOOST_TEST_REQUIRE(run_until(io, [&] { return answered; }));

    // Check: answered, on the io_context's plain executor.
    BOOST_TEST(got == "met\n");
    BOOST_TEST_REQUIRE(server->executors.size() == 1u);
    BOOST_TEST((server->executors[0].target<asio::io_context::executor_type>() != nullptr));
    server->close();
    asynchat::close_all(io);
    io.poll();
}

BOOST_AUTO_TEST_CASE(spawns_async_chat_channels_for_each_connection)
{
    // Setup
    asio::io_context io;
    auto server = std::make_shared<echo_listener>(io.get_executor());
    server->start();

    // Event: 20 clients connect at once and each sends two lines.
    std::vector<tcp::socket> clients;
    for (int i = 0; i < 20; ++i)
    {
        clients.emplace_back(io);
        clients.back().connect(server->local_endpoint());
        asio::write(clients.back(), asio::buffer("hello " + std::to_string(i) + "\nbye\n"));
        clients.back().shutdown(tcp::socket::shutdown_send);
    }
    BOOST_TEST_REQUIRE(
        run_until(io, [&] { return server->accepted == 20 && asynchat::channel_count(io) == 1; })
    );

    // Check: every connection was accepted (several per readiness event) and answered.
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(read_to_eof(clients[i]) == "hello " + std::to_string(i) + "\nbye\n");
    server->close();
    io.poll();
}

BOOST_AUTO_TEST_CASE(default_handle_accepted_closes_the_socket)
{
    asio::io_context io;
    auto server = std::make_shared<asynchat::dispatcher>(io.get_executor());
    server->create_socket();
    server->bind(localhost);
    server->listen(5);
    server->start();
    tcp::socket client(io);
    client.connect(server->local_endpoint());
    // The client sees the connection closed by the default handle_accepted().
    bool eof = false;
    char c;
    client.async_read_some(
        asio::buffer(&c, 1),
        [&](boost::system::error_code ec, std::size_t) { eof = ec == asio::error::eof; }
    );
    BOOST_TEST(run_until(io, [&] { return eof; }));
    server->close();
    io.poll();
}

BOOST_AUTO_TEST_CASE(accept_without_a_pending_connection)
{
    asio::io_context io;
    auto server = std::make_shared<probe>(io.get_executor());
    BOOST_CHECK_THROW(server->accept(), std::logic_error);
    server->create_socket();
    server->bind(localhost);
    server->listen(5);
    BOOST_TEST(!server->accept().has_value());
}

BOOST_AUTO_TEST_CASE(accept_onto_a_concrete_strand_runs_typed_channels_on_two_threads)
{
    // Setup: a listener whose handle_accept() takes each connection onto a socket of type
    // basic_stream_socket<tcp, strand<io_context::executor_type>>, and a channel over that type.
    using strand_type = asio::strand<asio::io_context::executor_type>;
    using strand_socket = tcp::socket::rebind_executor<strand_type>::other;
    struct typed_echo : asynchat::basic_async_chat<strand_socket>
    {
        explicit typed_echo(strand_socket s, std::atomic<int>& off)
            : basic_async_chat(std::move(s)), off_strand(off)
        {
            set_terminator("\n");
        }
        void collect_incoming_data(std::string_view d) override { _collect_incoming_data(d); }
        void found_terminator() override
        {
            if (!get_executor().running_in_this_thread())
                ++off_strand;
            push(_get_data() + "\n");
        }
        std::atomic<int>& off_strand;
    };
    struct typed_listener : asynchat::dispatcher
    {
        typed_listener(asio::io_context& io, std::atomic<int>& off)
            : dispatcher(asio::make_strand(io)), io_(io), off_(off)
        {
            create_socket();
            bind({asio::ip::make_address("127.0.0.1"), 0});
            listen(64);
        }
        void handle_accept() override
        {
            auto accepted = accept(asio::make_strand(io_.get_executor()));
            static_assert(std::is_same_v<decltype(accepted->first.get_executor()), strand_type>);
            if (accepted)
                std::make_shared<typed_echo>(std::move(accepted->first), off_)->start();
        }
        asio::io_context& io_;
        std::atomic<int>& off_;
    };
    asio::io_context io(2);
    std::atomic<int> off_strand{0};
    auto server = std::make_shared<typed_listener>(io, off_strand);
    server->start();
    auto work = asio::make_work_guard(io);
    std::thread t1([&] { io.run_for(std::chrono::seconds(20)); });
    std::thread t2([&] { io.run_for(std::chrono::seconds(20)); });

    // Event: 20 clients at once, 50 lines each.
    std::vector<std::thread> clients;
    std::atomic<int> good{0};
    for (int i = 0; i < 20; ++i)
        clients.emplace_back(
            [&, i]
            {
                asio::io_context cio;
                tcp::socket c(cio);
                c.connect(server->local_endpoint());
                std::string sent, got;
                for (int k = 0; k < 50; ++k)
                    sent += std::to_string(i) + ":" + std::to_string(k) + "\n";
                asio::write(c, asio::buffer(sent));
                got.resize(sent.size());
                asio::read(c, asio::buffer(got));
                good += got == sent;
            }
        );
    for (auto& c : clients)
        c.join();
    server->close();
    asio::post(io, [&] { asynchat::close_all(io); });
    work.reset();
    t1.join();
    t2.join();

    // Check: every byte echoed in order, every hook on its channel's strand.
    BOOST_TEST(good == 20);
    BOOST_TEST(off_strand == 0);
}

BOOST_AUTO_TEST_CASE(reuse_port_spreads_connections_over_listeners_on_their_own_io_contexts)
{
    // Setup: two io_contexts of one thread each, each with a listener on the same port.
    asio::io_context io1(1), io2(1);
    auto first = std::make_shared<echo_listener>(io1.get_executor(), 64, 0, true);
    auto const port = first->local_endpoint().port();
    auto second = std::make_shared<echo_listener>(io2.get_executor(), 64, port, true);
    BOOST_TEST_REQUIRE(second->local_endpoint().port() == port);
    first->strand_per_socket = second->strand_per_socket = false;
    first->start();
    second->start();
    auto work1 = asio::make_work_guard(io1);
    auto work2 = asio::make_work_guard(io2);
    std::thread t1([&] { io1.run_for(std::chrono::seconds(20)); });
    std::thread t2([&] { io2.run_for(std::chrono::seconds(20)); });

    // Event: 64 clients, each a line and its echo.
    asio::io_context client_io;
    int echoed = 0;
    for (int i = 0; i < 64; ++i)
    {
        tcp::socket c(client_io);
        c.connect({asio::ip::make_address("127.0.0.1"), port});
        asio::write(c, asio::buffer(std::string("ping\n")));
        std::string line;
        asio::read_until(c, asio::dynamic_buffer(line), '\n');
        echoed += line == "ping\n";
    }
    first->close();
    second->close();
    asio::post(io1, [&] { asynchat::close_all(io1); });
    asio::post(io2, [&] { asynchat::close_all(io2); });
    work1.reset();
    work2.reset();
    t1.join();
    t2.join();

    // Check: every line echoed; both listeners took connections (all 64 on one listener has a
    // probability of 2^-63 under the kernel's hash of the source ports).
    BOOST_TEST(echoed == 64);
    BOOST_TEST(first->accepted + second->accepted == 64);
    BOOST_TEST(first->accepted > 0);
    BOOST_TEST(second->accepted > 0);
}

BOOST_AUTO_TEST_CASE(without_reuse_port_a_second_listener_cannot_bind)
{
    asio::io_context io;
    // Before create_socket() there is no socket to set it on: said so, not guessed as IPv4.
    auto bare = std::make_shared<probe>(io.get_executor());
    BOOST_CHECK_EXCEPTION(
        bare->set_reuse_port(),
        std::logic_error,
        [](std::logic_error const& e)
        { return std::string(e.what()).find("call create_socket() first") != std::string::npos; }
    );
    auto first = std::make_shared<echo_listener>(io.get_executor(), 64, 0, true);
    auto const port = first->local_endpoint().port();
    BOOST_CHECK_THROW(
        std::make_shared<echo_listener>(io.get_executor(), 64, port, false),
        boost::system::system_error
    );
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(socket_rules)

BOOST_AUTO_TEST_CASE(recv_and_send_follow_asyncore)
{
    // Setup
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<probe>(std::move(sock));
    BOOST_TEST(d->connected());
    BOOST_TEST(d->addr().has_value());

    // Check: would-block gives "" and 0.
    BOOST_TEST(d->recv(100).empty());
    BOOST_TEST(d->closes == 0);
    std::size_t sent = 0;
    std::string const big(1 << 16, 'x');
    for (int i = 0; i < 1000; ++i)
        sent += d->send(big);
    BOOST_TEST(sent < 1000u * big.size()); // the socket buffer filled up: send returned 0

    // Check: data, then EOF calls handle_close() and gives "".
    asio::write(peer, asio::buffer(std::string("abc")));
    peer.shutdown(tcp::socket::shutdown_send);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return d->recv(100) == "abc"; }));
    BOOST_TEST(run_until(io, [&] { return d->recv(100).empty() && d->closes == 1; }));
}

BOOST_AUTO_TEST_CASE(send_to_a_reset_peer_calls_handle_close)
{
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<probe>(std::move(sock));
    peer.set_option(asio::socket_base::linger(true, 0));
    peer.close();
    // The first send may still be accepted by the kernel; the reset shows by the next ones.
    std::size_t n = 1;
    for (int i = 0; i < 100 && d->closes == 0; ++i)
        n = d->send("data");
    BOOST_TEST(d->closes == 1);
    BOOST_TEST(n == 0u);
}

BOOST_AUTO_TEST_CASE(connect_refused_goes_to_handle_error)
{
    asio::io_context io;
    tcp::endpoint ep;
    {
        tcp::acceptor gone(io, localhost);
        ep = gone.local_endpoint();
    }
    auto d = std::make_shared<probe>(io.get_executor());
    d->create_socket();
    d->connect(ep);
    d->start();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !d->errors.empty(); }));
    BOOST_TEST(d->errors.front().find("connect") != std::string::npos);
    BOOST_TEST(!d->connected());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(reads_are_level_triggered)
{
    // Setup: a handler that takes one byte per event.
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<probe>(std::move(sock));
    std::string got;
    d->on_read = [&] { got += d->recv(1); };
    d->start();

    // Event: 1000 bytes arrive in one segment.
    asio::write(peer, asio::buffer(std::string(1000, 'z')));

    // Check: the handler is called again while bytes remain, with no new data arriving.
    BOOST_TEST(run_until(io, [&] { return got.size() == 1000; }));
    d->close();
    io.poll();
}

BOOST_AUTO_TEST_CASE(a_throwing_hook_goes_to_handle_error)
{
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<probe>(std::move(sock));
    d->on_write = [] { throw std::runtime_error("handle_write failed"); };
    d->start();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !d->errors.empty(); }));
    BOOST_TEST(d->errors.front() == "handle_write failed");
    BOOST_TEST(!d->connected());
}

BOOST_AUTO_TEST_CASE(a_throwing_handle_error_still_closes)
{
    struct bad : asynchat::dispatcher
    {
        using dispatcher::dispatcher;
        void handle_read() override { throw std::runtime_error("read failed"); }
        void handle_error(std::exception_ptr) override
        {
            throw std::logic_error("and so did handle_error");
        }
    };
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<bad>(std::move(sock));
    d->start();
    asio::write(peer, asio::buffer(std::string("x")));
    // Nothing escapes run(); the dispatcher ends up closed.
    BOOST_TEST(run_until(io, [&] { return asynchat::channel_count(io) == 0; }));
}

BOOST_AUTO_TEST_CASE(an_idle_writable_dispatcher_does_not_spin_outside_loop)
{
    // Setup: writable() always true, handle_write() does nothing (asyncore's default shape).
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<probe>(std::move(sock));
    int writes = 0;
    d->on_write = [&] { ++writes; };
    d->start();

    // Event: run the io_context for 100 ms.
    io.run_for(std::chrono::milliseconds(100));

    // Check: called again and again, but paced by idle_retry (10 ms), not thousands of times.
    BOOST_TEST(writes >= 2);
    BOOST_TEST(writes <= 30);
    d->close();
    io.poll();
}

BOOST_AUTO_TEST_CASE(an_eof_that_handle_close_leaves_open_does_not_spin)
{
    // Setup: the peer has closed; handle_close() does not close (a careless port of asyncore
    // code, which spins on it).
    struct careless : asynchat::dispatcher
    {
        using dispatcher::dispatcher;
        int closes = 0;
        void handle_read() override { recv(64); }
        bool writable() override { return false; }
        void handle_close() override { ++closes; }
    };
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<careless>(std::move(sock));
    peer.close();
    d->start();

    // Event: run the io_context for 100 ms.
    io.run_for(std::chrono::milliseconds(100));

    // Check: the EOF is reported again, paced by idle_retry (10 ms), not thousands of times.
    BOOST_TEST_MESSAGE("handle_close() calls in 100 ms: " << d->closes);
    BOOST_TEST(d->closes >= 2);
    BOOST_TEST(d->closes <= 30);
    d->close();
    io.poll();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(descriptor_exhaustion)

namespace {

// A listener whose handle_error() does not close it, counting what happens to it.
class enduring_listener : public asynchat::dispatcher
{
public:
    explicit enduring_listener(asio::io_context& io) : dispatcher(io.get_executor())
    {
        create_socket();
        bind(localhost);
        listen(64);
    }
    int accept_events = 0;
    int errors = 0;
    int accepted = 0;
    // The pause messages that reached the override of log_info().
    int pause_lines = 0;

    void log_info(std::string_view message, std::string_view type) override
    {
        if (type == "error" && message.rfind("accept: ", 0) == 0)
            ++pause_lines;
        dispatcher::log_info(message, type);
    }

protected:
    void handle_accept() override
    {
        ++accept_events;
        dispatcher::handle_accept();
    }
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        ++accepted;
        boost::system::error_code ignored;
        sock.close(ignored);
    }
    void handle_error(std::exception_ptr) override { ++errors; }
};

// In a child process: after a first connection, a second one meets a listener with no
// descriptor left for 300 ms; then descriptors are freed. Reports "during: ..." and "after: ..."
// lines. `run(io, until, deadline)` drives the io_context until `until()` holds or the deadline
// passes.
void exhaust_a_listener(
    std::function<void(asio::io_context&, std::function<bool()>, std::chrono::milliseconds)> run
)
{
    limit_descriptors(16);
    asio::io_context io;
    auto listener = std::make_shared<enduring_listener>(io);
    listener->start();
    std::ostringstream log;
    auto* const old_cout = std::cout.rdbuf(log.rdbuf());
    // A first connection is accepted while descriptors are free. That also runs every path once
    // before they run out: UBSan's first check of a dynamic type opens a pipe, and reports an
    // error when it cannot (see exhaust_descriptors()).
    listener->log_info("descriptors about to run out", "info");
    tcp::socket first(io);
    first.connect(listener->local_endpoint());
    run(
        io, [&] { return listener->accepted == 1; }, std::chrono::milliseconds(5000)
    );
    tcp::socket client(io);
    client.connect(listener->local_endpoint());
    auto held = exhaust_descriptors();
    int const events_before = listener->accept_events;

    // 300 ms with every descriptor in use.
    auto const start = std::chrono::steady_clock::now();
    run(
        io,
        [&] { return std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300); },
        std::chrono::milliseconds(1000)
    );
    std::string const text = log.str();
    std::size_t lines = 0;
    for (std::size_t at = text.find("accept: Too many open files"); at != std::string::npos;
         at = text.find("accept: Too many open files", at + 1))
        ++lines;
    child_process::report(
        "during: accept_events=" + std::to_string(listener->accept_events - events_before) +
        " errors=" + std::to_string(listener->errors) +
        " log_lines=" + std::to_string(listener->pause_lines) +
        " printed=" + std::to_string(lines) + " accepting=" + std::to_string(listener->accepting())
    );

    // The descriptors come back: the second connection is accepted.
    release_descriptors(held);
    run(
        io, [&] { return listener->accepted == 2; }, std::chrono::milliseconds(5000)
    );
    std::cout.rdbuf(old_cout);
    child_process::report(
        "after: accepted=" + std::to_string(listener->accepted) +
        " accepting=" + std::to_string(listener->accepting())
    );
}

// "name=value" fields of a reported line.
int field(std::string const& line, std::string const& name)
{
    auto const at = line.find(" " + name + "=");
    return at == std::string::npos ? -1 : std::stoi(line.substr(at + name.size() + 2));
}

void check_exhaustion_report(child_process& child)
{
    std::string const during = child.read_line();
    std::string const after = child.read_line();
    BOOST_TEST_MESSAGE(during << " / " << after);
    BOOST_TEST_REQUIRE(
        during.rfind("during:", 0) == 0u,
        "the child reported '" << during << "' (\"\": nothing in 10 s)"
    );
    BOOST_TEST_REQUIRE(
        after.rfind("after:", 0) == 0u,
        "the child reported '" << after << "' (\"\": nothing in 10 s)"
    );
    // Back-offs of 5, 10, 20, 40, 80, 160 ms: a few attempts in 300 ms, not thousands.
    BOOST_TEST(field(during, "accept_events") >= 2);
    BOOST_TEST(field(during, "accept_events") <= 10);
    BOOST_TEST(field(during, "errors") == 0);
    BOOST_TEST(field(during, "log_lines") >= 1);
    BOOST_TEST(field(during, "log_lines") <= field(during, "accept_events"));
    // The override saw each line, and passed it on to the default, which prints it.
    BOOST_TEST(field(during, "printed") == field(during, "log_lines"));
    BOOST_TEST(field(during, "accepting") == 1);
    BOOST_TEST(field(after, "accepted") == 2);
    BOOST_TEST(field(after, "accepting") == 1);
}

} // namespace

BOOST_AUTO_TEST_CASE(accept_backs_off_instead_of_spinning_outside_loop)
{
    // Setup, event: in a child, whose descriptor limit is lowered.
    child_process child(
        []
        {
            exhaust_a_listener([](asio::io_context& io,
                                  std::function<bool()> until,
                                  std::chrono::milliseconds deadline)
                               { run_until(io, until, deadline); });
        }
    );

    // Check
    check_exhaustion_report(child);
}

BOOST_AUTO_TEST_CASE(accept_backs_off_instead_of_spinning_under_loop)
{
    child_process child(
        []
        {
            exhaust_a_listener(
                [](asio::io_context& io,
                   std::function<bool()> until,
                   std::chrono::milliseconds deadline)
                {
                    auto const end = std::chrono::steady_clock::now() + deadline;
                    while (!until() && std::chrono::steady_clock::now() < end)
                        asynchat::loop(io, std::chrono::milliseconds(10), 1);
                }
            );
        }
    );
    check_exhaustion_report(child);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(with_send)

BOOST_AUTO_TEST_CASE(queues_what_the_socket_does_not_take)
{
    // Setup: 8 MiB through a dispatcher_with_send; the peer reads after.
    struct sender : asynchat::dispatcher_with_send
    {
        using dispatcher_with_send::dispatcher_with_send;
        bool readable() override { return false; }
    };
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<sender>(std::move(sock));
    d->start();
    std::string data(8 << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>(i * 7);

    // Event
    BOOST_TEST(d->send(data) == data.size());
    BOOST_TEST(d->pending() > 0u);
    std::string got;
    std::vector<char> buf(1 << 16);
    std::function<void()> read_more = [&]
    {
        peer.async_read_some(
            asio::buffer(buf),
            [&](boost::system::error_code ec, std::size_t n)
            {
                got.append(buf.data(), n);
                if (!ec)
                    read_more();
            }
        );
    };
    read_more();

    // Check
    BOOST_TEST_REQUIRE(run_until(io, [&] { return got.size() == data.size(); }));
    BOOST_TEST(got == data);
    BOOST_TEST(d->pending() == 0u);
    d->close();
    io.poll();
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

namespace {

// Read from `s` until `n` bytes or EOF, at most `timeout`; "timeout: <what came>" otherwise.
std::string read_some_bytes(
    asio::io_context& io,
    tcp::socket& s,
    std::size_t n,
    std::chrono::seconds timeout = std::chrono::seconds(5)
)
{
    std::string got;
    bool done = false;
    std::array<char, 4096> buf;
    std::function<void()> read_more = [&]
    {
        s.async_read_some(
            asio::buffer(buf),
            [&](boost::system::error_code ec, std::size_t k)
            {
                got.append(buf.data(), k);
                done = ec || got.size() >= n;
                if (!done)
                    read_more();
            }
        );
    };
    read_more();
    if (!run_until(
            io, [&] { return done; }, timeout
        ))
    {
        s.cancel();
        run_until(
            io, [&] { return done; }, std::chrono::seconds(1)
        );
        return "timeout: " + got;
    }
    return got;
}

} // namespace

BOOST_AUTO_TEST_SUITE(send_before_connected)

namespace {

// asyncore's client writes its request in __init__, before the connection exists (the asyncore
// documentation's http_client does, with dispatcher_with_send).
class greeting_client : public asynchat::dispatcher_with_send
{
public:
    greeting_client(asio::io_context& io, tcp::endpoint const& server)
        : dispatcher_with_send(io.get_executor())
    {
        create_socket();
        connect(server);
        send("hello\n");
    }
    int connects = 0;
    int closes = 0;

protected:
    void handle_connect() override { ++connects; }
    void handle_read() override { recv(64); }
    void handle_close() override
    {
        ++closes;
        close();
    }
};

// The same with a plain dispatcher: send() cannot send yet and says so with 0.
class early_sender : public asynchat::dispatcher
{
public:
    early_sender(asio::io_context& io, tcp::endpoint const& server) : dispatcher(io.get_executor())
    {
        create_socket();
        connect(server);
        in_constructor = send("x");
    }
    std::size_t in_constructor = 99;
    int connects = 0;
    int closes = 0;

protected:
    void handle_connect() override { ++connects; }
    void handle_close() override
    {
        ++closes;
        close();
    }
    bool readable() override { return false; }
    bool writable() override { return false; }
};

} // namespace

BOOST_AUTO_TEST_CASE(dispatcher_with_send_sends_what_the_constructor_sent_once_connected)
{
    // Setup: a server nobody has connected to yet.
    asio::io_context io;
    tcp::acceptor acceptor(io, localhost);
    tcp::socket server(io);
    bool accepted = false;
    acceptor.async_accept(server, [&](boost::system::error_code ec) { accepted = !ec; });

    // Event: create_socket(); connect(); send("hello\n") in the constructor, then start().
    auto client = std::make_shared<greeting_client>(io, acceptor.local_endpoint());
    BOOST_TEST(client->closes == 0);
    BOOST_TEST(client->pending() == 6u);
    client->start();
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return accepted; }, 5s
    ));
    std::string const got = read_some_bytes(io, server, 6);

    // Check: CPython's bytes, sent once the connection was made; nothing closed.
    BOOST_TEST(got == "hello\n");
    BOOST_TEST(client->connects == 1);
    BOOST_TEST(client->closes == 0);
    BOOST_TEST(client->pending() == 0u);
    client->close();
    io.poll();
}

BOOST_AUTO_TEST_CASE(send_while_connecting_would_block)
{
    // Setup
    asio::io_context io;
    tcp::acceptor acceptor(io, localhost);
    tcp::socket server(io);
    bool accepted = false;
    acceptor.async_accept(server, [&](boost::system::error_code ec) { accepted = !ec; });

    // Event: send() in the constructor, and after start() while the connect is in progress.
    auto client = std::make_shared<early_sender>(io, acceptor.local_endpoint());
    client->start();
    BOOST_TEST(client->connecting());
    std::size_t const while_connecting = client->send("y");
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return accepted && client->connected(); }, 5s
    ));

    // Check: 0, as asyncore's send() gives for the EAGAIN of a connecting socket, and no
    // handle_close(); the connection goes on and takes what is sent once it is made.
    BOOST_TEST(client->in_constructor == 0u);
    BOOST_TEST(while_connecting == 0u);
    BOOST_TEST(client->closes == 0);
    BOOST_TEST(client->connects == 1);
    BOOST_TEST(client->send("ok") == 2u);
    BOOST_TEST(read_some_bytes(io, server, 2) == "ok");
    client->close();
    io.poll();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(send_bytes)

BOOST_AUTO_TEST_CASE(a_literal_keeps_its_nuls)
{
    // Setup
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<probe>(std::move(sock));
    auto [peer2, sock2] = loopback_tcp::pair(io);
    auto queued = std::make_shared<asynchat::dispatcher_with_send>(std::move(sock2));

    // Event: literals with NULs, and a C string.
    char const* const c_string = "cd\0ef";
    char buffer[32] = "gh"; // a writable buffer: a C string
    std::size_t const literal = d->send("a\0b");
    std::size_t const pointer = d->send(c_string);
    std::size_t const in_buffer = d->send(buffer);
    std::size_t const queued_literal = queued->send("\0z\0");

    // Check: every byte of the literal (b"a\0b" is three bytes in Python); a C string, in a
    // buffer too, up to its first NUL.
    BOOST_TEST(literal == 3u);
    BOOST_TEST(pointer == 2u);
    BOOST_TEST(in_buffer == 2u);
    BOOST_TEST(queued_literal == 3u);
    BOOST_TEST(read_some_bytes(io, peer, 7) == std::string("a\0bcdgh", 7));
    BOOST_TEST(read_some_bytes(io, peer2, 3) == std::string("\0z\0", 3));
    d->close();
    queued->close();
    io.poll();
}

BOOST_AUTO_TEST_CASE(a_null_c_string_is_refused)
{
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto d = std::make_shared<probe>(std::move(sock));
    auto [peer2, sock2] = loopback_tcp::pair(io);
    auto queued = std::make_shared<asynchat::dispatcher_with_send>(std::move(sock2));
    char const* const none = nullptr;
    auto const names_it = [](std::invalid_argument const& e)
    { return std::string(e.what()).find("null char pointer") != std::string::npos; };
    BOOST_CHECK_EXCEPTION(d->send(none), std::invalid_argument, names_it);
    BOOST_CHECK_EXCEPTION(queued->send(none), std::invalid_argument, names_it);
    BOOST_TEST(d->closes == 0);
    BOOST_TEST(queued->pending() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------
// Compile-time checks: what must not compile does not.

namespace {

template <class D, class T, class = void>
struct can_send : std::false_type
{
};

template <class D, class T>
struct can_send<D, T, std::void_t<decltype(std::declval<D&>().send(std::declval<T>()))>>
    : std::true_type
{
};

using plain = asynchat::dispatcher;
using queued = asynchat::dispatcher_with_send;

static_assert(!can_send<plain, std::nullptr_t>::value, "send(nullptr) must not compile");
static_assert(!can_send<queued, std::nullptr_t>::value, "send(nullptr) must not compile");
static_assert(can_send<plain, char const*>::value && can_send<plain, char const (&)[4]>::value);
static_assert(can_send<plain, std::string>::value && can_send<plain, std::string_view>::value);
static_assert(can_send<queued, char const (&)[4]>::value && can_send<queued, char*>::value);

} // namespace
