// asynchat: bench: the bulk ceiling: a busy-polling thread-per-connection echo without framing
// SPDX-License-Identifier: BSL-1.0
//
// Reads whatever the socket holds into a 256 KiB buffer without blocking, spinning instead of
// sleeping while there is nothing, and writes it all back: no framing, no readiness wake-ups,
// one copy in and one out, the most a byte stream can be echoed through loopback from user
// space. (A blocking read() here woke up for every few kilobytes and ran at 0.6 of the Asio
// servers, which made it no ceiling.) Prints "listening on 127.0.0.1:PORT" first.
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
        s.set_option(tcp::no_delay(true));
        s.non_blocking(true);
        std::thread(
            [s = std::move(s)]() mutable
            {
                std::vector<char> buf(262144);
                boost::system::error_code ec;
                while (!ec || ec == asio::error::would_block)
                {
                    std::size_t const n = s.read_some(asio::buffer(buf), ec);
                    for (std::size_t done = 0; !ec && done < n;)
                    {
                        done += s.write_some(asio::buffer(buf.data() + done, n - done), ec);
                        if (ec == asio::error::would_block)
                            ec = {};
                    }
                }
            }
        ).detach();
    }
}
