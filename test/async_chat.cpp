// asynchat: tests of basic_async_chat over real loopback sockets (TCP and Unix)
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE async_chat
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/core/demangle.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "support/golden.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using asynchat::terminator;

namespace {

/// A channel that records every hook call; `on_hook` lets a test act inside any of them.
template <class Stream>
class recording_chat : public asynchat::basic_async_chat<Stream>
{
public:
    using base = asynchat::basic_async_chat<Stream>;
    using base::base;

    trace_recorder rec;
    std::string current;
    std::vector<std::string> messages;
    std::vector<std::string> hooks; // the order hooks were called in
    std::vector<std::string> errors;
    int closes = 0;
    bool is_readable = true;
    std::function<void(std::string const& hook)> on_hook;

protected:
    void collect_incoming_data(std::string_view data) override
    {
        rec.on_collect(data);
        current += data;
        hook("collect_incoming_data");
    }
    void found_terminator() override
    {
        messages.push_back(std::move(current));
        current.clear();
        if (auto next = rec.on_found(this->get_terminator()))
            this->set_terminator(*next);
        hook("found_terminator");
    }
    void handle_connect() override { hook("handle_connect"); }
    void handle_close() override
    {
        ++closes;
        hook("handle_close");
        base::handle_close();
    }
    void handle_error(std::exception_ptr error) override
    {
        errors.push_back(what(error));
        this->close();
    }
    bool readable() override
    {
        hook("readable");
        return is_readable;
    }
    bool writable() override
    {
        hook("writable");
        return true;
    }

private:
    void hook(std::string const& name)
    {
        hooks.push_back(name);
        if (on_hook)
            on_hook(name);
    }
};

/// The peer side of a test: reads everything into `received` until EOF.
template <class Socket>
struct peer_reader
{
    explicit peer_reader(Socket& s) : socket(s) {}

    Socket& socket;
    std::string received;
    bool eof = false;
    char buf[65536];

    void start()
    {
        socket.async_read_some(
            asio::buffer(buf),
            [this](boost::system::error_code ec, std::size_t n)
            {
                received.append(buf, n);
                if (ec)
                    eof = true;
                else
                    start();
            }
        );
    }
};

} // namespace

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(framing)

