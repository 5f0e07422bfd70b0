// asynchat: example: the HTTP server over TLS (HTTPS): the same handler on asynchat::tls_stream
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_HTTPS_SERVER_HPP
#define ASYNCHAT_EXAMPLE_HTTPS_SERVER_HPP

#include <asynchat/tls.hpp>

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <utility>

#include "http_server.hpp"

namespace http {

/// One HTTPS connection: the TLS handshake runs in start(), the close sends a close_notify.
using tls_request_handler = basic_request_handler<asynchat::tls_stream>;

/** The listening dispatcher of the HTTPS server: each accepted socket, on its own strand as
    the plain server's, is wrapped in a TLS stream with the server's context.
*/
class tls_server : public server
{
public:
    /** Listen on `ep`; `ctx` (certificate and key loaded) must outlive the server and every
        connection. `root`: the directory `GET /files/NAME` serves from (empty: none).
    */
    tls_server(
        asio::io_context& io,
        tcp::endpoint const& ep,
        asio::ssl::context& ctx,
        std::string root = {}
    )
        : server(io, ep, std::move(root)), ctx_(ctx)
    {
    }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        std::make_shared<tls_request_handler>(asynchat::tls_stream(std::move(sock), ctx_), root())
            ->start();
    }

private:
    asio::ssl::context& ctx_;
};

} // namespace http

#endif
