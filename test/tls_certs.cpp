// asynchat: tests the throw-away TLS certificates of test/support with plain Asio TLS streams
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "support/tls_certs.hpp"

#define BOOST_TEST_MODULE tls_certs
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <memory>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <optional>
#include <string>

#include "common/self_signed.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asynchat::test;

namespace {

struct x509_free
{
    void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;

x509_ptr parse(std::string const& pem)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free
    );
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    BOOST_TEST_REQUIRE(static_cast<bool>(cert), "not a PEM certificate: " << pem);
    return cert;
}

// Whether `issuer`'s key signed `cert`.
bool signed_by(std::string const& cert, std::string const& issuer)
{
    auto const c = parse(cert);
    auto const i = parse(issuer);
    return X509_verify(c.get(), X509_get0_pubkey(i.get())) == 1;
}

// What each side of a TLS handshake over loopback got.
struct outcome
{
    std::optional<error_code> server;
    std::optional<error_code> client;
    long verify_result = X509_V_OK; ///< The client's SSL_get_verify_result().
};

// How the client checks the host name in the server's certificate.
enum class host_check
{
    asio_callback, ///< set_verify_callback(ssl::host_name_verification(host)): the usual way
    openssl,       ///< SSL_set1_host(): OpenSSL's own check, which reports a mismatch as such
};

// A plain Asio TLS server and client on 127.0.0.1 (port 0); the client asks for and checks
// `host`. Both handshakes must finish within 5 s. On success the client sends a line, which
// the server must read.
outcome loopback_handshake(
    ssl::context& server_ctx,
    ssl::context& client_ctx,
    std::string const& host,
    host_check check = host_check::asio_callback
)
{
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address_v4("127.0.0.1"), 0});
    std::optional<ssl::stream<tcp::socket>> server;
    ssl::stream<tcp::socket> client(io, client_ctx);
    outcome o;
    acceptor.async_accept(
        [&](error_code ec, tcp::socket s)
        {
            if (ec)
                return void(o.server = ec);
            server.emplace(std::move(s), server_ctx);
            server->async_handshake(ssl::stream_base::server, [&](error_code e) { o.server = e; });
        }
    );
    // SNI, and the name the certificate must carry.
    BOOST_TEST_REQUIRE(SSL_set_tlsext_host_name(client.native_handle(), host.c_str()) == 1);
    if (check == host_check::asio_callback)
        client.set_verify_callback(ssl::host_name_verification(host));
    else
        BOOST_TEST_REQUIRE(SSL_set1_host(client.native_handle(), host.c_str()) == 1);
    client.next_layer().async_connect(
        acceptor.local_endpoint(),
        [&](error_code ec)
        {
            if (ec)
                return void(o.client = ec);
            client.async_handshake(ssl::stream_base::client, [&](error_code e) { o.client = e; });
        }
    );
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return o.server && o.client; }, 5s
    ));
    o.verify_result = SSL_get_verify_result(client.native_handle());
    if (*o.server || *o.client)
        return o;

    // The secured connection carries data.
    std::string const line = "over TLS\n";
    std::string received(line.size(), '\0');
    std::optional<error_code> wrote, read;
    asio::async_write(client, asio::buffer(line), [&](error_code ec, std::size_t) { wrote = ec; });
    asio::async_read(
        *server, asio::buffer(received), [&](error_code ec, std::size_t) { read = ec; }
    );
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return wrote && read; }, 5s
    ));
    BOOST_TEST(!*wrote);
    BOOST_TEST(!*read);
    BOOST_TEST(received == line);
    return o;
}