BOOST_AUTO_TEST_CASE_TEMPLATE(cpython_golden_traces_over_sockets, Loopback, transports)
{
    for (auto const& g : golden_traces())
    {
        BOOST_TEST_CONTEXT(g.name)
        {
            // Setup: a channel reading at most the recorded read size, as CPython did.
            channel_pair<Loopback, recording_chat> p;
            p.channel->ac_in_buffer_size = g.buffer_size;
            p.channel->set_terminator(g.initial);
            p.channel->rec = trace_recorder(g.changes);
            p.channel->start();

            // Event: the peer sends the stream in the recorded chunks, then shuts down. The
            // sends are asynchronous: many small ones can fill a Unix socket's buffer.
            std::size_t pos = 0;
            std::size_t chunk = 0;
            std::function<void()> send_next = [&]
            {
                if (chunk == g.chunks.size())
                {
                    p.peer.shutdown(Loopback::socket::shutdown_send);
                    return;
                }
                std::size_t const n = g.chunks[chunk++];
                asio::async_write(
                    p.peer,
                    asio::buffer(g.stream.data() + pos, n),
                    [&](boost::system::error_code ec, std::size_t)
                    {
                        BOOST_TEST_REQUIRE(!ec);
                        send_next();
                    }
                );
                pos += n;
            };
            send_next();
            BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.closed(); }));

            // Check: how the network split the stream may merge reads, so compare merged.
            BOOST_TEST(
                normalise(p.channel->rec.events) == normalise(g.events),
                boost::test_tools::per_element()
            );
            BOOST_TEST(term_repr(p.channel->get_terminator()) == term_repr(g.final_terminator));
            BOOST_TEST(p.channel->closes == 1);
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(one_byte_reads_and_writes, Loopback, transports)
{
    // Setup
    channel_pair<Loopback, recording_chat> p;
    p.channel->ac_in_buffer_size = 1;
    p.channel->ac_out_buffer_size = 1;
    p.channel->set_terminator("\r\n");
    p.channel->on_hook = [&](std::string const& h)
    {
        if (h == "found_terminator")
            p.channel->push(p.channel->messages.back() + "!\r\n");
    };
    p.channel->start();
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();

    // Event
    asio::write(p.peer, asio::buffer(std::string("one\r\ntwo\r\n")));
    p.peer.shutdown(Loopback::socket::shutdown_send);

    // Check
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(reader.received == "one!\r\ntwo!\r\n");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(terminator_longer_than_the_read_buffer, Loopback, transports)
{
    channel_pair<Loopback, recording_chat> p;
    p.channel->ac_in_buffer_size = 3;
    p.channel->set_terminator("--boundary--");
    p.channel->start();
    asio::write(p.peer, asio::buffer(std::string("part one--boundary--part two--bound")));
    p.peer.shutdown(Loopback::socket::shutdown_send);
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.closed(); }));
    BOOST_TEST(
        p.channel->messages == std::vector<std::string>{"part one"},
        boost::test_tools::per_element()
    );
    BOOST_TEST(p.channel->current == "part two");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sample_collector_returns_and_clears, Loopback, transports)
{
    struct sample_chat : asynchat::basic_async_chat<typename Loopback::socket>
    {
        using asynchat::basic_async_chat<typename Loopback::socket>::basic_async_chat;
        std::vector<std::string> lines;
        void collect_incoming_data(std::string_view d) override { this->_collect_incoming_data(d); }
        void found_terminator() override { lines.push_back(this->_get_data()); }
    };
    asio::io_context io;
    auto [peer, server] = Loopback::pair(io);
    auto chat = std::make_shared<sample_chat>(std::move(server));
    chat->set_terminator("\n");
    chat->start();
    asio::write(peer, asio::buffer(std::string("ab\ncd\n\n")));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return chat->lines.size() == 3; }));
    BOOST_TEST(
        chat->lines == (std::vector<std::string>{"ab", "cd", ""}), boost::test_tools::per_element()
    );
    BOOST_TEST(chat->_get_data().empty());
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(output)

