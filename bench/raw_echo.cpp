// asynchat: bench: the bulk ceiling: a blocking thread-per-connection echo without framing
// SPDX-License-Identifier: BSL-1.0
//
// read() up to 64 KiB, write() it all back: the most a byte stream can be echoed through
// loopback. Prints "listening on 127.0.0.1:PORT" first.
#include <boost/asio.hpp>

#include <iostream>
#include <thread>
#include <vector>

#include "server_args.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

int main(int argc, char** argv)
{
    auto const args = bench::parse_server_args(argc, argv);
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), args.port});
    std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
    for (;;)
    {
        tcp::socket s = acceptor.accept();
        std::thread([s = std::move(s)]() mutable {
            std::vector<char> buf(65536);
            boost::system::error_code ec;
            while (!ec)
            {
                std::size_t const n = s.read_some(asio::buffer(buf), ec);
                if (!ec)
                    asio::write(s, asio::buffer(buf.data(), n), ec);
            }
        }).detach();
    }
}
