// asynchat: example: a line echo server (a dispatcher spawning async_chat channels)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_ECHO_SERVER_HPP
#define ASYNCHAT_EXAMPLE_ECHO_SERVER_HPP

#include <asynchat.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <string>
#include <utility>

namespace echo {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Answers every '\n'-terminated line with the same line.
class echo_channel : public asynchat::async_chat
{
public:
    explicit echo_channel(tcp::socket socket) : asynchat::async_chat(std::move(socket))
    {
        set_terminator("\n");
    }

protected:
    void collect_incoming_data(std::string_view data) override { line_.append(data); }

    void found_terminator() override
    {
        // A view: the channel copies it into its queue, and line_ keeps its capacity, so an
        // echoed line costs no allocation.
        if (line_.size() == line_.capacity())
        {
            // Grow by exactly the '\n' (+= would double the buffer, and every idle connection
            // would keep the doubled one). Once per connection, normally.
            std::string exact;
            exact.reserve(line_.size() + 1);
            exact.assign(line_);
            line_.swap(exact);
        }
        line_ += '\n';
        push(std::string_view(line_));
        line_.clear();
    }

private:
    std::string line_;
};

/// asyncore's listening dispatcher: accepts connections and gives each one an echo_channel.
class server : public asynchat::dispatcher
{
public:
    /// `threads`: how many threads will run `io`. With one, no strands are needed.
    server(asio::io_context& io, tcp::endpoint const& ep, int threads = 1)
        : dispatcher(
              threads > 1 ? executor_type(asio::make_strand(io)) : executor_type(io.get_executor())
          )
    {
        strand_per_socket = threads > 1;
        create_socket(ep.protocol());
        set_reuse_addr();
        bind(ep);
        listen(1024);
    }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        // With several threads each accepted socket has its own strand (strand_per_socket).
        // Nagle would delay the small echoes: turn it off.
        boost::system::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        std::make_shared<echo_channel>(std::move(sock))->start();
    }
};

} // namespace echo

#endif
