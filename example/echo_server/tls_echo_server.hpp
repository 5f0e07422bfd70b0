// asynchat: example: the line echo server over TLS
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_TLS_ECHO_SERVER_HPP
#define ASYNCHAT_EXAMPLE_TLS_ECHO_SERVER_HPP

#include <asynchat/tls.hpp>

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <utility>

#include "echo_server.hpp"

namespace echo {

/// The echo channel over TLS: start() runs the server handshake, then it echoes every line.
using tls_echo_channel = basic_echo_channel<asynchat::tls_stream>;

/** The echo server over TLS: each accepted connection is wrapped in an asynchat::tls_stream
    with `ctx` and given a tls_echo_channel.

    A failed handshake goes to the channel's handle_error() and closes that connection only.
*/
class tls_server : public server
{
public:
    /// As server's; `ctx`: the server context (certificate and key), which must outlive the
    /// server and every channel it starts.
    tls_server(
        asio::io_context& io,
        tcp::endpoint const& ep,
        asio::ssl::context& ctx,
        int threads = 1,
        bool reuse_port = false
    )
        : server(io, ep, threads, reuse_port), ctx_(ctx)
    {
    }

protected:
    void start_connection(socket_type sock) override
    {
        start_channel<tls_echo_channel>(asynchat::tls_stream(without_nagle(std::move(sock)), ctx_));
    }

    void start_connection(strand_socket sock) override
    {
        // tls_stream's socket has the type-erased executor, which still holds the strand.
        start_connection(socket_type(std::move(sock)));
    }

private:
    asio::ssl::context& ctx_;
};

} // namespace echo

#endif
