// asynchat: bench baseline: the idiomatic hand-written Asio echo server
// SPDX-License-Identifier: BSL-1.0
//
// async_read_until('\n') into a streambuf, then one async_write per line: what most Asio
// tutorials write. Prints "listening on 127.0.0.1:PORT" first.
#include <boost/asio.hpp>

#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "server_args.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

class session : public std::enable_shared_from_this<session>
{
public:
    explicit session(tcp::socket s) : socket_(std::move(s)) {}
    void start() { read(); }

private:
    void read()
    {
        asio::async_read_until(socket_, buffer_, '\n', [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            if (ec)
                return;
            self->line_.assign(asio::buffers_begin(self->buffer_.data()), asio::buffers_begin(self->buffer_.data()) + static_cast<std::ptrdiff_t>(n));
            self->buffer_.consume(n);
            asio::async_write(self->socket_, asio::buffer(self->line_), [self](boost::system::error_code ec, std::size_t) {
                if (!ec)
                    self->read();
            });
        });
    }

    tcp::socket socket_;
    asio::streambuf buffer_;
    std::string line_;
};

int main(int argc, char** argv)
{
    auto const args = bench::parse_server_args(argc, argv);
    asio::io_context io(args.threads);
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), args.port});
    std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
    std::function<void()> accept = [&] {
        acceptor.async_accept(asio::make_strand(io), [&](boost::system::error_code ec, tcp::socket s) {
            if (!ec)
            {
                s.set_option(tcp::no_delay(true));
                std::make_shared<session>(std::move(s))->start();
            }
            accept();
        });
    };
    accept();
    std::vector<std::thread> pool;
    for (int i = 1; i < args.threads; ++i)
        pool.emplace_back([&] { io.run(); });
    io.run();
}
