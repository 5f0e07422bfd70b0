// asynchat: example: a ported asynchat echo server and a C++20 coroutine client in one
// io_context
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_coroutine_client [LINE...]   (default: three lines)
// clang-format off
#include <utility> // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format on

#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <iostream>

#include "coroutine_client.hpp"
#include "echo_server/echo_server.hpp"

int main(int argc, char** argv)
{
    namespace asio = boost::asio;
    try
    {
        std::vector<std::string> lines(argv + 1, argv + argc);
        if (lines.empty())
            lines = {"hello", "from a", "coroutine"};

        asio::io_context io;
        // The server: the README's echo server, a dispatcher and async_chat channels.
        auto server = std::make_shared<echo::server>(
            io, echo::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)
        );
        server->start();

        // The client: a coroutine in the same io_context.
        auto client = std::make_shared<coroutine_client::line_client>(io.get_executor());
        asio::co_spawn(
            io,
            coroutine_client::converse(client, server->local_endpoint(), lines),
            [&](std::exception_ptr error, std::vector<std::string> replies)
            {
                if (error)
                {
                    try
                    {
                        std::rethrow_exception(error);
                    }
                    catch (std::exception const& e)
                    {
                        std::cerr << "coroutine_client: " << e.what() << "\n";
                    }
                }
                for (auto const& r : replies)
                    std::cout << "reply: " << r << "\n";
                server->close(); // the last channel: loop() returns
            }
        );
        asynchat::loop(io);
        return client->replies().size() == lines.size() ? 0 : 1;
    }
    catch (std::exception const& e)
    {
        std::cerr << "coroutine_client: " << e.what() << "\n";
        return 2;
    }
}