BOOST_AUTO_TEST_CASE_TEMPLATE(data_and_producers_arrive_in_fifo_order, Loopback, transports)
{
    // Setup
    channel_pair<Loopback, recording_chat> p;
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();

    // Event: every push overload, producers between them, then close_when_done.
    std::string const owned = "string ";
    p.channel->push(std::string(owned));
    p.channel->push(std::string_view("view "));
    p.channel->push("c-string ");
    p.channel->push_with_producer(std::make_unique<asynchat::simple_producer>("simple producer ", 3)
    );
    p.channel->push_with_producer(std::string("bytes-producer "));
    p.channel->push(std::string(200000, 'x'));
    p.channel->push("end");
    p.channel->close_when_done();
    p.channel->push("never sent");
    p.channel->start(); // nothing is written before

    // Check
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(
        reader.received ==
        "string view c-string simple producer bytes-producer " + std::string(200000, 'x') + "end"
    );
    BOOST_TEST(p.channel->closes == 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pushes_from_a_hook_share_one_write, Loopback, transports)
{
    // Setup: each line is answered with two pushes.
    channel_pair<Loopback, recording_chat> p;
    p.channel->set_terminator("\n");
    p.channel->on_hook = [&](std::string const& h)
    {
        if (h == "found_terminator")
        {
            p.channel->push(p.channel->messages.back());
            p.channel->push("\n");
        }
    };
    p.channel->start();
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();

    // Event: 100 lines at once.
    std::string lines;
    for (int i = 0; i < 100; ++i)
        lines += "line " + std::to_string(i) + "\n";
    asio::write(p.peer, asio::buffer(lines));
    p.peer.shutdown(Loopback::socket::shutdown_send);

    // Check: every answer, in order; EOF waited for the queued output.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(reader.received == lines);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(peer_eof_waits_for_queued_output, Loopback, transports)
{
    // Setup: a 4 MiB answer, far more than the socket buffers hold.
    channel_pair<Loopback, recording_chat> p;
    std::string const answer(4 << 20, 'a');
    p.channel->set_terminator("\n");
    p.channel->on_hook = [&](std::string const& h)
    {
        if (h == "found_terminator")
            p.channel->push(answer);
    };
    p.channel->start();

    // Event: the peer asks, half-closes, and only then starts reading.
    asio::write(p.peer, asio::buffer(std::string("get\n")));
    p.peer.shutdown(Loopback::socket::shutdown_send);
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->messages.size() == 1; }));
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();

    // Check: all of it arrives, and handle_close() comes after it.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(reader.received.size() == answer.size());
    BOOST_TEST(p.channel->closes == 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(throwing_producer_goes_to_handle_error, Loopback, transports)
{
    struct bad_producer : asynchat::producer
    {
        std::string more() override { throw std::runtime_error("producer exploded"); }
    };
    channel_pair<Loopback, recording_chat> p;
    p.channel->push_with_producer(std::make_unique<bad_producer>());
    p.channel->start();
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.closed(); }));
    BOOST_TEST(
        p.channel->errors == std::vector<std::string>{"producer exploded"},
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(discard_buffers_mid_transfer_drops_the_rest, Loopback, transports)
{
    // Setup: 8 MiB of numbered bytes queued; the peer is not reading yet.
    channel_pair<Loopback, recording_chat> p;
    std::string data(8 << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>('a' + i % 26);
    p.channel->push(data);
    p.channel->push("tail");
    p.channel->start();
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->hooks.size() >= 2; }));

    // Event: discard while a write is in flight, then close once the rest drained.
    asio::post(
        p.io,
        [&]
        {
            p.channel->discard_buffers();
            p.channel->close_when_done();
            p.channel->push("!");
        }
    );
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();

    // Check: what arrives is an uncorrupted prefix of the data and ends there.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(reader.received.size() < data.size());
    BOOST_TEST(reader.received == data.substr(0, reader.received.size()));
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(threads)

BOOST_AUTO_TEST_CASE_TEMPLATE(push_and_close_from_other_threads, Loopback, transports)
{
    // Setup
    channel_pair<Loopback, recording_chat> p;
    p.channel->start();
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();
    constexpr int pushers = 4;
    constexpr int lines = 2000;

    // Event: threads push numbered lines while the io_context runs here; the last one out
    // asks for the close.
    std::atomic<int> running{pushers};
    std::vector<std::thread> threads;
    for (int t = 0; t < pushers; ++t)
    {
        threads.emplace_back(
            [&, t]
            {
                for (int i = 0; i < lines; ++i)
                    p.channel->push(std::to_string(t) + " " + std::to_string(i) + "\n");
                if (--running == 0)
                    p.channel->close_when_done();
            }
        );
    }
    bool const done = run_until(p.io, [&] { return reader.eof; });
    for (auto& t : threads)
        t.join();

    // Check: every line arrived once, in order per pushing thread.
    BOOST_TEST_REQUIRE(done);
    std::vector<int> next(pushers, 0);
    std::istringstream in(reader.received);
    int t, i, count = 0;
    while (in >> t >> i)
    {
        BOOST_TEST_REQUIRE(i == next[t]);
        ++next[t];
        ++count;
    }
    BOOST_TEST(count == pushers * lines);
}

