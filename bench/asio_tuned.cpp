// asynchat: bench baseline: a hand-tuned Asio echo server
// SPDX-License-Identifier: BSL-1.0
//
// One 64 KiB async_read_some buffer per connection, memchr to split lines, and every complete
// line of a read answered with one batched async_write (the partial line carried over).
// Prints "listening on 127.0.0.1:PORT" first.
#include <boost/asio.hpp>

#include <cstring>
#include <memory>
#include <vector>

#include "server_args.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

class session : public std::enable_shared_from_this<session>
{
public:
    explicit session(tcp::socket s) : socket_(std::move(s)), in_(65536) {}
    void start() { read(); }

private:
    void read()
    {
        socket_.async_read_some(
            asio::buffer(in_.data() + held_, in_.size() - held_),
            [self = shared_from_this()](boost::system::error_code ec, std::size_t n)
            { self->on_read(ec, n); }
        );
    }

    void on_read(boost::system::error_code ec, std::size_t n)
    {
        if (ec)
            return;
        std::size_t const total = held_ + n;
        // Everything up to the last '\n' goes back; the rest waits for more.
        char const* last = nullptr;
        for (char const* p = in_.data();
             auto const* hit = static_cast<char const*>(
                 std::memchr(p, '\n', static_cast<std::size_t>(in_.data() + total - p))
             );)
        {
            last = hit;
            p = hit + 1;
        }
        std::size_t const complete = last ? static_cast<std::size_t>(last - in_.data()) + 1 : 0;
        if (complete == 0 && total == in_.size())
            in_.resize(in_.size() * 2); // a line longer than the buffer
        out_.assign(in_.data(), complete);
        held_ = total - complete;
        std::memmove(in_.data(), in_.data() + complete, held_);
        if (complete == 0)
            return read();
        asio::async_write(
            socket_,
            asio::buffer(out_),
            [self = shared_from_this()](boost::system::error_code ec, std::size_t)
            {
                if (!ec)
                    self->read();
            }
        );
    }

    tcp::socket socket_;
    std::vector<char> in_;
    std::size_t held_ = 0;
    std::string out_;
};

int main(int argc, char** argv)
{
    bench::run_server<session>(bench::parse_server_args(argc, argv));
}
