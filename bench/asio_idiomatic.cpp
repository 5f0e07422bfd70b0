// asynchat: bench baseline: the idiomatic hand-written Asio echo server
// SPDX-License-Identifier: BSL-1.0
//
// async_read_until('\n') into a streambuf, then one async_write per line: what most Asio
// tutorials write. Prints "listening on 127.0.0.1:PORT" first.
#include <boost/asio.hpp>

#include <memory>

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
        asio::async_read_until(
            socket_,
            buffer_,
            '\n',
            [self = shared_from_this()](boost::system::error_code ec, std::size_t n)
            {
                if (ec)
                    return;
                self->line_.assign(
                    asio::buffers_begin(self->buffer_.data()),
                    asio::buffers_begin(self->buffer_.data()) + static_cast<std::ptrdiff_t>(n)
                );
                self->buffer_.consume(n);
                asio::async_write(
                    self->socket_,
                    asio::buffer(self->line_),
                    [self](boost::system::error_code ec, std::size_t)
                    {
                        if (!ec)
                            self->read();
                    }
                );
            }
        );
    }

    tcp::socket socket_;
    asio::streambuf buffer_;
    std::string line_;
};

int main(int argc, char** argv)
{
    bench::run_server<session>(bench::parse_server_args(argc, argv));
}