// The output of `command` (stderr included); the command gets 10 s.
std::string output_of(std::string const& command)
{
    std::string out;
    if (FILE* p = ::popen(("timeout 10 " + command + " 2>&1").c_str(), "r"))
    {
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
            out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(certificates)

BOOST_AUTO_TEST_CASE(server_certificate_names_localhost_and_both_loopback_addresses)
{
    // Setup
    auto const cert = parse(shared_tls_certs().cert_pem);

    // Check
    BOOST_TEST(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
    BOOST_TEST(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
    BOOST_TEST(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
    BOOST_TEST(X509_check_host(cert.get(), "example.com", 0, 0, nullptr) != 1);
}

BOOST_AUTO_TEST_CASE(certificates_are_valid_from_an_hour_ago_for_a_day)
{
    // Setup
    auto const& certs = shared_tls_certs();

    // Check: valid now, and not in 23.5 hours' time (1 day from an hour ago).
    for (auto const* pem : {&certs.ca_pem, &certs.cert_pem, &certs.wrong_ca_pem})
    {
        auto const cert = parse(*pem);
        std::time_t now = std::time(nullptr);
        std::time_t soon = now + 23 * 3600 + 1800;
        BOOST_TEST(X509_cmp_time(X509_get0_notBefore(cert.get()), &now) < 0);
        BOOST_TEST(X509_cmp_time(X509_get0_notAfter(cert.get()), &now) > 0);
        BOOST_TEST(X509_cmp_time(X509_get0_notAfter(cert.get()), &soon) < 0);
    }
}

BOOST_AUTO_TEST_CASE(the_ca_signed_the_server_certificate_and_the_wrong_ca_did_not)
{
    // Setup
    auto const& certs = shared_tls_certs();

    // Check
    BOOST_TEST(signed_by(certs.cert_pem, certs.ca_pem));
    BOOST_TEST(!signed_by(certs.cert_pem, certs.wrong_ca_pem));
    BOOST_TEST(certs.ca_pem != certs.wrong_ca_pem);
}

BOOST_AUTO_TEST_CASE(each_call_makes_new_keys)
{
    // Setup, event
    auto const a = make_tls_certs();
    auto const b = make_tls_certs();

    // Check
    BOOST_TEST(a.key_pem != b.key_pem);
    BOOST_TEST(!signed_by(a.cert_pem, b.ca_pem));
}

BOOST_AUTO_TEST_CASE(files_hold_the_pems_and_go_with_their_owner)
{
    // Setup
    auto const& certs = shared_tls_certs();
    std::filesystem::path directory;
    {
        tls_cert_files const files(certs);
        directory = files.directory();

        // Check: an outside tool (the openssl command) accepts them, and not with the wrong CA.
        std::string const verify = "openssl verify -verify_hostname localhost -CAfile ";
        BOOST_TEST(
            output_of(verify + files.ca_file().string() + " " + files.cert_file().string())
                .find(": OK") != std::string::npos
        );
        BOOST_TEST(
            output_of(verify + files.wrong_ca_file().string() + " " + files.cert_file().string())
                .find("unable to get local issuer certificate") != std::string::npos
        );
        BOOST_TEST(
            output_of("openssl pkey -noout -in " + files.key_file().string()).empty(),
            "the key file is a key"
        );
    }

    // Check: the destructor removed the directory.
    BOOST_TEST(!std::filesystem::exists(directory));
}

BOOST_AUTO_TEST_CASE(a_bad_authority_throws_naming_the_step)
{
    // Setup
    self_signed::credentials const not_pem{"not a certificate", "not a key"};

    // Event, check
    BOOST_CHECK_EXCEPTION(
        self_signed::make_server_certificate(not_pem),
        std::runtime_error,
        [](std::runtime_error const& e)
        { return std::string(e.what()).find("reading a PEM certificate") != std::string::npos; }
    );
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(handshake)

BOOST_AUTO_TEST_CASE(completes_verifying_the_host_name_localhost)
{
    // Setup
    auto const& certs = shared_tls_certs();
    auto server_ctx = server_context(certs);
    auto client_ctx = client_context(certs, true);

    // Event
    auto const o = loopback_handshake(server_ctx, client_ctx, "localhost");

    // Check
    BOOST_TEST(!*o.client, o.client->message());
    BOOST_TEST(!*o.server, o.server->message());
    BOOST_TEST(o.verify_result == X509_V_OK);
}

BOOST_AUTO_TEST_CASE(fails_when_the_client_trusts_the_wrong_ca)
{
    // Setup
    auto const& certs = shared_tls_certs();
    auto server_ctx = server_context(certs);
    auto client_ctx = client_context(certs.wrong_ca_pem, true);

    // Event
    auto const o = loopback_handshake(server_ctx, client_ctx, "localhost");

    // Check: the client says why; the server hears its alert.
    BOOST_TEST_REQUIRE(*o.client);
    BOOST_TEST(o.client->message().find("certificate verify failed") != std::string::npos);
    BOOST_TEST(o.verify_result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    BOOST_TEST(
        std::string(X509_verify_cert_error_string(o.verify_result)) ==
        "unable to get local issuer certificate"
    );
    BOOST_TEST_REQUIRE(*o.server);
    BOOST_TEST(o.server->message().find("alert unknown ca") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(fails_when_the_client_expects_another_host_name)
{
    // Setup
    auto const& certs = shared_tls_certs();
    auto server_ctx = server_context(certs);
    auto client_ctx = client_context(certs, true);

    // Event
    auto const o = loopback_handshake(server_ctx, client_ctx, "example.com");

    // Check: Asio's host_name_verification only answers "no", so OpenSSL's reason is
    // "unspecified" and the client's alert an internal error.
    BOOST_TEST_REQUIRE(*o.client);
    BOOST_TEST(o.client->message().find("certificate verify failed") != std::string::npos);
    BOOST_TEST(o.verify_result == X509_V_ERR_UNSPECIFIED);
    BOOST_TEST_REQUIRE(*o.server);
    BOOST_TEST(o.server->message().find("alert internal error") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(fails_naming_the_mismatch_when_openssl_checks_the_host_name)
{
    // Setup
    auto const& certs = shared_tls_certs();
    auto server_ctx = server_context(certs);
    auto client_ctx = client_context(certs, true);

    // Event
    auto const o = loopback_handshake(server_ctx, client_ctx, "example.com", host_check::openssl);

    // Check
    BOOST_TEST_REQUIRE(*o.client);
    BOOST_TEST(o.client->message().find("certificate verify failed") != std::string::npos);
    BOOST_TEST(o.verify_result == X509_V_ERR_HOSTNAME_MISMATCH);
    BOOST_TEST(std::string(X509_verify_cert_error_string(o.verify_result)) == "hostname mismatch");
    BOOST_TEST_REQUIRE(*o.server);
    BOOST_TEST(o.server->message().find("alert bad certificate") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(completes_when_openssl_checks_the_host_name_localhost)
{
    // Setup
    auto const& certs = shared_tls_certs();
    auto server_ctx = server_context(certs);
    auto client_ctx = client_context(certs, true);

    // Event
    auto const o = loopback_handshake(server_ctx, client_ctx, "localhost", host_check::openssl);

    // Check
    BOOST_TEST(!*o.client, o.client->message());
    BOOST_TEST(!*o.server, o.server->message());
}

BOOST_AUTO_TEST_CASE(completes_with_any_certificate_without_verification)
{
    // Setup: the client trusts the wrong CA and expects another name, but does not verify.
    auto const& certs = shared_tls_certs();
    auto server_ctx = server_context(certs);
    auto client_ctx = client_context(certs.wrong_ca_pem, false);

    // Event
    auto const o = loopback_handshake(server_ctx, client_ctx, "example.com");

    // Check
    BOOST_TEST(!*o.client, o.client->message());
    BOOST_TEST(!*o.server, o.server->message());
}

BOOST_AUTO_TEST_SUITE_END()
