// asynchat: what a port of a Python asynchat program writes, line for line, over real sockets
// SPDX-License-Identifier: BSL-1.0
#include <asynchat.hpp>

#define BOOST_TEST_MODULE porting
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asynchat::test;

namespace {

// smtpd's SMTPChannel.__init__: push a greeting (through its own push(), which appends CRLF),
// or refuse with close_when_done() when over capacity, all inside the constructor.
class smtp_channel : public asynchat::async_chat
{
public:
    smtp_channel(tcp::socket s, bool over_capacity) : asynchat::async_chat(std::move(s))
    {
        set_terminator("\r\n");
        if (over_capacity)
        {
            push("421 Too many connections");
            close_when_done();
            return;
        }
        push("220 host ready");
    }

    // smtpd.SMTPChannel.push(): encode and end the line. The using-declaration keeps every
    // other overload visible, and each of them ends here.
    using asynchat::async_chat::push;
    void push(std::string_view msg) override
    {
        asynchat::async_chat::push(std::string(msg) + "\r\n");
    }

    std::string line;

protected:
    void collect_incoming_data(std::string_view data) override { line += data; }
    void found_terminator() override
    {
        std::string const command = std::exchange(line, {});
        if (command == "QUIT")
        {
            push(std::string_view("221 Bye"));
            close_when_done();
        }
        else
            push(std::string("250 " + command)); // a std::string goes through push() too
    }
};

// A channel that closes in its constructor, as Medusa's check_maintenance() may.
class refusing_channel : public asynchat::async_chat
{
public:
    explicit refusing_channel(tcp::socket s) : asynchat::async_chat(std::move(s)) { close(); }

protected:
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
};

} // namespace

BOOST_AUTO_TEST_SUITE(constructor)

BOOST_AUTO_TEST_CASE(a_greeting_pushed_in_the_constructor_goes_out_first)
{
    // Setup
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<smtp_channel>(std::move(server), false);

    // Event: the client pipelines two commands before the server starts.
    asio::write(client, asio::buffer(std::string("HELO x\r\nQUIT\r\n")));
    chat->start();
    std::string received;
    std::thread reader([&] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    reader.join();
    client.shutdown(tcp::socket::shutdown_send);
    BOOST_TEST(run_to_completion(io)); // the lingering close ends on the client's EOF

    // Check: greeting first, each line through the overridden push().
    BOOST_TEST(received == "220 host ready\r\n250 HELO x\r\n221 Bye\r\n");
}

BOOST_AUTO_TEST_CASE(close_when_done_in_the_constructor_sends_the_refusal_then_eof)
{
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<smtp_channel>(std::move(server), true);
    chat->start();
    std::string received;
    std::thread reader([&] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    client.shutdown(tcp::socket::shutdown_send);
    BOOST_TEST(run_to_completion(io));
    reader.join();
    BOOST_TEST(received == "421 Too many connections\r\n");
}

BOOST_AUTO_TEST_CASE(close_in_the_constructor_closes_and_start_does_not_reopen)
{
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<refusing_channel>(std::move(server));
    BOOST_TEST(!chat->connected());
    chat->start();
    std::string received = "not read";
    std::thread reader([&] { received = read_to_eof(client); });
    client.shutdown(tcp::socket::shutdown_send);
    BOOST_TEST(run_to_completion(io));
    reader.join();
    BOOST_TEST(asynchat::channel_count(io) == 0u);
    BOOST_TEST(received.empty()); // a clean EOF, no reset
}

BOOST_AUTO_TEST_CASE(a_channel_never_started_says_so_in_debug_builds)
{
#ifdef NDEBUG
    BOOST_TEST_MESSAGE("release build: the warning is compiled out");
#else
    // Setup: stderr into a file for the duration.
    std::string const path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                             "/asynchat-porting-" + std::to_string(::getpid());
    std::fflush(stderr);
    int const saved = ::dup(2);
    std::FILE* file = std::fopen(path.c_str(), "w");
    BOOST_TEST_REQUIRE(file);
    ::dup2(::fileno(file), 2);
    {
        // Event: a channel with a greeting queued, destroyed without start().
        asio::io_context io;
        auto [client, server] = loopback_tcp::pair(io);
        auto chat = std::make_shared<smtp_channel>(std::move(server), false);
    }
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(file);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::remove(path.c_str());

    // Check: one line that says what happened.
    BOOST_TEST(
        text.str().find("destroyed without start(): 16 queued bytes were never sent") !=
            std::string::npos,
        text.str()
    );
#endif
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(inherited_names)

BOOST_AUTO_TEST_CASE(addr_is_the_peer_and_shared_from_is_typed)
{
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<smtp_channel>(std::move(server), false);
    BOOST_TEST(chat->addr() == client.local_endpoint());
    std::shared_ptr<smtp_channel> same = asynchat::shared_from(chat.get());
    BOOST_TEST(same == chat);
    BOOST_TEST(same.use_count() == 2);
    chat->close();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !chat->connected(); }));
    BOOST_TEST(chat->addr() == tcp::endpoint());
    client.close();
    BOOST_TEST(run_to_completion(io));
}

BOOST_AUTO_TEST_CASE(byte_counters_and_last_io_time_follow_the_traffic)
{
    // Setup
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<smtp_channel>(std::move(server), false);
    auto const born = chat->last_io_time();
    chat->start();

    // Event: one command and its answer, then the greeting's and the answer's bytes are out.
    asio::write(client, asio::buffer(std::string("NOOP\r\n")));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return chat->bytes_sent() == 16u + 10u; }));

    // Check
    BOOST_TEST(chat->bytes_received() == 6u);
    BOOST_TEST((chat->last_io_time() > born));
    std::string answer(26, '\0');
    asio::read(client, asio::buffer(answer));
    BOOST_TEST(answer == "220 host ready\r\n250 NOOP\r\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(producers)

BOOST_AUTO_TEST_CASE(composite_producer_takes_unique_ptrs)
{
    // Medusa: composite_producer([header, body]).
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<smtp_channel>(std::move(server), false);
    auto header = std::make_unique<asynchat::simple_producer>("HTTP/1.0 200 OK\r\n\r\n", 4);
    auto body = std::make_unique<asynchat::simple_producer>("body", 1);
    chat->push_with_producer(
        std::make_unique<asynchat::composite_producer>(std::move(header), std::move(body))
    );
    std::vector<std::unique_ptr<asynchat::producer>> list;
    list.push_back(std::make_unique<asynchat::simple_producer>("", 0));
    list.push_back(std::make_unique<asynchat::simple_producer>("!"));
    chat->push_with_producer(std::make_unique<asynchat::composite_producer>(std::move(list)));
    chat->close_when_done();
    chat->start();
    std::string received;
    std::thread reader([&] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    client.shutdown(tcp::socket::shutdown_send);
    BOOST_TEST(run_to_completion(io));
    reader.join();
    BOOST_TEST(received == "220 host ready\r\nHTTP/1.0 200 OK\r\n\r\nbody!");
    BOOST_CHECK_THROW(
        asynchat::composite_producer(std::unique_ptr<asynchat::producer>()), std::invalid_argument
    );
}

BOOST_AUTO_TEST_SUITE_END()