BOOST_AUTO_TEST_CASE(strand_channels_on_a_two_thread_io_context)
{
    // Setup: 20 TCP channels on their own strands, echoing; two threads run the io_context.
    // Every hook checks that it runs inside its channel's strand.
    asio::io_context io;
    loopback_tcp::listener l(io);
    using chat = recording_chat<asio::ip::tcp::socket>;
    using strand = asio::strand<asio::io_context::executor_type>;
    std::vector<std::shared_ptr<chat>> channels;
    std::vector<asio::ip::tcp::socket> peers;
    std::atomic<int> outside_strand{0};
    for (int i = 0; i < 20; ++i)
    {
        asio::ip::tcp::socket peer(io);
        peer.connect(l.endpoint());
        auto c = std::make_shared<chat>(l.acceptor.accept(asio::make_strand(io)));
        c->set_terminator("\n");
        chat* raw = c.get();
        BOOST_TEST_REQUIRE(bool(raw->get_executor().target_type() == typeid(strand)));
        c->on_hook = [raw, &outside_strand](std::string const& h)
        {
            if (!raw->get_executor().target<strand>()->running_in_this_thread())
                ++outside_strand;
            if (h == "found_terminator")
                raw->push(raw->messages.back() + "\n");
        };
        c->start();
        channels.push_back(c);
        peers.push_back(std::move(peer));
    }

    // Event: each peer sends 200 lines; the answers are read back on this thread.
    std::string lines;
    for (int i = 0; i < 200; ++i)
        lines += "message " + std::to_string(i) + "\n";
    auto work = asio::make_work_guard(io);
    std::thread second([&] { io.run(); });
    std::thread first([&] { io.run(); });
    std::vector<std::string> answers;
    for (auto& peer : peers)
    {
        asio::write(peer, asio::buffer(lines));
        peer.shutdown(asio::ip::tcp::socket::shutdown_send);
    }
    for (auto& peer : peers)
        answers.push_back(read_to_eof(peer));
    work.reset();
    for (auto& c : channels)
        c->close();
    first.join();
    second.join();

    // Check
    for (auto const& a : answers)
        BOOST_TEST(a == lines);
    BOOST_TEST(outside_strand == 0);
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(errors_and_closing)

BOOST_AUTO_TEST_CASE(peer_reset_calls_handle_close)
{
    // Setup
    channel_pair<loopback_tcp, recording_chat> p;
    p.channel->start();

    // Event: an abortive close (RST) from the peer.
    p.peer.set_option(asio::socket_base::linger(true, 0));
    p.peer.close();

    // Check: a disconnect, not an error.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.closed(); }));
    BOOST_TEST(p.channel->closes == 1);
    BOOST_TEST(p.channel->errors.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    connect_calls_handle_connect_then_reads_and_writes, Loopback, transports
)
{
    // Setup: output pushed before the connection exists waits for it.
    asio::io_context io;
    typename Loopback::listener l(io);
    using chat = recording_chat<typename Loopback::socket>;
    auto c = std::make_shared<chat>(io.get_executor());
    c->set_terminator("\n");
    c->push("hello\n");

    // Event
    c->connect(l.endpoint());
    typename Loopback::socket server(io);
    bool accepted = false;
    l.acceptor.async_accept(server, [&](boost::system::error_code ec) { accepted = !ec; });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return accepted; }));
    asio::write(server, asio::buffer(std::string("welcome\n")));

    // Check
    BOOST_TEST_REQUIRE(run_until(io, [&] { return c->messages.size() == 1; }));
    BOOST_TEST(c->hooks.front() == "handle_connect");
    BOOST_TEST(c->messages.front() == "welcome");
    std::string got(6, '\0');
    asio::read(server, asio::buffer(got));
    BOOST_TEST(got == "hello\n");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(connect_failure_goes_to_handle_error, Loopback, transports)
{
    // Setup: an endpoint nobody listens on any more.
    asio::io_context io;
    typename Loopback::protocol::endpoint ep;
    {
        typename Loopback::listener l(io);
        ep = l.endpoint();
    }
    auto c = std::make_shared<recording_chat<typename Loopback::socket>>(io.get_executor());

    // Event
    c->connect(ep);

    // Check
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !c->errors.empty(); }));
    BOOST_TEST(c->errors.front().find("connect") != std::string::npos);
    BOOST_TEST(!c->connected());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(close_inside_every_hook_stops_delivery, Loopback, transports)
{
    for (std::string const hook :
         {"collect_incoming_data", "found_terminator", "readable", "writable"})
    {
        BOOST_TEST_CONTEXT(hook)
        {
            // Setup
            channel_pair<Loopback, recording_chat> p;
            std::weak_ptr<typename channel_pair<Loopback, recording_chat>::chat> watch = p.channel;
            p.channel->set_terminator("\n");
            int after_close = 0;
            bool closed = false;
            p.channel->on_hook = [&](std::string const& h)
            {
                if (closed)
                    ++after_close;
                if (h == hook && !closed)
                {
                    closed = true;
                    p.channel->close();
                }
            };
            p.channel->push("x");
            p.channel->start();

            // Event
            asio::write(p.peer, asio::buffer(std::string("a\nb\nc\n")));

            // Check: no hook after close() and, once our reference is gone, no channel either.
            BOOST_TEST_REQUIRE(run_until(p.io, [&] { return closed; }));
            BOOST_TEST(after_close == 0);
            p.channel.reset();
            BOOST_TEST(run_until(p.io, [&] { return watch.expired(); }));
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_throwing_hook_goes_to_handle_error, Loopback, transports)
{
    for (std::string const hook :
         {"collect_incoming_data", "found_terminator", "readable", "writable", "handle_close"})
    {
        BOOST_TEST_CONTEXT(hook)
        {
            // Setup
            channel_pair<Loopback, recording_chat> p;
            p.channel->set_terminator("\n");
            p.channel->on_hook = [&](std::string const& h)
            {
                if (h == hook)
                    throw std::runtime_error("thrown from " + h);
            };
            p.channel->start();
            p.channel->push("x");

            // Event: nothing may escape run(), which would fail the test.
            asio::write(p.peer, asio::buffer(std::string("a\n")));
            p.peer.shutdown(Loopback::socket::shutdown_send);
            BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->errors.empty(); }));

            // Check
            BOOST_TEST(p.channel->errors.front() == "thrown from " + hook);
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(default_handle_error_logs_and_closes, Loopback, transports)
{
    // Setup: a channel that overrides nothing of the error handling; stdout captured.
    struct plain_chat : asynchat::basic_async_chat<typename Loopback::socket>
    {
        using asynchat::basic_async_chat<typename Loopback::socket>::basic_async_chat;
        void collect_incoming_data(std::string_view) override
        {
            throw std::logic_error("bad input");
        }
        void found_terminator() override {}
    };
    asio::io_context io;
    auto [peer, server] = Loopback::pair(io);
    auto chat = std::make_shared<plain_chat>(std::move(server));
    chat->start();
    std::ostringstream out;
    auto* const old = std::cout.rdbuf(out.rdbuf());

    // Event: collect_incoming_data() throws.
    asio::write(peer, asio::buffer(std::string("x")));
    bool const closed = run_until(io, [&] { return !chat->connected(); });
    std::cout.rdbuf(old);

    // Check: closed, after CPython's line went to stdout through log_info(..., "error"), naming
    // the subclass, the peer (a Unix socket's unnamed peer has no address) and the object.
    std::ostringstream peer_address;
    peer_address << peer.local_endpoint();
    std::ostringstream repr;
    repr << '<' << boost::core::demangle(typeid(plain_chat).name()) << " connected"
         << (peer_address.str().empty() ? "" : " " + peer_address.str()) << " at "
         << static_cast<void const*>(chat.get()) << '>';
    BOOST_TEST(closed);
    BOOST_TEST(
        out.str() == "error: uncaptured exception, closing channel " + repr.str() +
                         " (std::logic_error:bad input)\n"
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(zero_buffer_sizes_are_reported, Loopback, transports)
{
    channel_pair<Loopback, recording_chat> p;
    p.channel->ac_in_buffer_size = 0;
    p.channel->start();
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return !p.channel->errors.empty(); }));
    BOOST_TEST(p.channel->errors.front().find("ac_in_buffer_size") != std::string::npos);

    channel_pair<Loopback, recording_chat> q;
    q.channel->ac_out_buffer_size = 0;
    q.channel->push("x");
    q.channel->start();
    BOOST_TEST_REQUIRE(run_until(q.io, [&] { return !q.channel->errors.empty(); }));
    BOOST_TEST(q.channel->errors.front().find("ac_out_buffer_size") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(set_terminator_rejects_negative_counts)
{
    asio::io_context io;
    auto c = std::make_shared<recording_chat<asio::ip::tcp::socket>>(io.get_executor());
    c->set_terminator(5);
    BOOST_CHECK_THROW(c->set_terminator(-5), std::invalid_argument);
    BOOST_TEST(std::get<std::size_t>(c->get_terminator()) == 5u);
    c->set_terminator(std::nullopt);
    BOOST_TEST(std::holds_alternative<std::monostate>(c->get_terminator()));
    terminator saved = std::string("\r\n");
    c->set_terminator(saved);
    BOOST_TEST(std::get<std::string>(c->get_terminator()) == "\r\n");
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(flow_control)

BOOST_AUTO_TEST_CASE_TEMPLATE(readable_false_pauses_until_resumed, Loopback, transports)
{
    // Setup: a channel that does not want input.
    channel_pair<Loopback, recording_chat> p;
    p.channel->set_terminator("\n");
    p.channel->is_readable = false;
    p.channel->start();

    // Event: input arrives while paused.
    asio::write(p.peer, asio::buffer(std::string("held\n")));
    p.io.run_for(30ms);

    // Check: nothing was read; after resume_reading() it is.
    BOOST_TEST(p.channel->messages.empty());
    p.channel->is_readable = true;
    p.channel->resume_reading();
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->messages.size() == 1; }));
    BOOST_TEST(p.channel->messages.front() == "held");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(predicates_may_push_and_resume_reading, Loopback, transports)
{
    // Setup: writable() pushes more output (up to three times); readable() resumes reading once.
    channel_pair<Loopback, recording_chat> p;
    p.channel->set_terminator("\n");
    int pushes = 0;
    bool resumed = false;
    p.channel->on_hook = [&](std::string const& h)
    {
        if (h == "writable" && pushes < 3)
            p.channel->push("w" + std::to_string(++pushes) + "\n");
        if (h == "readable" && !resumed)
        {
            resumed = true;
            p.channel->resume_reading();
        }
    };
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();

    // Event
    p.channel->start();
    p.channel->push("first\n");
    asio::write(p.peer, asio::buffer(std::string("a\nb\n")));
    p.peer.shutdown(Loopback::socket::shutdown_send);

    // Check: every byte arrives once, in order. writable() is asked when output is queued, and
    // what it pushes joins the write it allows (it used to start a nested write of its own).
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(reader.received == "first\nw1\n");
    BOOST_TEST(
        p.channel->messages == (std::vector<std::string>{"a", "b"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(lifetime)

BOOST_AUTO_TEST_CASE_TEMPLATE(a_closed_channel_is_destroyed, Loopback, transports)
{
    // Setup: the only owners are the pending operations.
    asio::io_context io;
    auto [peer, server] = Loopback::pair(io);
    auto c = std::make_shared<recording_chat<typename Loopback::socket>>(std::move(server));
    std::weak_ptr<recording_chat<typename Loopback::socket>> watch = c;
    c->start();
    c->push(std::string(1 << 20, 'z'));
    c.reset();
    io.run_for(10ms);
    BOOST_TEST_REQUIRE(!watch.expired());

    // Event: the peer goes away.
    peer.close();

    // Check
    BOOST_TEST(run_until(io, [&] { return watch.expired(); }));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(destroying_the_io_context_with_live_channels, Loopback, transports)
{
    // Setup: channels with a pending read and a pending write.
    std::vector<std::weak_ptr<recording_chat<typename Loopback::socket>>> watch;
    {
        asio::io_context io;
        std::vector<typename Loopback::socket> peers;
        for (int i = 0; i < 5; ++i)
        {
            auto [peer, server] = Loopback::pair(io);
            auto c = std::make_shared<recording_chat<typename Loopback::socket>>(std::move(server));
            c->start();
            c->push(std::string(4 << 20, 'q'));
            watch.push_back(c);
            peers.push_back(std::move(peer));
        }
        io.run_for(10ms);

        // Event: leaving the scope destroys the io_context with the operations still pending.
    }

    // Check: every channel is gone; ASan/LSan reports any leak or use after free.
    for (auto const& w : watch)
        BOOST_TEST(w.expired());
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

namespace {

// Whether a call compiles: what must not compile is checked at compile time.
template <class T, class = void>
struct can_push : std::false_type
{
};
template <class T>
struct can_push<
    T,
    std::void_t<decltype(std::declval<asynchat::async_chat&>().push(std::declval<T>()))>>
    : std::true_type
{
};
template <class T, class = void>
struct can_push_with_producer : std::false_type
{
};
template <class T>
struct can_push_with_producer<
    T,
    std::void_t<decltype(std::declval<asynchat::async_chat&>().push_with_producer(std::declval<T>())
    )>> : std::true_type
{
};
template <class T, class = void>
struct can_set_terminator : std::false_type
{
};
template <class T>
struct can_set_terminator<
    T,
    std::void_t<decltype(std::declval<asynchat::async_chat&>().set_terminator(std::declval<T>()))>>
    : std::true_type
{
};

// Python's None is nullptr for set_terminator(); push(None) is an error in Python too.
static_assert(can_set_terminator<std::nullptr_t>::value, "set_terminator(nullptr) is None");
static_assert(!can_push<std::nullptr_t>::value, "push(nullptr) must not compile");
static_assert(
    !can_push_with_producer<std::nullptr_t>::value, "push_with_producer(nullptr) must not compile"
);
static_assert(
    !std::is_constructible_v<asynchat::simple_producer, std::nullptr_t>,
    "simple_producer(nullptr) must not compile"
);
// What must still compile.
static_assert(
    can_push<char const*>::value && can_push<char*>::value && can_push<char const (&)[4]>::value
);
static_assert(can_push<std::string>::value && can_push<std::string_view>::value);
static_assert(
    can_set_terminator<char const (&)[2]>::value && can_set_terminator<char const*>::value
);
static_assert(!can_set_terminator<char>::value, "a char is not a terminator");
static_assert(asynchat::detail::array_bytes("a\0b") == 3 && asynchat::detail::array_bytes("") == 0);
// The Stream requirements basic_async_chat checks with readable messages.
static_assert(asynchat::detail::is_async_stream_v<asio::ip::tcp::socket> && asynchat::detail::has_endpoints_v<asio::ip::tcp::socket>);
static_assert(asynchat::detail::has_endpoints_v<asio::local::stream_protocol::socket>);
static_assert(!asynchat::detail::is_async_stream_v<int> && !asynchat::detail::has_executor_v<std::string>);
static_assert(
    !asynchat::detail::has_endpoints_v<asio::ip::tcp::acceptor>, "an acceptor is not a stream"
);

} // namespace

BOOST_AUTO_TEST_SUITE(literals)

BOOST_AUTO_TEST_CASE_TEMPLATE(a_nul_terminator_literal_keeps_its_byte, Loopback, transports)
{
    // Setup: JSON over asynchat, one document per NUL (CPython: set_terminator(b"\0")).
    channel_pair<Loopback, recording_chat> p;
    p.channel->set_terminator("\0");
    p.channel->start();

    // Event
    asio::write(p.peer, asio::buffer(std::string("{\"a\":1}\0{\"b\":2}\0{\"c\"", 19)));

    // Check: CPython's frames; the third document waits for its terminator.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->messages.size() == 2; }));
    BOOST_TEST(
        p.channel->messages == (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST(std::get<std::string>(p.channel->get_terminator()) == std::string(1, '\0'));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_terminator_with_embedded_nuls_is_whole, Loopback, transports)
{
    // Setup: PodSixNet's terminator, five bytes with two NULs.
    channel_pair<Loopback, recording_chat> p;
    p.channel->set_terminator("\0---\0");
    p.channel->start();
    std::string const term("\0---\0", 5);

    // Event: two messages, the second terminator split across two sends.
    asio::write(p.peer, asio::buffer("one" + term + std::string("two\0-", 5)));
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->messages.size() == 1; }));
    asio::write(p.peer, asio::buffer(std::string("--\0", 3)));

    // Check
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->messages.size() == 2; }));
    BOOST_TEST(
        p.channel->messages == (std::vector<std::string>{"one", "two"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pushed_literals_keep_their_nuls, Loopback, transports)
{
    // Setup
    channel_pair<Loopback, recording_chat> p;
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();
    p.channel->start();
    char const* const c_string = "c\0ignored";
    char buffer[] = "e";

    // Event: every way the API takes bytes.
    p.channel->push("a\0b");
    p.channel->push_with_producer("\0\0");
    p.channel->push_with_producer(std::make_unique<asynchat::simple_producer>("x\0y", 1));
    p.channel->push(c_string); // a C string ends at its first NUL
    p.channel->push(buffer);
    p.channel->close_when_done();

    // Check: the exact bytes, then EOF.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(reader.received == std::string("a\0b\0\0x\0yce", 10));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_filled_char_buffer_is_a_c_string, Loopback, transports)
{
    // Setup: replies built the C way, in writable buffers bigger than what they hold (found by
    // a user: the whole 64-byte buffer went out, NULs and all).
    channel_pair<Loopback, recording_chat> p;
    peer_reader<typename Loopback::socket> reader(p.peer);
    reader.start();
    char line[64];
    std::snprintf(line, sizeof line, "250 OK %d\r\n", 42);
    char term[8] = "\r\n";
    p.channel->set_terminator(term);
    p.channel->start();

    // Event: the buffer through every entry point that takes bytes.
    p.channel->push(line);
    p.channel->push_with_producer(line);
    p.channel->push_with_producer(std::make_unique<asynchat::simple_producer>(line));
    p.channel->close_when_done();

    // Check: the string each time, no NUL; the terminator is the two bytes.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return reader.eof; }));
    BOOST_TEST(reader.received == "250 OK 42\r\n250 OK 42\r\n250 OK 42\r\n");
    BOOST_TEST(std::get<std::string>(p.channel->get_terminator()) == "\r\n");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(nullptr_is_the_none_terminator, Loopback, transports)
{
    // Setup: Python's set_terminator(None), written set_terminator(nullptr).
    channel_pair<Loopback, recording_chat> p;
    p.channel->set_terminator("\n");
    p.channel->set_terminator(nullptr);
    BOOST_TEST(std::holds_alternative<std::monostate>(p.channel->get_terminator()));
    p.channel->start();

    // Event
    asio::write(p.peer, asio::buffer(std::string("no\nframes\n")));
    p.peer.shutdown(Loopback::socket::shutdown_send);

    // Check: everything collected, found_terminator() never called.
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.closed(); }));
    BOOST_TEST(p.channel->current == "no\nframes\n");
    BOOST_TEST(p.channel->messages.empty());
}

BOOST_AUTO_TEST_CASE(a_null_char_pointer_is_refused_with_a_message)
{
    asio::io_context io;
    auto c = std::make_shared<recording_chat<asio::ip::tcp::socket>>(io.get_executor());
    char const* none = nullptr;
    BOOST_CHECK_EXCEPTION(
        c->push(none),
        std::invalid_argument,
        [](auto const& e)
        { return std::string(e.what()).find("null char pointer") != std::string::npos; }
    );
    BOOST_CHECK_THROW(c->set_terminator(none), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(simple_producer_of_nothing_with_size_zero_is_exhausted)
{
    // CPython: simple_producer(b"", buffer_size=len(b"")) gives b"" at once.
    asynchat::simple_producer empty("", 0);
    BOOST_TEST(empty.more().empty());
    BOOST_CHECK_THROW(asynchat::simple_producer("abc", 0), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
