// asynchat: test fixtures: throw-away TLS certificates (see tls_certs.hpp)
// SPDX-License-Identifier: BSL-1.0
#include "support/tls_certs.hpp"

#include <boost/asio/buffer.hpp>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "common/self_signed.hpp"

namespace asynchat::test {

namespace asio = boost::asio;
namespace fs = std::filesystem;

tls_certs make_tls_certs()
{
    auto const made = self_signed::make_localhost_certificates();
    return {
        made.ca.cert_pem,
        made.server.cert_pem,
        made.server.key_pem,
        self_signed::make_authority("asynchat wrong CA").cert_pem,
    };
}

tls_certs const& shared_tls_certs()
{
    static tls_certs const certs = make_tls_certs();
    return certs;
}

asio::ssl::context server_context(tls_certs const& certs)
{
    return self_signed::make_server_context({certs.cert_pem, certs.key_pem});
}

asio::ssl::context client_context(tls_certs const& certs, bool verify)
{
    return client_context(certs.ca_pem, verify);
}

asio::ssl::context client_context(std::string const& ca_pem, bool verify)
{
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
        throw std::runtime_error("client_context: SSL_CTX_set_min_proto_version failed");
    ctx.add_certificate_authority(asio::buffer(ca_pem));
    ctx.set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    return ctx;
}

namespace {

void write_file(fs::path const& path, std::string const& text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out)
        throw std::runtime_error("tls_cert_files: cannot write " + path.string());
}

} // namespace

tls_cert_files::tls_cert_files(tls_certs const& certs)
{
    std::string pattern = (fs::temp_directory_path() / "asynchat-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("tls_cert_files: mkdtemp failed in " + pattern);
    directory_ = pattern;
    try
    {
        write_file(ca_file(), certs.ca_pem);
        write_file(cert_file(), certs.cert_pem);
        // mkdtemp made the directory owner-only, so no one else can read the key.
        write_file(key_file(), certs.key_pem);
        write_file(wrong_ca_file(), certs.wrong_ca_pem);
    }
    catch (...)
    {
        std::error_code ignored;
        fs::remove_all(directory_, ignored);
        throw;
    }
}

tls_cert_files::~tls_cert_files()
{
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
}

} // namespace asynchat::test
