// asynchat: a tls_chat server against TLS clients nobody here wrote: `openssl s_client` and
// Python's ssl module, run as child processes when the machine has them (skipped otherwise)
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/tls.hpp>

#define BOOST_TEST_MODULE tls_clients
#include <asynchat/dispatcher.hpp>
#include <asynchat/loop.hpp>

#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/external_program.hpp"
#include "support/loopback.hpp"
#include "support/tls_certs.hpp"

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using namespace asynchat::test;
using namespace std::chrono_literals;

namespace {

// What the server's channels saw, in order, all channels together.
struct journal
{
    std::vector<std::string> lines;
    std::vector<std::string> events; // "read_eof", "close", "error: <what>"
    int closed = 0;                  // channels that reached handle_close() or handle_error()
};

// The server's channel: echoes each CRLF line; "bye" is echoed, then close_when_done().
class echo_channel : public asynchat::tls_chat
{
public:
    echo_channel(asynchat::tls_stream s, journal& j) : asynchat::tls_chat(std::move(s)), journal_(j)
    {
        set_terminator("\r\n");
    }

protected:
    void collect_incoming_data(std::string_view d) override { _collect_incoming_data(d); }
    void found_terminator() override
    {
        journal_.lines.push_back(_get_data());
        push(journal_.lines.back() + "\r\n");
        if (journal_.lines.back() == "bye")
            close_when_done();
    }
    void handle_read_eof() override
    {
        journal_.events.push_back("read_eof");
        asynchat::tls_chat::handle_read_eof();
    }
    void handle_close() override
    {
        journal_.events.push_back("close");
        ++journal_.closed;
        asynchat::tls_chat::handle_close();
    }
    void handle_error(std::exception_ptr e) override
    {
        try
        {
            std::rethrow_exception(e);
        }
        catch (std::exception const& x)
        {
            journal_.events.push_back(std::string("error: ") + x.what());
        }
        ++journal_.closed;
        close();
    }

private:
    journal& journal_;
};

// The listener: each accepted socket becomes an echo_channel over TLS with the server's context.
class echo_server : public asynchat::dispatcher
{
public:
    echo_server(asio::io_context& io, ssl::context& ctx, journal& j)
        : dispatcher(asio::make_strand(io)), ctx_(ctx), journal_(j)
    {
        create_socket(tcp::v4());
        bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
        listen(16);
    }

    std::string port() const { return std::to_string(local_endpoint().port()); }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        std::make_shared<echo_channel>(asynchat::tls_stream(std::move(sock), ctx_), journal_)
            ->start();
    }

private:
    ssl::context& ctx_;
    journal& journal_;
};

// A started server on 127.0.0.1 with the run's certificates, and the CA's file for the clients.
struct server_fixture
{
    ssl::context ctx = server_context(shared_tls_certs());
    tls_cert_files files{shared_tls_certs()};
    asio::io_context io;
    journal seen;
    std::shared_ptr<echo_server> server = std::make_shared<echo_server>(io, ctx, seen);

    server_fixture() { server->start(); }
    ~server_fixture()
    {
        asynchat::close_all(io);
        run_until(
            io, [&] { return asynchat::channel_count(io) == 0; }, 5s
        );
    }
};

std::string joined(std::vector<std::string> const& v)
{
    std::string out;
    for (auto const& e : v)
        out += (out.empty() ? "" : " | ") + e;
    return out;
}

// Python's ssl module as a client: verifies the server against the CA as "localhost", sends
// two lines, reads their echo, then unwrap(): sends its close_notify and waits for the
// server's. Prints what it saw, one line per step.
constexpr char const* python_client = R"(
import socket, ssl, sys
cafile, port, version = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
raw = socket.create_connection(('127.0.0.1', port), timeout=20)
tls = ctx.wrap_socket(raw, server_hostname='localhost')
print('version', tls.version(), flush=True)
tls.sendall(b'one\r\ntwo\r\n')
got = b''
while got.count(b'\r\n') < 2:
    chunk = tls.recv(4096)
    if not chunk:
        break
    got += chunk
print('echo', got.decode('ascii').replace('\r\n', '|'), flush=True)
plain = tls.unwrap()
print('unwrapped', flush=True)
print('then', plain.recv(16), flush=True)
plain.close()
)";

} // namespace

BOOST_AUTO_TEST_SUITE(openssl_s_client)

