// asynchat: drives example/http_server over loopback, and tests its request parsing
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "http_server/http_server.hpp"

#define BOOST_TEST_MODULE example_http_server
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

namespace {

// Send `raw` in pieces of `piece` bytes, half-close, and return the whole answer.
std::string exchange(std::string const& raw, std::size_t piece = 1 << 20)
{
    asio::io_context io;
    auto s = std::make_shared<http::server>(
        io, http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)
    );
    s->start();
    http::tcp::socket client(io);
    client.connect(s->local_endpoint());
    std::string answer;
    std::atomic<bool> done{false};
    std::thread peer(
        [&]
        {
            // The server may answer and close before the last bytes (trailing garbage) are sent.
            boost::system::error_code ec;
            for (std::size_t pos = 0; pos < raw.size() && !ec; pos += piece)
                asio::write(
                    client, asio::buffer(raw.data() + pos, std::min(piece, raw.size() - pos)), ec
                );
            answer = read_all(client);
            done = true;
        }
    );
    BOOST_TEST(run_until(io, [&] { return done && asynchat::channel_count(io) == 1; }));
    peer.join();
    s->close();
    io.poll();
    return answer;
}

std::string body_of(std::string const& answer)
{
    auto const end = answer.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : answer.substr(end + 4);
}

} // namespace

BOOST_AUTO_TEST_SUITE(parsing)

BOOST_AUTO_TEST_CASE(parses_the_request_line_and_headers)
{
    auto const r =
        http::parse_head("POST /x?y=1 HTTP/1.1\r\nHost: here\r\ncontent-length:  12 \r\nX-Empty:");
    BOOST_TEST(r.method == "POST");
    BOOST_TEST(r.target == "/x?y=1");
    BOOST_TEST(r.version == "HTTP/1.1");
    BOOST_TEST(*r.header("HOST") == "here");
    BOOST_TEST(*r.header("Content-Length") == "12");
    BOOST_TEST(r.header("x-empty")->empty());
    BOOST_TEST(!r.header("Missing"));
    BOOST_TEST(http::content_length(r) == 12u);
}

BOOST_AUTO_TEST_CASE(rejects_malformed_heads_with_a_reason)
{
    for (std::string const bad :
         {"",
          "GET",
          "GET /",
          "GET / HTTP/1.0 extra",
          "GET / FTP/1.0",
          " / HTTP/1.0",
          "GET / HTTP/1.0\r\nno colon",
          "GET / HTTP/1.0\r\n: no name"})
        BOOST_CHECK_THROW(http::parse_head(bad), std::invalid_argument);
    for (std::string const bad : {"-1", "abc", "", "99999999999", "2000000"})
        BOOST_CHECK_THROW(
            http::content_length(http::parse_head("POST / HTTP/1.0\r\nContent-Length: " + bad)),
            std::invalid_argument
        );
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(over_loopback)

BOOST_AUTO_TEST_CASE(answers_get)
{
    auto const answer = exchange("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    BOOST_TEST(answer.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u);
    BOOST_TEST(body_of(answer) == "hello from asynchat\n");
    BOOST_TEST(exchange("GET /missing HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 404", 0) == 0u);
    BOOST_TEST(exchange("DELETE / HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 405", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(answers_post_with_a_body_split_across_reads)
{
    // The numeric terminator takes exactly Content-Length bytes; what follows is ignored.
    std::string const body = "name=value&more=" + std::string(5000, 'z');
    std::string const raw =
        "POST /form HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
        body + "GARBAGE AFTER THE BODY";
    for (std::size_t piece : {std::size_t(1) << 20, std::size_t(7), std::size_t(1)})
    {
        auto const answer = exchange(raw, piece);
        BOOST_TEST(
            body_of(answer) == "received " + std::to_string(body.size()) + " bytes: " + body + "\n"
        );
    }
}

BOOST_AUTO_TEST_CASE(answers_post_without_a_body)
{
    auto const answer = exchange("POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    BOOST_TEST(body_of(answer) == "received 0 bytes: \n");
}

BOOST_AUTO_TEST_CASE(answers_bad_requests_with_400)
{
    auto const answer = exchange("NONSENSE\r\n\r\n");
    BOOST_TEST(answer.rfind("HTTP/1.0 400 Bad Request", 0) == 0u);
    BOOST_TEST(body_of(answer) == "bad request: malformed request line\n");
    BOOST_TEST(
        body_of(exchange("POST / HTTP/1.0\r\nContent-Length: lots\r\n\r\n")) ==
        "bad request: bad Content-Length\n"
    );
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(descriptor_exhaustion)

BOOST_AUTO_TEST_CASE(keeps_listening_through_descriptor_exhaustion)
{
    // Setup: the server in a child process with room for about 30 connections (as under
    // `prlimit --nofile=64`), run by asynchat::loop() as its main() runs it; what it prints
    // comes to us.
    child_process child(
        []
        {
            limit_descriptors(32);
            asio::io_context io;
            auto s = std::make_shared<http::server>(
                io, http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)
            );
            s->start();
            child_process::report_output();
            // One connection that lives through loop() passes, is answered and closed, so that
            // every path has run once before the descriptors run out (UBSan: see
            // exhaust_descriptors()).
            std::cout << "before the burst" << std::endl;
            // The pause is logged through channel_logger::log_info(): UBSan checks that call's
            // type once, opening a file, which it cannot do once descriptors run out.
            static_cast<asynchat::channel_logger&>(*s).log_info("warm-up", "warning");
            http::tcp::socket warm(io);
            warm.connect(s->local_endpoint());
            for (int pass = 0; pass < 500 && asynchat::channel_count(io) < 2; ++pass)
                asynchat::loop(io, 10ms, 1);
            asynchat::loop(io, 10ms, 2);
            asio::write(warm, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));
            for (int pass = 0; pass < 500 && asynchat::channel_count(io) > 1; ++pass)
                asynchat::loop(io, 10ms, 1);
            warm.close();
            child_process::report("port=" + std::to_string(s->local_endpoint().port()));
            asynchat::loop(io, 60s); // the parent kills it sooner
        }
    );
    std::string const port = child.read_line_with("port=");
    BOOST_TEST_REQUIRE(!port.empty());
    http::tcp::endpoint const server(
        asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoul(port.substr(5)))
    );
    std::string const get = "GET / HTTP/1.0\r\n\r\n";

    // Event: a burst of 100 connections (the listen backlog is 128), held open until the
    // server has run out of descriptors (it says so).
    asio::io_context client_io;
    std::vector<http::tcp::socket> burst;
    for (int i = 0; i < 100; ++i)
    {
        burst.emplace_back(client_io);
        boost::system::error_code ec;
        burst.back().connect(server, ec);
        BOOST_TEST_REQUIRE(!ec, "connect " << i << " of the burst: " << ec.message());
    }
    std::string const exhausted = child.read_line_with("Too many open files");
    BOOST_TEST_MESSAGE("the server said: " << exhausted);
    BOOST_TEST_REQUIRE(!exhausted.empty());
    burst.clear();

    // Check: the server is still listening, and answers once the burst has ended.
    std::string const answer = exchange_once(server, get);
    BOOST_TEST_MESSAGE("after the burst: " << answer.substr(0, answer.find('\r')));
    BOOST_TEST(body_of(answer) == "hello from asynchat\n", "answer: " << answer);
}

BOOST_AUTO_TEST_SUITE_END()
