// asynchat: channels over TLS, and over a plain connection upgraded to TLS (STARTTLS)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TLS_HPP
#define ASYNCHAT_TLS_HPP

#include <asynchat/async_chat.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace asynchat {

/** A TLS stream over TCP: `boost::asio::ssl::stream<boost::asio::ip::tcp::socket>`.

    A server wraps each accepted socket with the context the server shares:
    `tls_stream(std::move(socket), ctx)`; a client makes one unconnected: `tls_stream(io, ctx)`.
    The context must outlive the streams made with it. Link OpenSSL (CMake: OpenSSL::SSL).
*/
using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

/** The channel over TLS: start() runs the server's handshake, connect() the client's, close()
    sends a close_notify. Everything else is async_chat's.
*/
using tls_chat = basic_async_chat<tls_stream>;

/** Set the name of the server a TLS client connects to: sent in the handshake (SNI) and, when
    `verify` (the default), checked against the server's certificate, whose chain the context's
    trusted certificates must also verify (`ssl::verify_peer` is set on the stream). A mismatch
    fails the handshake with OpenSSL's reason, "certificate verify failed", and the peer is
    sent a bad_certificate alert.

    Call it before connect().

    @param stream The client's TLS stream (`chat.stream()`).
    @param host A host name ("mail.example.com"), or an IP address (checked, not sent as SNI).
    @param verify Whether to check the certificate's names and chain.
    @throws boost::system::system_error if OpenSSL refuses the name.
*/
template <class Socket>
void set_server_name(
    boost::asio::ssl::stream<Socket>& stream, std::string const& host, bool verify = true
)
{
    SSL* const ssl = stream.native_handle();
    boost::system::error_code ec;
    static_cast<void>(boost::asio::ip::make_address(host, ec));
    bool const is_address = !ec;
    auto const refused = [&](char const* what)
    {
        throw boost::system::system_error(
            boost::system::error_code(
                static_cast<int>(::ERR_get_error()), boost::asio::error::get_ssl_category()
            ),
            std::string("asynchat::set_server_name: ") + what + " \"" + host + "\""
        );
    };
    if (!is_address && !SSL_set_tlsext_host_name(ssl, host.c_str()))
        refused("SNI for");
    if (!verify)
        return;
    stream.set_verify_mode(boost::asio::ssl::verify_peer);
    // OpenSSL's own check (rather than a verify callback): its failure names the reason.
    int const ok = is_address ? ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(ssl), host.c_str())
                              : ::SSL_set1_host(ssl, host.c_str());
    if (ok != 1)
        refused("the name to verify,");
}

/** A stream that starts as a plain socket and is upgraded to TLS in place (STARTTLS): the
    stream of starttls_chat. The channel's start_tls() upgrades it; until then it reads and
    writes the socket, and from then on through TLS over the same socket.

    @tparam Socket A stream socket, `boost::asio::ip::tcp::socket` by default.

    @par Thread safety
    As the socket's: one read and one write in flight at a time, on the socket's executor.
*/
template <class Socket = boost::asio::ip::tcp::socket>
class basic_starttls_stream
{
public:
    /// Marks the type for the channel (is_starttls_stream).
    using starttls_tag = void;
    /// The socket below.
    using next_layer_type = Socket;
    /// The TLS stream over the socket, once upgraded.
    using tls_type = boost::asio::ssl::stream<Socket&>;
    /// The socket's executor.
    using executor_type = typename Socket::executor_type;

    /// A plain stream on a socket, connected (a server's) or not (a client's).
    explicit basic_starttls_stream(Socket socket) : socket_(std::move(socket)) {}

    /// A plain stream on a new, unconnected socket made from `arg` (an io_context, an
    /// executor), for a client: connect() it with the channel.
    template <
        class Arg,
        std::enable_if_t<
            std::is_constructible_v<Socket, Arg&&> && !std::is_same_v<std::decay_t<Arg>, Socket> &&
                !std::is_same_v<std::decay_t<Arg>, basic_starttls_stream>,
            int> = 0>
    explicit basic_starttls_stream(Arg&& arg) : socket_(std::forward<Arg>(arg))
    {
    }

    /// Move a stream not yet upgraded (the TLS stream refers to the socket: not after).
    basic_starttls_stream(basic_starttls_stream&&) = default;

    /// Move-assign a stream not yet upgraded (not after: the TLS stream refers to the socket).
    basic_starttls_stream& operator=(basic_starttls_stream&&) = default;

    /// The socket's executor.
    executor_type get_executor() noexcept { return socket_.get_executor(); }

    /// The socket.
    Socket& next_layer() noexcept { return socket_; }

    /// The socket.
    Socket const& next_layer() const noexcept { return socket_; }

    /// True once upgrade() made the TLS stream: reads and writes go through it.
    bool is_tls() const noexcept { return tls_ != nullptr; }

    /// The TLS stream. Precondition: is_tls().
    tls_type& tls() noexcept { return *tls_; }

    /** Set the server's name a client's upgrade sends (SNI) and verifies, as set_server_name()
        does, applied when the upgrade begins. Call it before start_tls().
    */
    void set_server_name(std::string host, bool verify = true)
    {
        server_name_ = std::move(host);
        verify_name_ = verify;
    }

    /** Make the TLS stream over the socket with `ctx`; reads and writes go through it from now
        on (the channel's start_tls() calls it, then runs the handshake).

        @throws std::logic_error if already upgraded.
    */
    void upgrade(boost::asio::ssl::context& ctx)
    {
        if (tls_)
            throw std::logic_error("asynchat::starttls_stream::upgrade: already TLS");
        auto tls = std::make_unique<tls_type>(socket_, ctx);
        if (server_name_)
            asynchat::set_server_name(*tls, *server_name_, verify_name_);
        tls_ = std::move(tls);
    }

    /// Read some bytes: from the socket, or through TLS once upgraded (Asio's AsyncReadStream).
    template <class MutableBuffers, class ReadToken>
    decltype(auto) async_read_some(MutableBuffers const& buffers, ReadToken&& token)
    {
        if (tls_)
            return tls_->async_read_some(buffers, std::forward<ReadToken>(token));
        return socket_.async_read_some(buffers, std::forward<ReadToken>(token));
    }

    /// Write some bytes: to the socket, or through TLS once upgraded (AsyncWriteStream).
    template <class ConstBuffers, class WriteToken>
    decltype(auto) async_write_some(ConstBuffers const& buffers, WriteToken&& token)
    {
        if (tls_)
            return tls_->async_write_some(buffers, std::forward<WriteToken>(token));
        return socket_.async_write_some(buffers, std::forward<WriteToken>(token));
    }

private:
    Socket socket_;
    std::unique_ptr<tls_type> tls_;
    std::optional<std::string> server_name_;
    bool verify_name_ = true;
};

/// The STARTTLS stream over TCP.
using starttls_stream = basic_starttls_stream<>;

/** The channel of a protocol that upgrades to TLS mid-connection (SMTP, IMAP, FTP): plain until
    start_tls(), called from found_terminator().
*/
using starttls_chat = basic_async_chat<starttls_stream>;

} // namespace asynchat

#endif
