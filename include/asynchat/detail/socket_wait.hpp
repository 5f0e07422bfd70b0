// asynchat: a socket's readiness wait, started over the io_context's own executor when the
// socket's type-erased executor holds one
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_SOCKET_WAIT_HPP
#define ASYNCHAT_DETAIL_SOCKET_WAIT_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/socket_base.hpp>

#include <type_traits>
#include <typeinfo>
#include <utility>

namespace asynchat::detail {

// The socket's implementation, which basic_socket keeps protected: a pointer to the member,
// formed through a class derived from the socket, reads it from any socket of that type.
template <class Socket>
struct socket_impl_access : Socket
{
    static auto& get(Socket& socket) noexcept { return socket.*(&socket_impl_access::impl_); }
};

/** `socket.async_wait(w, handler)`, with the operation typed on the io_context's executor when
    the socket's executor is an any_io_executor holding one (a one-thread server's sockets).

    Asio makes an operation per wait, typed on the socket's executor type: over any_io_executor
    it carries a 48-byte copy of the executor to dispatch the handler through, which it leaves
    empty (and calls the handler directly) when the executor is the io_context's own. Typed on
    that executor the operation carries 8 bytes for it: 80 bytes instead of 120 with a
    shared_ptr handler (heaptrack), for a wait an idle connection keeps pending for ever.
    The handler runs in the same way either way. Other executors (a strand) take Asio's own
    path.
*/
template <class Socket, class Handler>
void async_wait(Socket& socket, boost::asio::socket_base::wait_type w, Handler&& handler)
{
#if !defined(BOOST_ASIO_WINDOWS_RUNTIME) && !defined(BOOST_ASIO_HAS_IOCP) &&                       \
    !defined(BOOST_ASIO_NO_TYPEID)
    if constexpr (std::is_same_v<typename Socket::executor_type, boost::asio::any_io_executor>)
    {
        using io_executor = boost::asio::io_context::executor_type;
        auto& impl = socket_impl_access<Socket>::get(socket);
        auto const& any = impl.get_executor();
        // Boost 1.74's any_executor::target<T>() casts without comparing types: over a strand it
        // returns the strand's inner io_context executor, and the wait would bypass the strand.
        // Compare the type first.
        if (any.target_type() == typeid(io_executor))
        {
            auto const* ex = any.template target<io_executor>();
            // What basic_socket::async_wait() does, but with the executor's target.
            std::decay_t<Handler> h(std::forward<Handler>(handler));
            impl.get_service().async_wait(impl.get_implementation(), w, h, *ex);
            return;
        }
    }
#endif
    socket.async_wait(w, std::forward<Handler>(handler));
}

} // namespace asynchat::detail

#endif
