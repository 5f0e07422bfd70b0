// asynchat: bench baseline: a hand-tuned Asio TLS echo server
// SPDX-License-Identifier: BSL-1.0
//
// asio_tuned.cpp over ssl::stream<tcp::socket>: the server handshake, then one async_read_some
// buffer per connection, memchr to split lines, and every complete line of a read answered with
// one batched async_write (the partial line carried over). The buffer is 16 KiB, the most
// plaintext a TLS record holds: the stream hands over at most one record per read, so more
// would only cost idle memory. It doubles for a longer line. The certificate and key are made
// at startup (example/common/self_signed.hpp). Usage as the other baselines (server_args.hpp);
// prints "listening on 127.0.0.1:PORT" first.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/self_signed.hpp"
#include "server_args.hpp"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

class session : public std::enable_shared_from_this<session>
{
public:
    session(tcp::socket s, ssl::context& ctx) : stream_(std::move(s), ctx), in_(16384) {}

    void start()
    {
        stream_.async_handshake(
            ssl::stream_base::server,
            [self = shared_from_this()](boost::system::error_code ec)
            {
                if (!ec)
                    self->read();
            }
        );
    }

private:
    void read()
    {
        stream_.async_read_some(
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
        // One write for every line of the read: the stream cuts it into as few records as fit.
        asio::async_write(
            stream_,
            asio::buffer(out_),
            [self = shared_from_this()](boost::system::error_code ec, std::size_t)
            {
                if (!ec)
                    self->read();
            }
        );
    }

    ssl::stream<tcp::socket> stream_;
    std::vector<char> in_;
    std::size_t held_ = 0;
    std::string out_;
};

int main(int argc, char** argv)
{
    auto const args = bench::parse_server_args(argc, argv);
    auto ctx = self_signed::make_server_context(self_signed::make_localhost_certificates().server);
    bench::run_server(
        args, [&ctx](tcp::socket s) { std::make_shared<session>(std::move(s), ctx)->start(); }
    );
}
