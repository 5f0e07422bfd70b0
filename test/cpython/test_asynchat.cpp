// asynchat: a port of CPython 3.11's Lib/test/test_asynchat.py, over TCP and Unix sockets
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE cpython_test_asynchat
#include <asynchat/find_prefix_at_end.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

namespace {

std::string const SERVER_QUIT = "QUIT\n";

/** CPython's echo_server thread: collects bytes one at a time until "QUIT\n", then sends them
    all back `chunk_size` bytes per send and closes.

    It runs its own io_context on its own thread, bounded by a deadline. CPython sleeps 1 ms
    between sends so that the client sees small reads; the client below instead reads with
    ac_in_buffer_size = chunk_size, which makes the small reads certain rather than likely.
*/
template <class Loopback>
class echo_server
{
public:
    explicit echo_server(std::size_t chunk = 1) : chunk_size(chunk), listener_(io_) {}

    ~echo_server()
    {
        if (thread_.joinable())
            thread_.join();
    }

    typename Loopback::protocol::endpoint endpoint() const { return listener_.endpoint(); }

    void start()
    {
        thread_ = std::thread([this] { run(); });
    }

    /// Make the server wait for allow_resend() before echoing (CPython's start_resend_event).
    void hold_resend() { resend_gate_.emplace(); }
    void allow_resend() { resend_gate_->set_value(); }

    /// Wait for the thread; returns the bytes collected (QUIT removed).
    std::string join()
    {
        thread_.join();
        return buffer;
    }

    std::size_t chunk_size;
    std::string buffer;

private:
    void run()
    {
        auto const deadline = std::chrono::steady_clock::now() + 10s;
        typename Loopback::socket conn(io_);
        boost::system::error_code ec;
        listener_.acceptor.async_accept(conn, [&](boost::system::error_code e) { ec = e; });
        io_.run_until(deadline);
        if (ec || !conn.is_open())
            return;

        // Collect data until the quit message is seen, one byte per read as CPython does.
        bool done = false;
        char byte;
        std::function<void()> read_one = [&]
        {
            conn.async_read_some(
                asio::buffer(&byte, 1),
                [&](boost::system::error_code e, std::size_t)
                {
                    if (e)
                    {
                        done = true;
                        return;
                    }
                    buffer += byte;
                    if (buffer.find(SERVER_QUIT) != std::string::npos)
                        done = true;
                    else
                        read_one();
                }
            );
        };
        read_one();
        io_.restart();
        while (!done && io_.run_one_until(deadline))
        {
        }
        for (auto pos = buffer.find(SERVER_QUIT); pos != std::string::npos;
             pos = buffer.find(SERVER_QUIT))
            buffer.erase(pos, SERVER_QUIT.size());

        if (resend_gate_)
            resend_gate_->get_future().wait_until(deadline);

        // Re-send the collected data; this may fail (test_close_when_done closes first).
        for (std::size_t pos = 0; pos < buffer.size(); pos += chunk_size)
        {
            asio::write(
                conn,
                asio::buffer(buffer.data() + pos, std::min(chunk_size, buffer.size() - pos)),
                ec
            );
            if (ec)
                break;
        }
        conn.close(ec);
    }

    asio::io_context io_;
    typename Loopback::listener listener_;
    std::optional<std::promise<void>> resend_gate_;
    std::thread thread_;
};

// CPython's echo_client: collects lines into `contents`.
template <class Loopback>
class echo_client : public asynchat::basic_async_chat<typename Loopback::socket>
{
public:
    using base = asynchat::basic_async_chat<typename Loopback::socket>;

    template <class Term>
    echo_client(asio::io_context& io, Term term) : base(io.get_executor())
    {
        this->set_terminator(term);
    }

