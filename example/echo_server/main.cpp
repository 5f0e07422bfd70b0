// asynchat: example: the line echo server as a program
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_echo_server [--port N] [--threads T | --listeners L] [--tls]
// --port 0 (the default) picks a free port. The first line of output is always
// "listening on 127.0.0.1:PORT", so that scripts can start it and read the port.
// --threads T: one io_context run by T threads, a strand per connection.
// --listeners L: L io_contexts of one thread each, each with its own listener on the same port
// (SO_REUSEPORT): the kernel spreads the connections, no strand is needed.
// --tls: every connection is TLS (1.2 or later), with a certificate for "localhost" signed by a
// throw-away CA, both made at startup (example/common/self_signed.hpp); try it with
// `openssl s_client -connect 127.0.0.1:PORT -servername localhost` (which cannot verify it).
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/self_signed.hpp"
#include "echo_server.hpp"
#include "tls_echo_server.hpp"

namespace {

unsigned long parse_number(char const* text, char const* option)
{
    char* end = nullptr;
    unsigned long const value = std::strtoul(text, &end, 10);
    if (end == text || *end != '\0')
        throw std::invalid_argument(std::string(option) + " wants a number, not '" + text + "'");
    return value;
}

} // namespace

int main(int argc, char** argv)
{
    try
    {
        unsigned long port = 0;
        unsigned long threads = 1;
        unsigned long listeners = 1;
        bool tls = false;
        for (int i = 1; i < argc; ++i)
        {
            std::string const arg = argv[i];
            if (arg == "--tls")
            {
                tls = true;
                continue;
            }
            if ((arg != "--port" && arg != "--threads" && arg != "--listeners") || i + 1 == argc)
                throw std::invalid_argument("unknown argument '" + arg + "'");
            (arg == "--port"      ? port
             : arg == "--threads" ? threads
                                  : listeners) = parse_number(argv[i + 1], argv[i]);
            ++i;
        }
        if (port > 65535 || threads == 0 || threads > 1024 || listeners == 0 || listeners > 1024)
            throw std::invalid_argument("--port must be 0..65535, --threads and --listeners 1..1024"
            );
        if (threads > 1 && listeners > 1)
            throw std::invalid_argument("--threads and --listeners do not go together");

        // --tls: one server context for every listener (OpenSSL's contexts are thread-safe).
        std::optional<boost::asio::ssl::context> tls_context;
        if (tls)
            tls_context.emplace(
                self_signed::make_server_context(self_signed::make_localhost_certificates().server)
            );

        // One io_context per listener; the first one's port is the others'.
        std::vector<std::unique_ptr<boost::asio::io_context>> contexts;
        std::vector<std::shared_ptr<echo::server>> servers;
        for (unsigned long i = 0; i < listeners; ++i)
        {
            contexts.push_back(std::make_unique<boost::asio::io_context>(static_cast<int>(threads))
            );
            auto const at = servers.empty() ? static_cast<unsigned short>(port)
                                            : servers.front()->local_endpoint().port();
            echo::tcp::endpoint const ep(boost::asio::ip::make_address_v4("127.0.0.1"), at);
            if (tls)
                servers.push_back(std::make_shared<echo::tls_server>(
                    *contexts.back(), ep, *tls_context, static_cast<int>(threads), listeners > 1
                ));
            else
                servers.push_back(std::make_shared<echo::server>(
                    *contexts.back(), ep, static_cast<int>(threads), listeners > 1
                ));
            servers.back()->start();
        }
        std::cout << "listening on 127.0.0.1:" << servers.front()->local_endpoint().port()
                  << std::endl;

        // Ctrl-C closes every channel; run() returns once their handlers have finished.
        boost::asio::signal_set signals(*contexts.front(), SIGINT, SIGTERM);
        signals.async_wait(
            [&](boost::system::error_code, int)
            {
                for (auto& io : contexts)
                {
                    boost::asio::io_context& context = *io;
                    boost::asio::post(context, [&context] { asynchat::close_all(context); });
                }
            }
        );

        std::vector<std::thread> pool;
        for (auto& io : contexts)
            for (unsigned long i = 0; i < threads; ++i)
                if (io != contexts.front() || i != 0)
                    pool.emplace_back([&context = *io] { context.run(); });
        contexts.front()->run();
        for (auto& t : pool)
            t.join();
        return 0;
    }
    catch (std::exception const& e)
    {
        std::cerr << "echo_server: " << e.what() << "\n"
                  << "usage: asynchat_example_echo_server [--port N] [--threads T | --listeners L] "
                     "[--tls]\n";
        return 2;
    }
}