BOOST_AUTO_TEST_CASE(verifies_the_server_and_gets_each_line_echoed_then_a_clean_close)
{
    if (!program_available("openssl"))
    {
        BOOST_TEST_MESSAGE("openssl not found: skipped");
        return;
    }
    // Setup: s_client trusts the run's CA only and stops if verification fails.
    server_fixture f;
    external_program client(
        f.io,
        {"openssl",
         "s_client",
         "-connect",
         "127.0.0.1:" + f.server->port(),
         "-CAfile",
         f.files.ca_file().string(),
         "-verify_return_error",
         "-verify_hostname",
         "localhost",
         "-quiet"}
    );

    // Event: two lines in one write (s_client sends what it reads from its stdin as it is).
    BOOST_TEST_REQUIRE(client.send("hello\r\nsecond line\r\n"));

    // Check: both come back.
    BOOST_TEST_REQUIRE(client.wait_for("hello\r\nsecond line\r\n"), client.output());

    // Event: "bye": the channel echoes it and closes with a close_notify.
    BOOST_TEST_REQUIRE(client.send("bye\r\n"));

    // Check: s_client reads the echo and the end of the stream, and exits successfully (with
    // -quiet it ignores the end of its stdin: only the server's close ends it).
    BOOST_TEST(client.wait_exit().value_or(-1) == 0, client.output());
    BOOST_TEST(client.output().find("verify return:1") != std::string::npos, client.output());
    BOOST_TEST(client.output().find("bye\r\n") != std::string::npos);
    BOOST_TEST(run_until(f.io, [&] { return f.seen.closed == 1; }));
    BOOST_TEST(
        f.seen.lines == (std::vector<std::string>{"hello", "second line", "bye"}),
        joined(f.seen.lines)
    );
    BOOST_TEST(f.seen.events == (std::vector<std::string>{"close"}), joined(f.seen.events));
}

BOOST_AUTO_TEST_CASE(trusting_another_ca_fails_verification_and_the_channel_reports_the_alert)
{
    if (!program_available("openssl"))
    {
        BOOST_TEST_MESSAGE("openssl not found: skipped");
        return;
    }
    // Setup: s_client trusts a CA that did not sign the server's certificate.
    server_fixture f;
    external_program client(
        f.io,
        {"openssl",
         "s_client",
         "-connect",
         "127.0.0.1:" + f.server->port(),
         "-CAfile",
         f.files.wrong_ca_file().string(),
         "-verify_return_error",
         "-quiet"}
    );

    // Check: s_client gives up with a verification error, and the channel's handshake fails
    // with the alert s_client sent (OpenSSL's reason in the message), nothing delivered.
    auto const status = client.wait_exit();
    BOOST_TEST_REQUIRE(status.has_value(), client.output());
    BOOST_TEST(*status != 0);
    BOOST_TEST(client.output().find("verify error") != std::string::npos, client.output());
    BOOST_TEST_REQUIRE(run_until(f.io, [&] { return f.seen.closed == 1; }));
    BOOST_TEST(f.seen.lines.empty());
    BOOST_TEST_REQUIRE(f.seen.events.size() == 1u);
    BOOST_TEST(f.seen.events[0].find("unknown ca") != std::string::npos, f.seen.events[0]);
    BOOST_TEST(asynchat::channel_count(f.io) == 1u); // the listener only
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(python_ssl)

BOOST_AUTO_TEST_CASE(verifies_gets_the_echo_and_unwrap_exchanges_close_notify)
{
    if (!program_available("python3"))
    {
        BOOST_TEST_MESSAGE("python3 not found: skipped");
        return;
    }
    for (std::string const version : {"TLSv1_2", "TLSv1_3"})
    {
        BOOST_TEST_CONTEXT(version)
        {
            // Setup
            server_fixture f;
            external_program client(
                f.io,
                {"python3",
                 "-c",
                 python_client,
                 f.files.ca_file().string(),
                 f.server->port(),
                 version}
            );

            // Event: the whole script runs; the server runs meanwhile.
            auto const status = client.wait_exit();

            // Check: verified, echoed; unwrap() returned, so the channel answered Python's
            // close_notify with its own; then the TCP connection ended (recv gave b'').
            BOOST_TEST(status.value_or(-1) == 0, client.output());
            std::string const expected_version =
                version == "TLSv1_2" ? "version TLSv1.2\n" : "version TLSv1.3\n";
            std::string const expected = expected_version + "echo one|two|\nunwrapped\nthen b''\n";
            BOOST_TEST(client.output() == expected);
            BOOST_TEST(run_until(f.io, [&] { return f.seen.closed == 1; }));
            BOOST_TEST(f.seen.lines == (std::vector<std::string>{"one", "two"}));
            // The peer's close_notify is the channel's read EOF, then a plain close.
            BOOST_TEST(
                f.seen.events == (std::vector<std::string>{"read_eof", "close"}),
                joined(f.seen.events)
            );
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