    std::vector<std::string> contents;
    std::string buffer;
    bool closed = false;

protected:
    void collect_incoming_data(std::string_view data) override { buffer += data; }
    void found_terminator() override
    {
        contents.push_back(buffer);
        buffer.clear();
    }
    void handle_close() override
    {
        closed = true;
        base::handle_close();
    }
};

template <class Loopback, class Term>
std::shared_ptr<echo_client<Loopback>>
connect_client(asio::io_context& io, echo_server<Loopback>& s, Term term)
{
    auto c = std::make_shared<echo_client<Loopback>>(io, term);
    c->ac_in_buffer_size = s.chunk_size;
    c->connect(s.endpoint());
    return c;
}

// asyncore.loop() until the client is closed, then join the server thread.
template <class Loopback>
std::string finish(asio::io_context& io, echo_client<Loopback>& c, echo_server<Loopback>& s)
{
    BOOST_TEST(run_until(io, [&] { return c.closed; }), "the client was not closed in time");
    return s.join();
}

template <class Loopback>
void line_terminator_check(std::string const& term, std::size_t server_chunk)
{
    BOOST_TEST_CONTEXT("terminator of " << term.size() << " bytes, chunk " << server_chunk)
    {
        asio::io_context io;
        echo_server<Loopback> s(server_chunk);
        s.start();
        auto c = connect_client(io, s, std::string_view(term));
        c->push("hello ");
        c->push("world" + term);
        c->push("I'm not dead yet!" + term);
        c->push(SERVER_QUIT);
        finish(io, *c, s);
        BOOST_TEST(
            c->contents == (std::vector<std::string>{"hello world", "I'm not dead yet!"}),
            boost::test_tools::per_element()
        );
    }
}

template <class Loopback>
void numeric_terminator_check(int termlen)
{
    asio::io_context io;
    echo_server<Loopback> s;
    s.start();
    auto c = connect_client(io, s, termlen);
    std::string const data = "hello world, I'm not dead yet!\n";
    c->push(data);
    c->push(SERVER_QUIT);
    finish(io, *c, s);
    BOOST_TEST(
        c->contents == (std::vector<std::string>{data.substr(0, termlen)}),
        boost::test_tools::per_element()
    );
}

} // namespace

BOOST_AUTO_TEST_SUITE(TestAsynchat)

