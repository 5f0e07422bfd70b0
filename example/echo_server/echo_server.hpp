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

/// Answers every '\n'-terminated line with the same line. `Socket`: a TCP socket, with
/// Asio's type-erased executor (tcp::socket) or a concrete one (strand_socket). Final, so that
/// its calls of push() need no virtual dispatch.
template <class Socket>
class basic_echo_channel final : public asynchat::basic_async_chat<Socket>
{
public:
    explicit basic_echo_channel(Socket socket)
        : asynchat::basic_async_chat<Socket>(std::move(socket))
    {
        this->set_terminator("\n");
    }

protected:
    // CPython's sample collector, and the message as a view: the line is copied once, into
    // the output queue, and the channel holds no line buffer of its own.
    void collect_incoming_data(std::string_view data) override
    {
        this->_collect_incoming_data(data);
    }

    void found_terminator() override
    {
        this->push(this->_get_data_view());
        this->push("\n");
    }
};

/// The echo channel of a one-thread server.
using echo_channel = basic_echo_channel<tcp::socket>;

/// A socket whose executor is a strand of an io_context, by its concrete type: its handlers
/// run on the strand without any_io_executor's type erasure.
using strand_socket =
    tcp::socket::rebind_executor<asio::strand<asio::io_context::executor_type>>::other;

/// asyncore's listening dispatcher: accepts connections and gives each one an echo_channel.
class server : public asynchat::dispatcher
{
public:
    /// `threads`: how many threads will run `io`. With one, no strands are needed.
    /// `reuse_port`: share the port with other listeners (one per io_context, SO_REUSEPORT).
    server(asio::io_context& io, tcp::endpoint const& ep, int threads = 1, bool reuse_port = false)
        : dispatcher(
              threads > 1 ? executor_type(asio::make_strand(io)) : executor_type(io.get_executor())
          ),
          io_(io), threads_(threads)
    {
        strand_per_socket = threads > 1;
        create_socket(ep.protocol());
        set_reuse_addr();
        if (reuse_port)
            set_reuse_port();
        bind(ep);
        listen(1024);
    }

protected:
    void handle_accept() override
    {
        if (threads_ == 1)
            return dispatcher::handle_accept(); // accept() + handle_accepted()
        // Several threads: each connection on a strand of its own, by its concrete type.
        if (auto accepted = accept(asio::make_strand(io_.get_executor())))
            start_connection(std::move(accepted->first));
    }

    void handle_accepted(socket_type sock, endpoint_type) override
    {
        start_connection(std::move(sock));
    }

    /// Start an echo_channel on a connection accepted by a one-thread server.
    virtual void start_connection(socket_type sock)
    {
        start_channel<echo_channel>(without_nagle(std::move(sock)));
    }

    /// Start an echo channel on a connection accepted by a server of several threads: the
    /// socket runs on a strand of its own.
    virtual void start_connection(strand_socket sock)
    {
        start_channel<basic_echo_channel<strand_socket>>(without_nagle(std::move(sock)));
    }

    /// `sock`, with Nagle's algorithm off: it would delay the small echoes.
    template <class Socket>
    static Socket without_nagle(Socket sock)
    {
        boost::system::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        return sock;
    }

    /// Make a `Channel` on `stream` and start it.
    template <class Channel, class Stream>
    static void start_channel(Stream stream)
    {
        std::make_shared<Channel>(std::move(stream))->start();
    }

private:
    asio::io_context& io_;
    int threads_;
};

} // namespace echo

#endif
