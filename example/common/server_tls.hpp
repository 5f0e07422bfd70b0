// asynchat: example: the TLS server context of the example servers (--cert/--key, or made up)
// SPDX-License-Identifier: BSL-1.0
//
// Header-only; link OpenSSL::SSL. The HTTP example's --tls and the SMTP example's STARTTLS use
// it: PEM files the user names, or a throw-away certificate for localhost made at startup.
#ifndef ASYNCHAT_EXAMPLE_COMMON_SERVER_TLS_HPP
#define ASYNCHAT_EXAMPLE_COMMON_SERVER_TLS_HPP

#include <boost/asio/ssl/context.hpp>
#include <boost/system/system_error.hpp>

#include <openssl/ssl.h>
#include <stdexcept>
#include <string>

#include "common/self_signed.hpp"

namespace server_tls {

/** Where the server's certificate comes from: both files, or neither (made at startup). */
struct certificate_files
{
    std::string cert; ///< The certificate chain, PEM, the server's own certificate first.
    std::string key;  ///< Its private key, PEM, unencrypted.

    /// True if the user named files (both, once check() has passed).
    bool given() const { return !cert.empty() || !key.empty(); }

    /// @throws std::invalid_argument unless both files or neither are named.
    void check() const
    {
        if (cert.empty() != key.empty())
            throw std::invalid_argument("--cert and --key go together");
    }
};

/** A TLS server context (TLS 1.2 and later) presenting the certificate of `files`, or, when
    none is given, a new certificate for "localhost" signed by a throw-away CA nobody trusts
    (clients skip verification: `curl -k`).

    @throws std::runtime_error naming the file and OpenSSL's reason, if a file cannot be used
    (missing, not PEM, or a key that is not the certificate's).
*/
inline boost::asio::ssl::context make_context(certificate_files const& files)
{
    files.check();
    if (!files.given())
        return self_signed::make_server_context(self_signed::make_localhost_certificates().server);
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
        throw std::runtime_error("cannot set the lowest TLS version");
    try
    {
        ctx.use_certificate_chain_file(files.cert);
    }
    catch (boost::system::system_error const& e)
    {
        throw std::runtime_error("--cert " + files.cert + ": " + e.code().message());
    }
    try
    {
        // OpenSSL also checks that the key is the certificate's.
        ctx.use_private_key_file(files.key, boost::asio::ssl::context::pem);
    }
    catch (boost::system::system_error const& e)
    {
        throw std::runtime_error("--key " + files.key + ": " + e.code().message());
    }
    return ctx;
}

/// What make_context() presents, for the startup message.
inline std::string describe(certificate_files const& files)
{
    if (files.given())
        return "certificate " + files.cert + ", key " + files.key;
    return "a certificate for localhost made at startup, signed by a throw-away CA "
           "(clients cannot verify it)";
}

} // namespace server_tls

#endif
