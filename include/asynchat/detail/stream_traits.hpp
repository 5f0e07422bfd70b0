// asynchat: what a channel needs to know of its stream: a socket, a TLS stream over one, a
// STARTTLS stream, or any other Asio stream (a pipe, a pty, a serial port, the user's own)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_STREAM_TRAITS_HPP
#define ASYNCHAT_DETAIL_STREAM_TRAITS_HPP

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace asynchat::detail {

/// Whether `S` is an Asio I/O object: executor_type and get_executor().
template <class S, class = void>
struct has_executor : std::false_type
{
};
template <class S>
struct has_executor<
    S,
    std::void_t<typename S::executor_type, decltype(std::declval<S&>().get_executor())>>
    : std::true_type
{
};
template <class S>
inline constexpr bool has_executor_v = has_executor<S>::value;

/// Whether `S` has async_read_some() and async_write_some() taking Asio buffers and a handler.
template <class S, class = void>
struct is_async_stream : std::false_type
{
};
template <class S>
struct is_async_stream<
    S,
    std::void_t<
        decltype(std::declval<S&>().async_read_some(
            boost::asio::mutable_buffer(),
            std::declval<void (*)(boost::system::error_code, std::size_t)>()
        )),
        decltype(std::declval<S&>().async_write_some(
            boost::asio::const_buffer(),
            std::declval<void (*)(boost::system::error_code, std::size_t)>()
        ))>> : std::true_type
{
};
template <class S>
inline constexpr bool is_async_stream_v = is_async_stream<S>::value;

/// Whether `S` is a stream socket with endpoints: protocol_type, remote_endpoint(), close().
template <class S, class = void>
struct has_endpoints : std::false_type
{
};
template <class S>
struct has_endpoints<
    S,
    std::void_t<
        typename S::protocol_type::endpoint,
        decltype(std::declval<S const&>().remote_endpoint(std::declval<boost::system::error_code&>()
        )),
        decltype(std::declval<S&>().close(std::declval<boost::system::error_code&>()))>>
    : std::bool_constant<std::is_base_of_v<boost::asio::socket_base, S>>
{
};
template <class S>
inline constexpr bool has_endpoints_v = has_endpoints<S>::value;

/// Whether `S` is a TCP socket, `basic_stream_socket<ip::tcp, Executor>`: a channel on one sends
/// a file_producer with sendfile(2) (see basic_async_chat::use_sendfile).
template <class S>
struct is_tcp_socket : std::false_type
{
};
template <class Executor>
struct is_tcp_socket<boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>>
    : std::true_type
{
};
template <class S>
inline constexpr bool is_tcp_socket_v = is_tcp_socket<S>::value;

/// The type of `s.next_layer()`, without reference, or void.
template <class S, class = void>
struct next_layer_of
{
    using type = void;
};
template <class S>
struct next_layer_of<S, std::void_t<decltype(std::declval<S&>().next_layer())>>
{
    using type = std::remove_reference_t<decltype(std::declval<S&>().next_layer())>;
};

/** The socket a stream runs on: the stream itself for a socket, its next layer for a stream
    over a socket (`ssl::stream<tcp::socket>`, starttls_stream), none (void) for a pipe, a pty,
    a serial port.
*/
template <class S, class = void>
struct socket_of
{
    using type = void;
};
template <class S>
struct socket_of<S, std::enable_if_t<has_endpoints_v<S>>>
{
    using type = S;
    static S& get(S& s) noexcept { return s; }
};
template <class S>
struct socket_of<
    S,
    std::enable_if_t<!has_endpoints_v<S> && has_endpoints_v<typename next_layer_of<S>::type>>>
{
    using type = typename next_layer_of<S>::type;
    static type& get(S& s) noexcept { return s.next_layer(); }
};
template <class S>
using socket_of_t = typename socket_of<S>::type;
template <class S>
inline constexpr bool has_socket_v = !std::is_void_v<socket_of_t<S>>;

/// A stand-in for the endpoint type of a stream without a socket: nothing converts to it.
struct no_endpoint
{
    explicit no_endpoint() = default;
};

/// The socket's protocol and endpoint; `no_endpoint` for a stream without a socket.
template <class S, bool = has_socket_v<S>>
struct endpoint_of
{
    using protocol = void;
    using type = no_endpoint;
};
template <class S>
struct endpoint_of<S, true>
{
    using protocol = typename socket_of_t<S>::protocol_type;
    using type = typename protocol::endpoint;
};

/// Whether `S` is a TLS stream over a socket (`ssl::stream<Socket>`): a handshake to run, a
/// close_notify to send.
template <class S, class = void>
struct is_tls_stream : std::false_type
{
};
template <class S>
struct is_tls_stream<
    S,
    std::void_t<
        decltype(std::declval<S&>().async_handshake(
            S::server, std::declval<void (*)(boost::system::error_code)>()
        )),
        decltype(std::declval<S&>()
                     .async_shutdown(std::declval<void (*)(boost::system::error_code)>()))>>
    : std::bool_constant<has_socket_v<S>>
{
};
template <class S>
inline constexpr bool is_tls_stream_v = is_tls_stream<S>::value;

/// Whether `S` is a stream that starts plain and is upgraded in place (basic_starttls_stream).
template <class S, class = void>
struct is_starttls_stream : std::false_type
{
};
template <class S>
struct is_starttls_stream<S, std::void_t<typename S::starttls_tag>> : std::true_type
{
};
template <class S>
inline constexpr bool is_starttls_stream_v = is_starttls_stream<S>::value;

/// Whether `S` has close(error_code&).
template <class S, class = void>
struct has_close : std::false_type
{
};
template <class S>
struct has_close<
    S,
    std::void_t<decltype(std::declval<S&>().close(std::declval<boost::system::error_code&>()))>>
    : std::true_type
{
};

/// Whether `S` has is_open().
template <class S, class = void>
struct has_is_open : std::false_type
{
};
template <class S>
struct has_is_open<S, std::void_t<decltype(std::declval<S const&>().is_open())>> : std::true_type
{
};

/// Whether a stream can be closed (and its pending operations ended) by the channel: it has
/// close(error_code&), or runs on a socket.
template <class S>
inline constexpr bool is_closable_v = has_socket_v<S> || has_close<S>::value;

/// Close the stream (its socket for a stream over one); errors are ignored.
template <class S>
void close_stream(S& s) noexcept
{
    boost::system::error_code ignored;
    if constexpr (has_socket_v<S>)
        socket_of<S>::get(s).close(ignored);
    else
        s.close(ignored);
}

/// Whether the stream is open: its socket's, or its own is_open(); a stream without either is
/// taken as open.
template <class S>
bool stream_is_open(S& s) noexcept
{
    if constexpr (has_socket_v<S>)
        return socket_of<S>::get(s).is_open();
    else if constexpr (has_is_open<S>::value)
        return s.is_open();
    else
        return true;
}

} // namespace asynchat::detail

#endif
