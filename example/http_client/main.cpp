// asynchat: example: fetch a page over HTTP/1.0, both ways
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_http_client HOST PORT [PATH]
//   e.g. start asynchat_example_http_server, then: asynchat_example_http_client 127.0.0.1 PORT /
#include <iostream>

#include "http_client.hpp"

int main(int argc, char** argv)
{
    try
    {
        if (argc < 3 || argc > 4)
            throw std::invalid_argument("usage: asynchat_example_http_client HOST PORT [PATH]");
        std::string const path = argc == 4 ? argv[3] : "/";
        boost::asio::io_context io;
        auto const server = *http_client::tcp::resolver(io).resolve(argv[1], argv[2]).begin();

        // The asyncore documentation's client.
        auto d = std::make_shared<http_client::dispatcher_client>(io, server, path);
        d->start();
        asynchat::loop(io);
        std::cout << "--- dispatcher client ---\n" << d->response;

        // The async_chat version.
        auto c = std::make_shared<http_client::chat_client>(io, path);
        c->connect(server);
        asynchat::loop(io);
        std::cout << "--- async_chat client ---\n" << c->head << "\n\n" << c->body;
        return c->done ? 0 : 1;
    }
    catch (std::exception const& e)
    {
        std::cerr << "http_client: " << e.what() << "\n";
        return 2;
    }
}
