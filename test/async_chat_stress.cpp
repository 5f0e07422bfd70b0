// asynchat: stress and fault tests of async_chat: churn, load, integrity, hostile peers
// SPDX-License-Identifier: BSL-1.0
//
// ASYNCHAT_STRESS_SCALE (a number, default 1) divides the sizes of the long tests, for the
// sanitizer builds in .ci/run; the plain build runs them at full size.

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE async_chat_stress
#include <asynchat/dispatcher.hpp>
#include <asynchat/loop.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support/echo_listener.hpp"
#include "support/loopback.hpp"
#include "support/send_only_chat.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using tcp = asio::ip::tcp;

namespace {

std::size_t scaled(std::size_t full)
{
    char const* env = std::getenv("ASYNCHAT_STRESS_SCALE");
    std::size_t const scale = env ? std::max<std::size_t>(1, std::strtoul(env, nullptr, 10)) : 1;
    return std::max<std::size_t>(1, full / scale);
}

std::size_t open_fds()
{
    std::size_t n = 0;
    for (auto const& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    {
        (void)entry;
        ++n;
    }
    return n;
}

std::size_t resident_bytes()
{
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// A 64-bit FNV-1a running checksum.
struct checksum
{
    std::uint64_t value = 1469598103934665603ull;
    std::uint64_t bytes = 0;
    void add(std::string_view data)
    {
        for (unsigned char c : data)
            value = (value ^ c) * 1099511628211ull;
        bytes += data.size();
    }
};

// Deterministic pseudo-random bytes (xorshift), cheap enough to make a gigabyte.
struct byte_source
{
    std::uint64_t state = 88172645463325252ull;
    char next()
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return static_cast<char>(state);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(churn)

BOOST_AUTO_TEST_CASE(twenty_thousand_connections_leak_nothing)
{
    // Setup: an echo server, and a client that runs cycles one after another: connect, send a
    // line, read the answer, close.
    asio::io_context io;
    auto server = std::make_shared<echo_listener>(asio::make_strand(io), 4096);
    server->start();
    std::size_t const cycles = scaled(20000);
    std::size_t const warmup = std::min<std::size_t>(1000, cycles / 2);
    std::size_t done = 0;
    std::size_t answered = 0;
    std::size_t fds_before = 0;
    std::size_t rss_before = 0;
    std::string const expected_prefix = "ping ";

    struct cycle_state
    {
        explicit cycle_state(asio::io_context& io) : socket(io) {}
        tcp::socket socket;
        std::string line;
        std::string answer;
    };
    std::function<void()> run_cycle = [&]
    {
        if (done == warmup)
            rss_before = resident_bytes();
        if (done == cycles)
            return;
        auto c = std::make_shared<cycle_state>(io);
        c->line = "ping " + std::to_string(done) + "\n";
        c->socket.async_connect(
            server->local_endpoint(),
            [&, c](boost::system::error_code ec)
            {
                BOOST_TEST_REQUIRE(!ec);
                asio::async_write(
                    c->socket,
                    asio::buffer(c->line),
                    [&, c](boost::system::error_code ec, std::size_t)
                    {
                        BOOST_TEST_REQUIRE(!ec);
                        asio::async_read_until(
                            c->socket,
                            asio::dynamic_buffer(c->answer),
                            '\n',
                            [&, c](boost::system::error_code ec, std::size_t)
                            {
                                if (!ec && c->answer == c->line)
                                    ++answered;
                                c->socket.close();
                                ++done;
                                run_cycle();
                            }
                        );
                    }
                );
            }
        );
    };

    // Event
    fds_before = open_fds();
    run_cycle();
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return done == cycles; }, std::chrono::seconds(100)
    ));
    // Let the server side notice the last closes.
    BOOST_TEST(run_until(io, [&] { return asynchat::channel_count(io) == 1; }));

    // Check: every line answered; descriptors back to where they were; memory within noise.
    BOOST_TEST(answered == cycles);
    BOOST_TEST(open_fds() == fds_before);
    std::size_t const rss_after = resident_bytes();
    BOOST_TEST_MESSAGE(
        "RSS " << rss_before << " -> " << rss_after << " bytes over " << cycles - warmup
               << " cycles"
    );
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // The sanitizers' quarantine and shadow memory grow by design; LeakSanitizer checks leaks.
    BOOST_TEST_MESSAGE("RSS not compared under a sanitizer");
#else
    BOOST_TEST(rss_after <= rss_before + (8u << 20));
#endif
    server->close();
    io.poll();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(load)

BOOST_AUTO_TEST_CASE(a_thousand_pipelining_connections_on_two_threads)
{
    // Setup: the server on a 2-thread io_context; 1000 clients on another, each pipelining
    // 100 lines at once.
    asio::io_context server_io;
    auto server = std::make_shared<echo_listener>(asio::make_strand(server_io), 4096);
    server->start();
    auto work = asio::make_work_guard(server_io);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i)
        threads.emplace_back([&] { server_io.run(); });

    std::size_t const connections = scaled(1000);
    constexpr int lines = 100;
    asio::io_context client_io;
    struct client_state
    {
        explicit client_state(asio::io_context& io) : socket(io) {}
        tcp::socket socket;
        std::string request;
        std::string answer;
    };
    std::vector<std::shared_ptr<client_state>> clients;
    std::size_t finished = 0;
    for (std::size_t c = 0; c < connections; ++c)
    {
        auto s = std::make_shared<client_state>(client_io);
        for (int i = 0; i < lines; ++i)
            s->request += "conn " + std::to_string(c) + " line " + std::to_string(i) + "\n";
        clients.push_back(s);
        s->socket.async_connect(
            server->local_endpoint(),
            [&, s](boost::system::error_code ec)
            {
                BOOST_TEST_REQUIRE(!ec);
                asio::async_write(
                    s->socket,
                    asio::buffer(s->request),
                    [&, s](boost::system::error_code ec, std::size_t)
                    {
                        BOOST_TEST_REQUIRE(!ec);
                        s->socket.shutdown(tcp::socket::shutdown_send);
                    }
                );
                asio::async_read(
                    s->socket,
                    asio::dynamic_buffer(s->answer),
                    [&, s](boost::system::error_code, std::size_t) { ++finished; }
                );
            }
        );
    }

    // Event
    bool const all = run_until(
        client_io, [&] { return finished == connections; }, std::chrono::seconds(100)
    );

    // Check: every line answered exactly once, in order, on every connection.
    work.reset();
    server->close();
    for (auto& t : threads)
        t.join();
    BOOST_TEST_REQUIRE(all);
    for (auto const& s : clients)
        BOOST_TEST(s->answer == s->request);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(integrity)

namespace {

// Produces `total` pseudo-random bytes; as lines (no '\n' inside, lengths 0..200) if `lines`.
class stream_producer : public asynchat::producer
{
public:
    stream_producer(std::uint64_t total, bool lines, checksum& sum)
        : left_(total), lines_(lines), sum_(sum)
    {
    }

    std::string more() override
    {
        std::string out;
        std::size_t const n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, 65536));
        out.resize(n);
        for (std::size_t i = 0; i < n; ++i)
        {
            char c = src_.next();
            if (lines_)
            {
                // End a line every 0..200 bytes; never a '\n' otherwise.
                if (c == '\n')
                    c = 'n';
                if (--line_left_ < 0)
                {
                    c = '\n';
                    line_left_ = static_cast<unsigned char>(src_.next()) % 201;
                }
            }
            out[i] = c;
        }
        left_ -= n;
        sum_.add(out);
        return out;
    }

private:
    std::uint64_t left_;
    bool lines_;
    checksum& sum_;
    byte_source src_;
    int line_left_ = 10;
};

using terminator_reset = std::function<void(asynchat::async_chat&)>;

class receiver : public asynchat::async_chat
{
public:
    receiver(tcp::socket s, terminator_reset reset)
        : asynchat::async_chat(std::move(s)), reset_(std::move(reset))
    {
        reset_(*this);
    }

