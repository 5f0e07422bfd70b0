// asynchat: drives example/http_server over TLS (HTTPS) on loopback: Asio's ssl::stream as the
// client, the program with --tls, and curl -k when the machine has curl
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "http_server/https_server.hpp"

#define BOOST_TEST_MODULE example_http_server_tls
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "support/external_program.hpp"
#include "support/loopback.hpp"
#include "support/tls_certs.hpp"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asynchat::test;
using namespace std::chrono_literals;

namespace {

// What a client read: everything up to the end of the stream, and how the stream ended.
struct answer
{
    std::string data;
    error_code end; // asio::error::eof after the server's close_notify
};

// Run `io` until `result` is set; fail the test at the deadline.
void wait(asio::io_context& io, std::optional<error_code> const& result)
{
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return result.has_value(); }, 10s
    ));
}

/** Connect to `server` over TLS with `ctx`, asking for "localhost" (SNI, and the name checked
    when `ctx` verifies), send `raw` in pieces of `piece` bytes, each its own write and so its own
    TLS record, and read until the server ends the stream.
*/
answer https_exchange(
    asio::io_context& io,
    tcp::endpoint const& server,
    ssl::context& ctx,
    std::string const& raw,
    std::size_t piece = 1 << 20
)
{
    ssl::stream<tcp::socket> client(io, ctx);
    BOOST_TEST_REQUIRE(SSL_set_tlsext_host_name(client.native_handle(), "localhost") == 1);
    client.set_verify_callback(ssl::host_name_verification("localhost"));
    std::optional<error_code> r;
    client.next_layer().async_connect(server, [&](error_code ec) { r = ec; });
    wait(io, r);
    BOOST_TEST_REQUIRE(!*r, r->message());
    r.reset();
    client.async_handshake(ssl::stream_base::client, [&](error_code ec) { r = ec; });
    wait(io, r);
    BOOST_TEST_REQUIRE(!*r, r->message());
    for (std::size_t pos = 0; pos < raw.size(); pos += piece)
    {
        r.reset();
        asio::async_write(
            client,
            asio::buffer(raw.data() + pos, std::min(piece, raw.size() - pos)),
            [&](error_code ec, std::size_t) { r = ec; }
        );
        wait(io, r);
        BOOST_TEST_REQUIRE(!*r, r->message());
    }
    answer a;
    char buf[16384];
    std::optional<error_code> end;
    std::function<void()> next = [&]
    {
        client.async_read_some(
            asio::buffer(buf),
            [&](error_code ec, std::size_t n)
            {
                a.data.append(buf, n);
                if (ec)
                    end = ec;
                else
                    next();
            }
        );
    };
    next();
    wait(io, end);
    a.end = *end;
    return a;
}

std::string head_of(std::string const& data) { return data.substr(0, data.find("\r\n\r\n")); }

std::string body_of(std::string const& data)
{
    auto const end = data.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : data.substr(end + 4);
}

// The HTTPS server of the example in this process, with the run's certificates; a client that
// verifies it.
struct https_fixture
{
    ssl::context server_ctx = server_context(shared_tls_certs());
    ssl::context client_ctx = client_context(shared_tls_certs(), true);
    asio::io_context io;
    std::shared_ptr<http::tls_server> server;

    explicit https_fixture(std::string root = {})
    {
        server = std::make_shared<http::tls_server>(
            io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), server_ctx, std::move(root)
        );
        server->start();
    }
    ~https_fixture()
    {
        asynchat::close_all(io);
        run_until(
            io, [&] { return asynchat::channel_count(io) == 0; }, 5s
        );
    }

    answer exchange(std::string const& raw, std::size_t piece = 1 << 20)
    {
        auto a = https_exchange(io, server->local_endpoint(), client_ctx, raw, piece);
        // The channel is gone once it has sent its answer and close_notify.
        BOOST_TEST(run_until(io, [&] { return asynchat::channel_count(io) == 1; }));
        return a;
    }
};

// The program, started with `args`, once it has printed its startup lines.
struct program
{
    std::unique_ptr<external_program> process;
    unsigned short port = 0;

    program(asio::io_context& io, std::vector<std::string> args)
    {
        args.insert(args.begin(), ASYNCHAT_HTTP_SERVER_PROGRAM);
        process = std::make_unique<external_program>(io, args);
        BOOST_TEST_REQUIRE(process->wait_for("Ctrl-C stops it.\n"), process->output());
        auto const& out = process->output();
        auto const at = out.find("listening on 127.0.0.1:");
        BOOST_TEST_REQUIRE(at == 0u, out);
        port = static_cast<unsigned short>(std::stoul(out.substr(23)));
    }

    tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), port}; }

    std::string url() const { return "https://127.0.0.1:" + std::to_string(port); }

    // SIGTERM: the program closes every channel and returns from main() with 0.
    void stop()
    {
        process->signal(SIGTERM);
        BOOST_TEST(process->wait_exit().value_or(-1) == 0, process->output());
    }
};

// The output of `args` run to its end with `io` running (a client of a server in this process
// or another); empty if it did not end in time.
std::string run_client(asio::io_context& io, std::vector<std::string> const& args)
{
    external_program client(io, args);
    auto const status = client.wait_exit(30s);
    BOOST_TEST(status.value_or(-1) == 0, client.output());
    return client.output();
}

} // namespace

BOOST_AUTO_TEST_SUITE(over_tls)

BOOST_AUTO_TEST_CASE(answers_get_and_post_then_ends_with_a_close_notify)
{
    https_fixture f;

    // GET
    auto const get = f.exchange("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    BOOST_TEST(get.data.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u);
    BOOST_TEST(body_of(get.data) == "hello from asynchat\n");
    BOOST_TEST(get.end == asio::error::eof, get.end.message()); // not stream_truncated

    // POST with a body
    std::string const body = "hello asynchat over TLS";
    auto const post = f.exchange(
        "POST /echo HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body
    );
    BOOST_TEST(body_of(post.data) == "received 23 bytes: " + body + "\n");
    BOOST_TEST(post.end == asio::error::eof, post.end.message());

    // And the errors, as over TCP.
    BOOST_TEST(f.exchange("GET /missing HTTP/1.0\r\n\r\n").data.rfind("HTTP/1.0 404", 0) == 0u);
    BOOST_TEST(
        body_of(f.exchange("NONSENSE\r\n\r\n").data) == "bad request: malformed request line\n"
    );
}

BOOST_AUTO_TEST_CASE(a_request_split_across_tls_records_is_answered_the_same)
{
    // Setup: a POST whose head and 5,016-byte body are cut into records of 1, 7 and 1,000
    // bytes, then sent whole; bytes after the body are ignored.
    https_fixture f;
    std::string const body = "name=value&more=" + std::string(5000, 'z');
    std::string const raw =
        "POST /form HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
        body + "GARBAGE AFTER THE BODY";
    for (std::size_t piece : {std::size_t(1), std::size_t(7), std::size_t(1000), raw.size()})
    {
        BOOST_TEST_CONTEXT("records of " << piece << " bytes")
        {
            // Event
            auto const a = f.exchange(raw, piece);

            // Check
            BOOST_TEST(
                body_of(a.data) ==
                "received " + std::to_string(body.size()) + " bytes: " + body + "\n"
            );
            BOOST_TEST(a.end == asio::error::eof, a.end.message());
        }
    }
}

BOOST_AUTO_TEST_CASE(serves_files_over_tls_reading_them_instead_of_sendfile)
{
    // Setup: a root with a 300 KiB file of random bytes.
    char const* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp ? tmp : "/tmp") + "/asynchat-https-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(dir.data()) != nullptr);
    std::string const path = dir + "/big.bin";
    std::string big(300 << 10, '\0');
    std::mt19937 random(11);
    for (char& c : big)
        c = static_cast<char>(random());
    std::ofstream(path, std::ios::binary) << big;
    https_fixture f(dir);

    // Event: HTTP/1.0 gets the bare file_producer, which TCP would send with sendfile(2).
    auto const a = f.exchange("GET /files/big.bin HTTP/1.0\r\n\r\n");
    std::remove(path.c_str());
    ::rmdir(dir.c_str());

    // Check: every byte, encrypted; then the close_notify.
    BOOST_TEST(
        head_of(a.data).find("Content-Length: " + std::to_string(big.size())) != std::string::npos
    );
    BOOST_TEST((body_of(a.data) == big));
    BOOST_TEST(a.end == asio::error::eof, a.end.message());
}

