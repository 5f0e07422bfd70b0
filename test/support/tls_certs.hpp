// asynchat: test fixtures: throw-away TLS certificates for loopback, and contexts that use them
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_TLS_CERTS_HPP
#define ASYNCHAT_TEST_SUPPORT_TLS_CERTS_HPP

#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <string>

namespace asynchat::test {

/** Throw-away certificates, PEM: a CA, a server certificate it signed, and a second CA.

    Made by example/common/self_signed.hpp: P-256 keys, valid from an hour ago for one day. The
    server certificate names DNS:localhost, IP:127.0.0.1 and IP:::1.
*/
struct tls_certs
{
    std::string ca_pem;       ///< The CA that signed `cert_pem`: what clients trust.
    std::string cert_pem;     ///< The server's certificate, for "localhost".
    std::string key_pem;      ///< The server's private key (PKCS #8, unencrypted).
    std::string wrong_ca_pem; ///< Another CA, which signed nothing here: trusting it fails.
};

/// Make a new set of certificates (two CAs, one server certificate): a few milliseconds.
tls_certs make_tls_certs();

/// One set of certificates for the whole process, made on the first call (thread-safe).
tls_certs const& shared_tls_certs();

/** A server context, TLS 1.2 and later, presenting `certs.cert_pem` with `certs.key_pem`.

    @throws boost::system::system_error if OpenSSL refuses the certificate or the key.
*/
boost::asio::ssl::context server_context(tls_certs const& certs);

/** A client context, TLS 1.2 and later, that trusts `certs.ca_pem` only.

    @param verify Whether the client checks the server's certificate (`verify_peer`); without,
    any certificate is accepted (`verify_none`). The host name is a stream's own check:
    `stream.set_verify_callback(boost::asio::ssl::host_name_verification("localhost"))`.
*/
boost::asio::ssl::context client_context(tls_certs const& certs, bool verify);

/// A client context, TLS 1.2 and later, that trusts the CA `ca_pem` only (`certs.wrong_ca_pem`,
/// for one) and, if `verify`, checks the server's certificate.
boost::asio::ssl::context client_context(std::string const& ca_pem, bool verify);

/** The PEM texts of a tls_certs as files in a new temporary directory, for outside clients
    (`openssl s_client -CAfile`, Python's `ssl`) and servers that read files.

    The destructor removes the directory and everything in it.
*/
class tls_cert_files
{
public:
    /// Write ca.pem, cert.pem, key.pem and wrong_ca.pem into a new owner-only directory.
    /// @throws std::runtime_error or std::filesystem::filesystem_error if that fails.
    explicit tls_cert_files(tls_certs const& certs);

    /// Remove the directory; errors are ignored.
    ~tls_cert_files();

    tls_cert_files(tls_cert_files const&) = delete;
    tls_cert_files& operator=(tls_cert_files const&) = delete;

    /// The directory holding the files.
    std::filesystem::path const& directory() const { return directory_; }

    /// The CA's certificate (`-CAfile`, `cafile=`).
    std::filesystem::path ca_file() const { return directory_ / "ca.pem"; }

    /// The server's certificate (`-cert`, `certfile=`).
    std::filesystem::path cert_file() const { return directory_ / "cert.pem"; }

    /// The server's private key (`-key`, `keyfile=`).
    std::filesystem::path key_file() const { return directory_ / "key.pem"; }

    /// The second CA, which signed nothing here.
    std::filesystem::path wrong_ca_file() const { return directory_ / "wrong_ca.pem"; }

private:
    std::filesystem::path directory_;
};

} // namespace asynchat::test

#endif
