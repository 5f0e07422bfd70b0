// asynchat: bench: what the Asio baseline servers share: the command line and the accept loop
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_BENCH_SERVER_ARGS_HPP
#define ASYNCHAT_BENCH_SERVER_ARGS_HPP

#include <boost/asio.hpp>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bench {

struct server_args
{
    unsigned short port = 0;
    int threads = 1;
};

inline server_args parse_server_args(int argc, char** argv)
{
    server_args a;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        std::string const key = argv[i];
        unsigned long const value = std::stoul(argv[i + 1]);
        if (key == "--port" && value <= 65535)
            a.port = static_cast<unsigned short>(value);
        else if (key == "--threads" && value >= 1 && value <= 64)
            a.threads = static_cast<int>(value);
        else
            throw std::invalid_argument(
                "usage: " + std::string(argv[0]) + " [--port N] [--threads T]"
            );
    }
    if (argc % 2 == 0)
        throw std::invalid_argument("usage: " + std::string(argv[0]) + " [--port N] [--threads T]");
    return a;
}

/** Accept connections on 127.0.0.1 and call `start(socket)` for each (Nagle off, the socket on
    a strand of its own), on `args.threads` threads; print "listening on 127.0.0.1:PORT" first.
    Never returns.
*/
template <class Start>
void run_server(server_args const& args, Start start)
{
    namespace asio = boost::asio;
    using asio::ip::tcp;
    asio::io_context io(args.threads);
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), args.port});
    std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
    std::function<void()> accept = [&]
    {
        acceptor.async_accept(
            asio::make_strand(io),
            [&](boost::system::error_code ec, tcp::socket s)
            {
                if (!ec)
                {
                    s.set_option(tcp::no_delay(true));
                    start(std::move(s));
                }
                accept();
            }
        );
    };
    accept();
    std::vector<std::thread> pool;
    for (int i = 1; i < args.threads; ++i)
        pool.emplace_back([&] { io.run(); });
    io.run();
}

/** Accept connections on 127.0.0.1 and start a Session (constructed from the socket) for each,
    on `args.threads` threads; print "listening on 127.0.0.1:PORT" first. Never returns.
*/
template <class Session>
void run_server(server_args const& args)
{
    run_server(
        args,
        [](boost::asio::ip::tcp::socket s) { std::make_shared<Session>(std::move(s))->start(); }
    );
}

} // namespace bench

#endif