BOOST_AUTO_TEST_CASE(plaintext_http_to_the_tls_port_fails_only_its_own_connection)
{
    // Setup
    https_fixture f;
    tcp::socket plain(f.io);
    plain.connect(f.server->local_endpoint());

    // Event: an HTTP request where a ClientHello should be.
    asio::write(plain, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));

    // Check: no HTTP answer, the connection ends (the server may send an alert first); the next
    // TLS client is served.
    std::string got;
    std::optional<error_code> end;
    char buf[1024];
    std::function<void()> next = [&]
    {
        plain.async_read_some(
            asio::buffer(buf),
            [&](error_code ec, std::size_t n)
            {
                got.append(buf, n);
                if (ec)
                    end = ec;
                else
                    next();
            }
        );
    };
    next();
    wait(f.io, end);
    BOOST_TEST(got.find("HTTP/") == std::string::npos);
    BOOST_TEST(body_of(f.exchange("GET / HTTP/1.0\r\n\r\n").data) == "hello from asynchat\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(the_program)

BOOST_AUTO_TEST_CASE(with_tls_it_prints_the_curl_commands_and_serves_https)
{
    // Setup: the program with a certificate it makes up; clients cannot verify it.
    asio::io_context io;
    program server(io, {"--tls"});
    auto const& out = server.process->output();

    // Check: the commands it prints.
    BOOST_TEST(
        out.find("TLS with a certificate for localhost made at startup") != std::string::npos
    );
    BOOST_TEST(out.find("try:  curl -k " + server.url() + "/\n") != std::string::npos, out);
    BOOST_TEST(
        out.find("      curl -k -d 'hello asynchat' " + server.url() + "/echo\n") !=
            std::string::npos,
        out
    );

    // Event and check: Asio's client, without verification.
    ssl::context unverified = client_context(shared_tls_certs(), false);
    auto const a = https_exchange(io, server.endpoint(), unverified, "GET / HTTP/1.0\r\n\r\n");
    BOOST_TEST(body_of(a.data) == "hello from asynchat\n");
    BOOST_TEST(a.end == asio::error::eof, a.end.message());

    // The commands it printed, run as printed, when curl is here.
    if (program_available("curl"))
    {
        BOOST_TEST(
            run_client(io, {"curl", "-k", "-s", "--max-time", "20", server.url() + "/"}) ==
            "hello from asynchat\n"
        );
        BOOST_TEST(
            run_client(
                io,
                {"curl",
                 "-k",
                 "-s",
                 "--max-time",
                 "20",
                 "-d",
                 "hello asynchat",
                 server.url() + "/echo"}
            ) == "received 14 bytes: hello asynchat\n"
        );
    }
    else
        BOOST_TEST_MESSAGE("curl not found: the curl -k commands are skipped");
    server.stop();
}

BOOST_AUTO_TEST_CASE(loads_the_certificate_and_key_files_it_is_given)
{
    // Setup: the run's certificate and key as files, and a client trusting their CA only.
    tls_cert_files files(shared_tls_certs());
    asio::io_context io;
    program server(
        io, {"--tls", "--cert", files.cert_file().string(), "--key", files.key_file().string()}
    );
    BOOST_TEST(
        server.process->output().find("TLS with certificate " + files.cert_file().string()) !=
        std::string::npos
    );

    // Event and check: a verifying client is served.
    ssl::context verifying = client_context(shared_tls_certs(), true);
    auto const a = https_exchange(io, server.endpoint(), verifying, "GET / HTTP/1.0\r\n\r\n");
    BOOST_TEST(body_of(a.data) == "hello from asynchat\n");

    // curl verifies it too, against the CA, by the address the certificate names.
    if (program_available("curl"))
        BOOST_TEST(
            run_client(
                io,
                {"curl",
                 "-s",
                 "--max-time",
                 "20",
                 "--cacert",
                 files.ca_file().string(),
                 server.url() + "/"}
            ) == "hello from asynchat\n"
        );
    else
        BOOST_TEST_MESSAGE("curl not found: the verifying curl is skipped");
    server.stop();
}

BOOST_AUTO_TEST_CASE(refuses_certificate_options_it_cannot_use)
{
    // Setup
    tls_cert_files files(shared_tls_certs());
    std::string const cert = files.cert_file().string();
    std::string const key = files.key_file().string();
    struct bad_case
    {
        std::vector<std::string> args;
        std::string says;
    };
    std::vector<bad_case> const cases{
        {{"--tls", "--cert", cert}, "--cert and --key go together"},
        {{"--cert", cert, "--key", key}, "--cert and --key need --tls"},
        {{"--tls", "--cert", "/nonexistent.pem", "--key", key}, "--cert /nonexistent.pem: "},
        // The CA's certificate with the server's key: OpenSSL says they do not match.
        {{"--tls", "--cert", files.ca_file().string(), "--key", key}, "--key " + key + ": "},
        {{"--tls", "--port"}, "usage: asynchat_example_http_server"}};
    asio::io_context io;
    for (auto const& c : cases)
    {
        BOOST_TEST_CONTEXT(c.says)
        {
            // Event
            auto args = c.args;
            args.insert(args.begin(), ASYNCHAT_HTTP_SERVER_PROGRAM);
            external_program p(io, args);

            // Check: it says why and exits with 2, before listening.
            BOOST_TEST(p.wait_exit().value_or(-1) == 2);
            BOOST_TEST(p.output().find("http_server: " + c.says) == 0u, p.output());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
