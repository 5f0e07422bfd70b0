// asynchat: example: a small HTTP/1.0 server (GET and POST) on 127.0.0.1
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_http_server [--port N] [--root DIR]
//   --port N     0, the default, picks a free port
//   --root DIR   serve the files of DIR as /files/NAME (chunked to HTTP/1.1 clients)
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <sys/stat.h>

#include "http_server.hpp"

int main(int argc, char** argv)
{
    try
    {
        unsigned long port = 0;
        std::string root;
        for (int i = 1; i < argc; i += 2)
        {
            std::string const option = argv[i];
            if (i + 1 == argc || (option != "--port" && option != "--root"))
                throw std::invalid_argument(
                    "usage: asynchat_example_http_server [--port N] [--root DIR]"
                );
            std::string const value = argv[i + 1];
            if (option == "--port")
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

        boost::asio::io_context io;
        auto s = std::make_shared<http::server>(
            io,
            http::tcp::endpoint(
                boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)
            ),
            root
        );
        s->start();
        auto const p = s->local_endpoint().port();
        std::cout << "listening on 127.0.0.1:" << p << "\n"
                  << "try:  curl http://127.0.0.1:" << p << "/\n"
                  << "      curl -d 'hello asynchat' http://127.0.0.1:" << p << "/echo\n";
        if (!root.empty())
            std::cout << "      curl -O http://127.0.0.1:" << p << "/files/NAME   (a file of "
                      << root << "; -0 for HTTP/1.0, sent with sendfile)\n";
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
