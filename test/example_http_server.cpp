// asynchat: drives example/http_server over loopback, and tests its request parsing
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "http_server/http_server.hpp"

#define BOOST_TEST_MODULE example_http_server
#include <asynchat/testing.hpp>

#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
namespace at = asynchat::testing;
using namespace asynchat::test;

namespace {

// Send `raw` to a fresh server in pieces of `piece` bytes, and return the whole answer, read
// until the server closes.
std::string exchange(std::string const& raw, std::size_t piece = 1 << 20)
{
    asio::io_context io;
    auto s = std::make_shared<http::server>(
        io, http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)
    );
    s->start();
    auto peer = at::scripted_peer<http::tcp::socket>::connect(io, s->local_endpoint());
    at::split cuts;
    for (std::size_t pos = piece; pos < raw.size(); pos += piece)
        cuts.push_back(pos);
    peer.send(raw, cuts);
    BOOST_TEST(run_until(io, [&] { return peer.ended() && asynchat::channel_count(io) == 1; }));
    s->close();
    io.poll();
    return peer.take();
}

// A request_handler on the channel's end of a pair, its hooks recorded.
auto const make_handler = [](http::tcp::socket s)
{ return std::make_shared<at::recorded<http::request_handler>>(std::move(s)); };

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

BOOST_AUTO_TEST_SUITE(split_points)

// The handler alone, on one end of a loopback pair, fed each request cut at every place (and
// at every pair of places), and compared with the request in one piece: the answer, the close,
// the hooks (the head, then the body, as found_terminator() got them).

BOOST_AUTO_TEST_CASE(a_get_is_answered_the_same_at_every_split)
{
    // Setup: a 35-byte GET; every single cut, every pair (561 runs), a byte a read, 50 random.
    std::string const get = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
    at::split_options options;
    options.policies = {
        at::split_policy::every_boundary(),
        at::split_policy::every_pair(64),
        at::split_policy::one_byte_at_a_time(),
        at::split_policy::seeded_random(15, 50)};

    // Event
    auto const report = at::check_splits<at::tcp_v4>(make_handler, get, options);

    // Check: the same everywhere, and right: 200, the body, closed after the answer.
    BOOST_TEST(report.same(), report.message());
    std::size_t const n = get.size();
    BOOST_TEST(report.runs == 1 + (n - 1) + (n - 1) * (n - 2) / 2 + 1 + 50);
    BOOST_TEST(report.unsplit.received.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u);
    BOOST_TEST(body_of(report.unsplit.received) == "hello from asynchat\n");
    BOOST_TEST(report.unsplit.closed);
    BOOST_TEST(
        report.unsplit.hooks ==
            (std::vector<std::string>{
                "found_terminator \"GET / HTTP/1.0\\r\\nHost: localhost\"", "handle_close"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(a_post_with_a_body_is_answered_the_same_at_every_split)
{
    // Setup: a 54-byte POST whose 11-byte body comes after the head's "\r\n\r\n": every
    // single cut, every pair (1,378 runs), a byte a read, 50 random.
    std::string const post = "POST /form HTTP/1.0\r\nContent-Length: 11\r\n\r\nhello world";
    at::split_options options;
    options.policies = {
        at::split_policy::every_boundary(),
        at::split_policy::every_pair(64),
        at::split_policy::one_byte_at_a_time(),
        at::split_policy::seeded_random(16, 50)};

    // Event
    auto const report = at::check_splits<at::tcp_v4>(make_handler, post, options);

    // Check: the numeric terminator took exactly the body, whatever the reads.
    BOOST_TEST(report.same(), report.message());
    std::size_t const n = post.size();
    BOOST_TEST(report.runs == 1 + (n - 1) + (n - 1) * (n - 2) / 2 + 1 + 50);
    BOOST_TEST(body_of(report.unsplit.received) == "received 11 bytes: hello world\n");
    BOOST_TEST(report.unsplit.closed);
    BOOST_TEST(
        report.unsplit.hooks ==
            (std::vector<std::string>{
                "found_terminator \"POST /form HTTP/1.0\\r\\nContent-Length: 11\"",
                "found_terminator \"hello world\"",
                "handle_close"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(a_long_body_and_trailing_bytes_at_random_splits)
{
    // Setup: a 5,016-byte body followed by bytes the handler must ignore; a byte a read, and
    // 30 random splits of up to 64 cuts.
    std::string const body = "name=value&more=" + std::string(5000, 'z');
    std::string const post =
        "POST /form HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
        body + "GARBAGE AFTER THE BODY";
    at::split_options options;
    options.policies = {
        at::split_policy::one_byte_at_a_time(), at::split_policy::seeded_random(17, 30, 64)};

    // Event
    auto const report = at::check_splits<at::tcp_v4>(make_handler, post, options);

    // Check
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(
        body_of(report.unsplit.received) ==
        "received " + std::to_string(body.size()) + " bytes: " + body + "\n"
    );
}

BOOST_AUTO_TEST_CASE(a_bad_request_is_refused_the_same_at_every_split)
{
    auto const report = at::check_splits<at::tcp_v4>(make_handler, "NONSENSE\r\n\r\n");
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(body_of(report.unsplit.received) == "bad request: malformed request line\n");
    BOOST_TEST(report.unsplit.closed);
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
