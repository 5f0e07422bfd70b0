// asynchat: example: the chat room server on 127.0.0.1
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_chat_room [--port N]   then connect with e.g. `nc 127.0.0.1 PORT`.
#include <boost/asio/signal_set.hpp>

#include <iostream>

#include "chat_room.hpp"

int main(int argc, char** argv)
{
    try
    {
        unsigned long port = 0;
        if (argc == 3 && std::string(argv[1]) == "--port")
            port = std::stoul(argv[2]);
        else if (argc != 1 || port > 65535)
            throw std::invalid_argument("usage: asynchat_example_chat_room [--port N]");
        boost::asio::io_context io;
        auto s = std::make_shared<chat::server>(
            io,
            chat::tcp::endpoint(
                boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)
            )
        );
        s->start();
        std::cout << "listening on 127.0.0.1:" << s->local_endpoint().port() << std::endl;
        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code, int) { asynchat::close_all(io); });
        asynchat::loop(io);
        return 0;
    }
    catch (std::exception const& e)
    {
        std::cerr << "chat_room: " << e.what() << "\n";
        return 2;
    }
}
