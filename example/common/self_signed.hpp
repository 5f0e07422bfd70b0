// asynchat: example: throw-away TLS certificates made at startup (a CA and a "localhost" server)
// SPDX-License-Identifier: BSL-1.0
//
// Header-only, so that the TLS examples, the benchmarks and the test support (test/support/
// tls_certs.hpp) share one generator. Link OpenSSL::SSL (OpenSSL 3). Nothing here is for
// production: the keys live in memory and in the returned strings, unencrypted.
#ifndef ASYNCHAT_EXAMPLE_COMMON_SELF_SIGNED_HPP
#define ASYNCHAT_EXAMPLE_COMMON_SELF_SIGNED_HPP

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdexcept>
#include <string>

namespace self_signed {

/// A certificate and its private key, both PEM (the key unencrypted, PKCS #8).
struct credentials
{
    std::string cert_pem; ///< "-----BEGIN CERTIFICATE-----" ...
    std::string key_pem;  ///< "-----BEGIN PRIVATE KEY-----" ...
};

/// A throw-away certificate authority and a server certificate it signed.
struct certificates
{
    credentials ca;     ///< The authority: clients trust `ca.cert_pem`.
    credentials server; ///< For "localhost", 127.0.0.1 and ::1, signed by `ca`.
};

namespace detail {

// unique_ptr deleters for OpenSSL's types: freer<X509_free> and so on.
template <auto Free>
struct freer
{
    template <class T>
    void operator()(T* p) const
    {
        Free(p);
    }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, freer<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, freer<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, freer<BIO_free_all>>;
using extension_ptr = std::unique_ptr<X509_EXTENSION, freer<X509_EXTENSION_free>>;

// Throw std::runtime_error naming `what` and OpenSSL's oldest queued error unless `ok`; the
// queue is cleared either way, so a later failure does not report this one's reason.
inline void check(bool ok, char const* what)
{
    if (ok)
        return;
    unsigned long const code = ERR_get_error();
    ERR_clear_error();
    char reason[256] = "no reason given";
    if (code != 0)
        ERR_error_string_n(code, reason, sizeof reason);
    throw std::runtime_error(std::string("self_signed: ") + what + ": " + reason);
}

inline pkey_ptr make_p256_key()
{
    pkey_ptr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "generating a P-256 key");
    return key;
}

inline std::string to_pem(X509* cert)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "writing a certificate");
    char* data = nullptr;
    long const size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

inline std::string to_pem(EVP_PKEY* key)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(
        bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing a private key"
    );
    char* data = nullptr;
    long const size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

inline bio_ptr read_bio(std::string const& pem)
{
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    check(bio != nullptr, "reading PEM text");
    return bio;
}

inline x509_ptr certificate_from_pem(std::string const& pem)
{
    x509_ptr cert(PEM_read_bio_X509(read_bio(pem).get(), nullptr, nullptr, nullptr));
    check(cert != nullptr, "reading a PEM certificate");
    return cert;
}

inline pkey_ptr key_from_pem(std::string const& pem)
{
    pkey_ptr key(PEM_read_bio_PrivateKey(read_bio(pem).get(), nullptr, nullptr, nullptr));
    check(key != nullptr, "reading a PEM private key");
    return key;
}

// Add the extension `nid` with OpenSSL's configuration syntax ("critical,CA:TRUE"). `issuer` and
// `cert` may be the same certificate (a self-signed one).
inline void add_extension(X509* issuer, X509* cert, int nid, char const* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    extension_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    check(ext != nullptr, value);
    check(X509_add_ext(cert, ext.get(), -1) == 1, value);
}

// A version 3 certificate for `key` named CN=`common_name`, with a random serial number, valid
// from an hour ago (clocks differ a little) for one day; issuer and extensions still to set.
inline x509_ptr make_certificate(EVP_PKEY* key, std::string const& common_name)
{
    x509_ptr cert(X509_new());
    check(cert != nullptr, "allocating a certificate");
    check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "setting the version");
    // A positive 63-bit serial: two certificates from one CA must not share one.
    std::uint64_t serial = 0;
    check(
        RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) == 1,
        "drawing a serial number"
    );
    serial = (serial >> 1) | 1;
    check(
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1,
        "setting the serial number"
    );
    long const hour = 60 * 60;
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -hour) != nullptr, "setting notBefore");
    check(
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), 23 * hour) != nullptr, "setting notAfter"
    );
    check(X509_set_pubkey(cert.get(), key) == 1, "setting the public key");
    X509_NAME* name = X509_get_subject_name(cert.get());
    check(
        X509_NAME_add_entry_by_txt(
            name,
            "CN",
            MBSTRING_UTF8,
            reinterpret_cast<unsigned char const*>(common_name.c_str()),
            -1,
            -1,
            0
        ) == 1,
        "setting the common name"
    );
    return cert;
}

} // namespace detail

