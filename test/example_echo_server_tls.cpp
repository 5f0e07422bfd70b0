// asynchat: drives example/echo_server over TLS on loopback
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "echo_server/tls_echo_server.hpp"

#define BOOST_TEST_MODULE example_echo_server_tls
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <memory>
#include <openssl/x509v3.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support/child_process.hpp"
#include "support/loopback.hpp"
#include "support/tls_certs.hpp"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asynchat::test;

namespace {

// A TLS client: connects, shakes hands asking for "localhost" (and checking that name when its
// context verifies), sends `text` in two writes and reads as many bytes back.
struct tls_client
{
    tls_client(asio::io_context& io, ssl::context& ctx) : stream(io, ctx) {}

    void run(tcp::endpoint const& server, std::string const& text)
    {
        BOOST_TEST_REQUIRE(SSL_set_tlsext_host_name(stream.native_handle(), "localhost") == 1);
        stream.set_verify_callback(ssl::host_name_verification("localhost"));
        stream.next_layer().async_connect(
            server,
            [this, &text](error_code ec)
            {
                if (ec)
                    return finish(ec);
                stream.async_handshake(
                    ssl::stream_base::client,
                    [this, &text](error_code ec)
                    {
                        if (ec)
                            return finish(ec);
                        send(text);
                        received.resize(text.size());
                        asio::async_read(
                            stream,
                            asio::buffer(received),
                            [this](error_code ec, std::size_t) { finish(ec); }
                        );
                    }
                );
            }
        );
    }

    void send(std::string const& text)
    {
        // Split mid-line, so the server sees a partial line first.
        std::size_t const first = std::min<std::size_t>(7, text.size());
        asio::async_write(
            stream,
            asio::buffer(text.data(), first),
            [this, &text, first](error_code ec, std::size_t)
            {
                if (ec)
                    return finish(ec);
                asio::async_write(
                    stream,
                    asio::buffer(text.data() + first, text.size() - first),
                    [this](error_code ec, std::size_t)
                    {
                        if (ec)
                            finish(ec);
                    }
                );
            }
        );
    }

    void finish(error_code e)
    {
        if (!done)
            ec = e;
        done = true;
    }

    ssl::stream<tcp::socket> stream;
    std::string received;
    error_code ec;
    bool done = false;
};

// `n` clients of `server`, each sending `text`, all run on `io` until done (10 s at most).
std::vector<std::unique_ptr<tls_client>> run_clients(
    asio::io_context& io,
    ssl::context& ctx,
    tcp::endpoint const& server,
    std::string const& text,
    int n
)
{
    std::vector<std::unique_ptr<tls_client>> clients;
    for (int i = 0; i < n; ++i)
    {
        clients.push_back(std::make_unique<tls_client>(io, ctx));
        clients.back()->run(server, text);
    }
    BOOST_TEST_REQUIRE(run_until(
        io,
        [&]
        { return std::all_of(clients.begin(), clients.end(), [](auto& c) { return c->done; }); },
        10s
    ));
    return clients;
}

std::string some_lines(int n)
{
    std::string lines;
    for (int i = 0; i < n; ++i)
        lines += "line number " + std::to_string(i) + "\n";
    return lines;
}

} // namespace

BOOST_AUTO_TEST_CASE(echoes_every_line_to_every_verifying_client)
{
    for (int threads : {1, 2})
    {
        BOOST_TEST_CONTEXT(threads << " thread(s)")
        {
            // Setup
            auto server_ctx = server_context(shared_tls_certs());
            asio::io_context io;
            auto server = std::make_shared<echo::tls_server>(
                io,
                echo::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0),
                server_ctx,
                threads
            );
            server->start();
            auto work = asio::make_work_guard(io);
            std::vector<std::thread> pool;
            for (int i = 0; i < threads; ++i)
                pool.emplace_back([&] { io.run_for(30s); });

            // Event: ten clients that verify the certificate, each sending 1000 lines.
            std::string const lines = some_lines(1000);
            auto client_ctx = client_context(shared_tls_certs(), true);
            asio::io_context client_io;
            auto clients = run_clients(client_io, client_ctx, server->local_endpoint(), lines, 10);

            // Check: all of it back, on every connection.
            for (auto& c : clients)
            {
                BOOST_TEST(!c->ec, c->ec.message());
                BOOST_TEST(c->received == lines);
            }
            // The clients go; once the server stops accepting and every channel has closed,
            // run() returns.
            clients.clear();
            server->close();
            work.reset();
            for (auto& t : pool)
                t.join();
            BOOST_TEST(io.stopped());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_failed_handshake_closes_that_connection_only)
{
    // Setup: the server and the clients on one thread.
    auto const& certs = shared_tls_certs();
    auto server_ctx = server_context(certs);
    asio::io_context io;
    auto server = std::make_shared<echo::tls_server>(
        io, echo::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0), server_ctx
    );
    server->start();

    // Event: a client that trusts another CA rejects the server's certificate.
    auto wrong_ctx = client_context(certs.wrong_ca_pem, true);
    auto rejected = run_clients(io, wrong_ctx, server->local_endpoint(), "hello\n", 1);

    // Check: its handshake failed, the server closed that channel, and still serves others.
    BOOST_TEST(
        rejected.front()->ec.message().find("certificate verify failed") != std::string::npos
    );
    BOOST_TEST(run_until(
        io, [&] { return asynchat::channel_count(io) == 1; }, 5s
    ));
    auto client_ctx = client_context(certs, true);
    auto served = run_clients(io, client_ctx, server->local_endpoint(), "hello\n", 1);
    BOOST_TEST(!served.front()->ec, served.front()->ec.message());
    BOOST_TEST(served.front()->received == "hello\n");
}

BOOST_AUTO_TEST_CASE(program_with_tls_serves_localhost_with_its_own_certificate)
{
    for (char const* threads : {"1", "2"})
    {
        BOOST_TEST_CONTEXT("--threads " << threads)
        {
            // Setup: the example program, `--tls`: its certificate is its own, made at startup.
            child_process child(
                [threads]
                {
                    child_process::report_output();
                    ::execl(
                        ASYNCHAT_ECHO_SERVER_PROGRAM,
                        ASYNCHAT_ECHO_SERVER_PROGRAM,
                        "--tls",
                        "--threads",
                        threads,
                        static_cast<char*>(nullptr)
                    );
                    throw std::runtime_error("exec failed");
                }
            );
            std::string const line = child.read_line_with("listening on 127.0.0.1:");
            BOOST_TEST_REQUIRE(!line.empty());
            tcp::endpoint const server(
                asio::ip::make_address_v4("127.0.0.1"),
                static_cast<unsigned short>(std::stoul(line.substr(line.rfind(':') + 1)))
            );

            // Event: clients that cannot verify it (its CA is unknown here).
            auto client_ctx = client_context(shared_tls_certs(), false);
            asio::io_context io;
            std::string const lines = some_lines(100);
            auto clients = run_clients(io, client_ctx, server, lines, 4);

            // Check: every line back, from a certificate for localhost.
            for (auto& c : clients)
            {
                BOOST_TEST(!c->ec, c->ec.message());
                BOOST_TEST(c->received == lines);
                X509* const cert = SSL_get0_peer_certificate(c->stream.native_handle());
                BOOST_TEST_REQUIRE(cert != nullptr);
                BOOST_TEST(X509_check_host(cert, "localhost", 0, 0, nullptr) == 1);
            }
        }
    }
}