    checksum sum;
    std::uint64_t messages = 0;
    bool closed = false;

protected:
    void collect_incoming_data(std::string_view d) override { sum.add(d); }
    void found_terminator() override
    {
        ++messages;
        if (!lines())
            reset_(*this); // a numeric terminator counts down to 0: set the next block
        else
            sum.add("\n");
    }
    void handle_close() override
    {
        closed = true;
        close();
    }

private:
    bool lines() const { return std::holds_alternative<std::string>(get_terminator()); }
    terminator_reset reset_;
};

void transfer(bool lines)
{
    // Setup
    std::uint64_t const total = static_cast<std::uint64_t>(scaled(1024)) << 20;
    asio::io_context io;
    auto [a, b] = loopback_tcp::pair(io);
    checksum sent;
    auto out = std::make_shared<send_only_chat>(std::move(a));
    auto in = std::make_shared<receiver>(
        std::move(b),
        [lines](asynchat::async_chat& c)
        {
            if (lines)
                c.set_terminator("\n");
            else
                c.set_terminator(std::size_t(1000003)); // a prime: blocks straddle every read
        }
    );
    in->start();
    out->start();

    // Event: the sender pushes everything through a producer, then closes when done.
    out->push_with_producer(std::make_unique<stream_producer>(total, lines, sent));
    out->close_when_done();
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return in->closed; }, std::chrono::seconds(300)
    ));

    // Check: the same bytes, in the same order, on both ends.
    BOOST_TEST(sent.bytes == total);
    BOOST_TEST(in->sum.bytes == total);
    BOOST_TEST(in->sum.value == sent.value);
    if (!lines)
        BOOST_TEST(in->messages == total / 1000003);
    BOOST_TEST_MESSAGE(
        (lines ? "lines: " : "numeric: ") << in->messages << " messages, " << total << " bytes"
    );
}

} // namespace