/** Make a new certificate authority: a P-256 key and a self-signed certificate for it.

    The certificate says CA:TRUE and may sign certificates (keyCertSign); it is valid from an
    hour ago for one day.

    @param common_name The authority's CN.
    @throws std::runtime_error naming the step and OpenSSL's reason, if OpenSSL fails.
*/
inline credentials make_authority(std::string const& common_name = "asynchat throw-away CA")
{
    auto const key = detail::make_p256_key();
    auto const cert = detail::make_certificate(key.get(), common_name);
    detail::check(
        X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) == 1,
        "setting the issuer"
    );
    detail::add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    detail::add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    detail::add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    detail::check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "signing the CA certificate");
    return {detail::to_pem(cert.get()), detail::to_pem(key.get())};
}

/** Make a server certificate for `host`, signed by `ca`, with a new P-256 key.

    Its subjectAltName is DNS:`host`, IP:127.0.0.1 and IP:::1; it may serve TLS (serverAuth) and
    is valid from an hour ago for one day.

    @param ca An authority from make_authority().
    @param host The DNS name clients will check, and the CN.
    @throws std::runtime_error naming the step and OpenSSL's reason, if OpenSSL fails (a `ca`
    that is not PEM, for one).
*/
inline credentials
make_server_certificate(credentials const& ca, std::string const& host = "localhost")
{
    auto const ca_cert = detail::certificate_from_pem(ca.cert_pem);
    auto const ca_key = detail::key_from_pem(ca.key_pem);
    auto const key = detail::make_p256_key();
    auto const cert = detail::make_certificate(key.get(), host);
    detail::check(
        X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) == 1,
        "setting the issuer"
    );
    std::string const names = "DNS:" + host + ",IP:127.0.0.1,IP:::1";
    detail::add_extension(ca_cert.get(), cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    detail::add_extension(ca_cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature");
    detail::add_extension(ca_cert.get(), cert.get(), NID_ext_key_usage, "serverAuth");
    detail::add_extension(ca_cert.get(), cert.get(), NID_subject_alt_name, names.c_str());
    detail::add_extension(ca_cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    detail::add_extension(ca_cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always");
    detail::check(
        X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0, "signing the server certificate"
    );
    return {detail::to_pem(cert.get()), detail::to_pem(key.get())};
}

/** Make a new authority and a server certificate for "localhost" signed by it.

    A few milliseconds of CPU: two P-256 keys and two signatures.

    @throws std::runtime_error if OpenSSL fails.
*/
inline certificates make_localhost_certificates()
{
    certificates c;
    c.ca = make_authority();
    c.server = make_server_certificate(c.ca);
    return c;
}

/** A TLS server context (TLS 1.2 and later) presenting `server`'s certificate and key.

    @throws boost::system::system_error if OpenSSL refuses the certificate or the key.
*/
inline boost::asio::ssl::context make_server_context(credentials const& server)
{
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
    detail::check(
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) == 1,
        "setting the lowest TLS version"
    );
    ctx.use_certificate_chain(boost::asio::buffer(server.cert_pem));
    ctx.use_private_key(boost::asio::buffer(server.key_pem), boost::asio::ssl::context::pem);
    return ctx;
}

} // namespace self_signed

#endif