BOOST_AUTO_TEST_CASE_TEMPLATE(test_line_terminator1, Loopback, transports)
{
    // test one-character terminator
    for (std::size_t l : {1, 2, 3})
        line_terminator_check<Loopback>("\n", l);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_line_terminator2, Loopback, transports)
{
    // test two-character terminator
    for (std::size_t l : {1, 2, 3})
        line_terminator_check<Loopback>("\r\n", l);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_line_terminator3, Loopback, transports)
{
    // test three-character terminator
    for (std::size_t l : {1, 2, 3})
        line_terminator_check<Loopback>("qqq", l);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_numeric_terminator1, Loopback, transports)
{
    numeric_terminator_check<Loopback>(1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_numeric_terminator2, Loopback, transports)
{
    numeric_terminator_check<Loopback>(6);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_none_terminator, Loopback, transports)
{
    asio::io_context io;
    echo_server<Loopback> s;
    s.start();
    auto c = connect_client(io, s, std::nullopt);
    std::string const data = "hello world, I'm not dead yet!\n";
    c->push(data);
    c->push(SERVER_QUIT);
    finish(io, *c, s);
    BOOST_TEST(c->contents.empty());
    BOOST_TEST(c->buffer == data);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_simple_producer, Loopback, transports)
{
    asio::io_context io;
    echo_server<Loopback> s;
    s.start();
    auto c = connect_client(io, s, "\n");
    std::string const data = "hello world\nI'm not dead yet!\n";
    c->push_with_producer(std::make_unique<asynchat::simple_producer>(data + SERVER_QUIT, 8));
    finish(io, *c, s);
    BOOST_TEST(
        c->contents == (std::vector<std::string>{"hello world", "I'm not dead yet!"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_string_producer, Loopback, transports)
{
    asio::io_context io;
    echo_server<Loopback> s;
    s.start();
    auto c = connect_client(io, s, "\n");
    std::string const data = "hello world\nI'm not dead yet!\n";
    c->push_with_producer(data + SERVER_QUIT);
    finish(io, *c, s);
    BOOST_TEST(
        c->contents == (std::vector<std::string>{"hello world", "I'm not dead yet!"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_empty_line, Loopback, transports)
{
    // checks that empty lines are handled correctly
    asio::io_context io;
    echo_server<Loopback> s;
    s.start();
    auto c = connect_client(io, s, "\n");
    c->push("hello world\n\nI'm not dead yet!\n");
    c->push(SERVER_QUIT);
    finish(io, *c, s);
    BOOST_TEST(
        c->contents == (std::vector<std::string>{"hello world", "", "I'm not dead yet!"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_close_when_done, Loopback, transports)
{
    // Setup: the server echoes only after the client has closed its connection.
    asio::io_context io;
    echo_server<Loopback> s;
    s.hold_resend();
    s.start();
    auto c = connect_client(io, s, "\n");

    // Event
    c->push("hello world\nI'm not dead yet!\n");
    c->push(SERVER_QUIT);
    c->close_when_done();
    BOOST_TEST(run_until(io, [&] { return c->closed; }));
    s.allow_resend();
    std::string const received = s.join();

    // Check: the client got nothing back, and the server did receive the data.
    BOOST_TEST(c->contents.empty());
    BOOST_TEST(received.size() > 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_push, Loopback, transports)
{
    // Issue #12523: CPython raises TypeError for non-bytes; in C++ only byte strings compile.
    asio::io_context io;
    echo_server<Loopback> s;
    s.start();
    auto c = connect_client(io, s, "\n");
    std::string const data = "bytes\n";
    c->push(data);                   // bytes
    c->push(std::string_view(data)); // memoryview
    c->push(data.c_str());           // a C string
    c->push(SERVER_QUIT);
    finish(io, *c, s);
    BOOST_TEST(
        c->contents == (std::vector<std::string>{"bytes", "bytes", "bytes"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(TestAsynchatMocked)

BOOST_AUTO_TEST_CASE_TEMPLATE(test_blockingioerror, Loopback, transports)
{
    // Issue #16133: a read that would block must not call handle_error(). CPython mocks recv()
    // to raise BlockingIOError; here the channel makes that read itself: two messages in one
    // read mark the peer as one that keeps sending, so the next read is tried at once, without
    // waiting for readability, and finds nothing (EAGAIN). The channel must then wait, report
    // nothing, and still read what comes next.
    struct quiet_chat : asynchat::basic_async_chat<typename Loopback::socket>
    {
        using asynchat::basic_async_chat<typename Loopback::socket>::basic_async_chat;
        int errors = 0;
        std::vector<std::string> messages;
        std::string current;
        void collect_incoming_data(std::string_view data) override { current += data; }
        void found_terminator() override { messages.push_back(std::exchange(current, {})); }
        void handle_error(std::exception_ptr) override { ++errors; }
    };
    asio::io_context io;
    auto [client, server] = Loopback::pair(io);
    auto chat = std::make_shared<quiet_chat>(std::move(server));
    chat->set_terminator("\n");
    chat->start();
    asio::write(client, asio::buffer(std::string("a\nb\n")));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return chat->messages.size() == 2; }));
    io.poll(); // runs the read tried at once, which finds nothing
    BOOST_TEST(chat->errors == 0);
    BOOST_TEST(chat->connected());
    asio::write(client, asio::buffer(std::string("c\n")));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return chat->messages.size() == 3; }));
    BOOST_TEST(chat->messages.back() == "c");
    BOOST_TEST(chat->errors == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(TestHelperFunctions)

BOOST_AUTO_TEST_CASE(test_find_prefix_at_end)
{
    BOOST_TEST(asynchat::find_prefix_at_end("qwerty\r", "\r\n") == 1u);
    BOOST_TEST(asynchat::find_prefix_at_end("qwertydkjf", "\r\n") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(TestNotConnected)

BOOST_AUTO_TEST_CASE(test_disallow_negative_terminator)
{
    // Issue #11259
    struct client_chat : asynchat::async_chat
    {
        using asynchat::async_chat::async_chat;
        void collect_incoming_data(std::string_view) override {}
        void found_terminator() override {}
    };
    asio::io_context io;
    auto client = std::make_shared<client_chat>(io.get_executor());
    BOOST_CHECK_THROW(client->set_terminator(-1), std::invalid_argument);
    BOOST_CHECK_THROW(client->set_terminator(-1L), std::invalid_argument);
    // Nothing was changed by the rejected calls.
    BOOST_TEST(std::holds_alternative<std::monostate>(client->get_terminator()));
}

BOOST_AUTO_TEST_SUITE_END()
