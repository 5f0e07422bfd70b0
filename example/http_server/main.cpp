// asynchat: example: a small HTTP/1.0 server (GET and POST) on 127.0.0.1, HTTPS with --tls
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_http_server [--port N] [--root DIR] [--tls [--cert FILE --key FILE]]
//   --port N     0, the default, picks a free port
//   --root DIR   serve the files of DIR as /files/NAME (chunked to HTTP/1.1 clients)
//   --tls        HTTPS (TLS 1.2 or later), with a certificate for localhost signed by a
//                throw-away CA, both made at startup: clients cannot verify it (curl -k)
//   --cert FILE, --key FILE
//                with --tls: this certificate chain and private key (PEM) instead
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <sys/stat.h>

#include "common/server_tls.hpp"
#include "http_server.hpp"
#include "https_server.hpp"

namespace {

constexpr char const* usage =
    "usage: asynchat_example_http_server [--port N] [--root DIR] [--tls [--cert FILE --key FILE]]";

} // namespace

int main(int argc, char** argv)
{
    try
    {
        unsigned long port = 0;
        std::string root;
        bool tls = false;
        server_tls::certificate_files files;
        for (int i = 1; i < argc; ++i)
        {
            std::string const option = argv[i];
            if (option == "--tls")
            {
                tls = true;
                continue;
            }
            if (i + 1 == argc || (option != "--port" && option != "--root" && option != "--cert" &&
                                  option != "--key"))
                throw std::invalid_argument(usage);
            std::string const value = argv[++i];
            if (option == "--cert" || option == "--key")
                (option == "--cert" ? files.cert : files.key) = value;
            else if (option == "--port")
            {
                if (value.empty() || value.size() > 5 ||
                    value.find_first_not_of("0123456789") != std::string::npos)
                    throw std::invalid_argument("--port wants a number, not '" + value + "'");
                port = std::stoul(value);
            }
            else
            {
                struct stat st;
                if (::stat(value.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                    throw std::invalid_argument("--root: '" + value + "' is not a directory");
                root = value;
            }
        }
        if (port > 65535)
            throw std::invalid_argument("--port must be 0..65535");
        if (files.given() && !tls)
            throw std::invalid_argument("--cert and --key need --tls");
        files.check();

        // HTTPS: one context for every connection, made before the io_context so that it
        // outlives every channel (the last close_notify included).
        std::optional<boost::asio::ssl::context> ctx;
        if (tls)
            ctx.emplace(server_tls::make_context(files));
        boost::asio::io_context io;
        http::tcp::endpoint const ep(
            boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)
        );
        std::shared_ptr<http::server> s;
        if (tls)
            s = std::make_shared<http::tls_server>(io, ep, *ctx, root);
        else
            s = std::make_shared<http::server>(io, ep, root);
        s->start();
        auto const p = s->local_endpoint().port();
        std::string const url =
            (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(p);
        // -k: curl cannot verify the throw-away certificate (nor, usually, the user's own).
        std::string const curl = tls ? "curl -k " : "curl ";
        std::cout << "listening on 127.0.0.1:" << p << "\n";
        if (tls)
            std::cout << "TLS with " << server_tls::describe(files) << "\n";
        std::cout << "try:  " << curl << url << "/\n"
                  << "      " << curl << "-d 'hello asynchat' " << url << "/echo\n";
        if (!root.empty())
            std::cout << "      " << curl << "-O " << url << "/files/NAME   (a file of " << root
                      << "; -0 for HTTP/1.0" << (tls ? ")\n" : ", sent with sendfile)\n");
        std::cout << "Ctrl-C stops it." << std::endl;

        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code, int) { asynchat::close_all(io); });
        asynchat::loop(io); // asyncore.loop(): until no channel is left
        return 0;
    }
    catch (std::exception const& e)
    {
        std::cerr << "http_server: " << e.what() << "\n";
        return 2;
    }
}
