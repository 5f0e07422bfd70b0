// asynchat: example: the line echo server as a program
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_echo_server [--port N] [--threads T]
// --port 0 (the default) picks a free port. The first line of output is always
// "listening on 127.0.0.1:PORT", so that scripts can start it and read the port.
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "echo_server.hpp"

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
        for (int i = 1; i < argc; ++i)
        {
            std::string const arg = argv[i];
            if ((arg != "--port" && arg != "--threads") || i + 1 == argc)
                throw std::invalid_argument("unknown argument '" + arg + "'");
            (arg == "--port" ? port : threads) = parse_number(argv[i + 1], argv[i]);
            ++i;
        }
        if (port > 65535 || threads == 0 || threads > 1024)
            throw std::invalid_argument("--port must be 0..65535 and --threads 1..1024");

        boost::asio::io_context io(static_cast<int>(threads));
        auto server = std::make_shared<echo::server>(
            io,
            echo::tcp::endpoint(
                boost::asio::ip::make_address_v4("127.0.0.1"), static_cast<unsigned short>(port)
            ),
            static_cast<int>(threads)
        );
        server->start();
        std::cout << "listening on 127.0.0.1:" << server->local_endpoint().port() << std::endl;

        // Ctrl-C closes every channel; run() returns once their handlers have finished.
        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code, int) { asynchat::close_all(io); });

        std::vector<std::thread> pool;
        for (unsigned long i = 1; i < threads; ++i)
            pool.emplace_back([&] { io.run(); });
        io.run();
        for (auto& t : pool)
            t.join();
        return 0;
    }
    catch (std::exception const& e)
    {
        std::cerr << "echo_server: " << e.what() << "\n"
                  << "usage: asynchat_example_echo_server [--port N] [--threads T]\n";
        return 2;
    }
}