BOOST_AUTO_TEST_CASE(a_gigabyte_through_a_numeric_terminator) { transfer(false); }

BOOST_AUTO_TEST_CASE(a_gigabyte_of_lines_through_a_string_terminator) { transfer(true); }

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hostile_peers)

namespace {

class recorder : public asynchat::async_chat
{
public:
    explicit recorder(tcp::socket s) : asynchat::async_chat(std::move(s)) { set_terminator("\n"); }
    std::string partial;
    int closes = 0;
    std::vector<std::string> errors;

protected:
    void collect_incoming_data(std::string_view d) override { partial.append(d); }
    void found_terminator() override { partial.clear(); }
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

} // namespace

BOOST_AUTO_TEST_CASE(peer_resets_while_a_large_push_is_written)
{
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto c = std::make_shared<recorder>(std::move(sock));
    c->start();
    c->push(std::string(32 << 20, 'r'));
    io.run_for(std::chrono::milliseconds(20));
    peer.set_option(asio::socket_base::linger(true, 0));
    peer.close();
    // A disconnect, not an error; nothing escapes run().
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !c->connected(); }));
    BOOST_TEST(c->closes == 1);
    BOOST_TEST(c->errors.empty());
}

BOOST_AUTO_TEST_CASE(peer_closes_mid_message)
{
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto c = std::make_shared<recorder>(std::move(sock));
    c->start();
    asio::write(peer, asio::buffer(std::string("complete\nhalf a mess")));
    peer.close();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !c->connected(); }));
    // What arrived of the unfinished message was delivered; then handle_close().
    BOOST_TEST(c->partial == "half a mess");
    BOOST_TEST(c->closes == 1);
}

BOOST_AUTO_TEST_CASE(close_and_push_from_another_thread_while_reading)
{
    // Setup: the peer streams lines; the channel echoes them.
    asio::io_context io;
    auto [peer, sock] = loopback_tcp::pair(io);
    auto c = std::make_shared<echo_chat>(std::move(sock));
    c->start();
    std::atomic<bool> stop{false};
    std::thread feeder(
        [&]
        {
            std::string const line(100, 'f');
            boost::system::error_code ec;
            while (!stop && !ec)
                asio::write(peer, asio::buffer(line + "\n"), ec);
        }
    );
    std::thread drainer(
        [&]
        {
            std::vector<char> buf(1 << 16);
            boost::system::error_code ec;
            while (!ec)
                peer.read_some(asio::buffer(buf), ec);
        }
    );

    // Event: another thread pushes, then closes, while the io_context runs here.
    std::thread other(
        [&]
        {
            for (int i = 0; i < 1000; ++i)
                c->push("from another thread\n");
            c->close();
        }
    );
    bool const closed = run_until(io, [&] { return !c->connected(); });
    other.join();
    stop = true;
    boost::system::error_code ignored;
    peer.shutdown(tcp::socket::shutdown_both, ignored);
    feeder.join();
    drainer.join();

    // Check
    BOOST_TEST(closed);
}

BOOST_AUTO_TEST_CASE(handle_connect_that_throws)
{
    struct client : recorder
    {
        explicit client(asio::io_context& io) : recorder(tcp::socket(io)) {}
        void handle_connect() override { throw std::runtime_error("handle_connect failed"); }
    };
    asio::io_context io;
    loopback_tcp::listener l(io);
    auto c = std::make_shared<client>(io);
    c->connect(l.endpoint());
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !c->errors.empty(); }));
    BOOST_TEST(c->errors.front() == "handle_connect failed");
}

BOOST_AUTO_TEST_SUITE_END()
