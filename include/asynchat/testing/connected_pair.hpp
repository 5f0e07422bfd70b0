// asynchat: test kit: connected socket pairs over TCP loopback (IPv4, IPv6) and Unix sockets
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_CONNECTED_PAIR_HPP
#define ASYNCHAT_TESTING_CONNECTED_PAIR_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <poll.h>
#include <string>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace asynchat::testing {

namespace detail {

// Both ends of a TCP pair send at once: with Nagle's algorithm a small write waits for the ACK
// of the previous one, which the peer may delay 40 ms.
template <class Socket>
void no_delay(Socket& s)
{
    s.set_option(boost::asio::ip::tcp::no_delay(true));
}

template <class Listener, class Socket>
std::pair<Socket, Socket> tcp_pair(boost::asio::io_context& io)
{
    Listener l(io);
    Socket client(io);
    client.connect(l.endpoint());
    Socket server = l.acceptor.accept();
    no_delay(client);
    no_delay(server);
    return {std::move(client), std::move(server)};
}

} // namespace detail

/** TCP over the IPv4 loopback, 127.0.0.1, on ports the system picks (port 0): a transport of
    the kit (see check_splits()).

    A transport names its `protocol` and `socket`, makes a `listener` and a connected pair().

    @par Python
    CPython's tests bind `socket_helper.HOST` ("127.0.0.1") to port 0 the same way.

    @par Thread safety
    Distinct objects: safe. The functions block only on the loopback's handshake.
*/
struct tcp_v4
{
    /// The protocol: TCP.
    using protocol = boost::asio::ip::tcp;
    /// The socket of each end.
    using socket = protocol::socket;
    /// "tcp_v4", the type's own name (as in `asynchat::testing::tcp_v4`), for test names and
    /// messages.
    static char const* name() noexcept { return "tcp_v4"; }
    /// 127.0.0.1, port 0.
    static protocol::endpoint loopback()
    {
        return {boost::asio::ip::make_address_v4("127.0.0.1"), 0};
    }

    /// A listening acceptor on 127.0.0.1, on a port the system picks; closed on destruction.
    struct listener
    {
        /// Open, bind and listen, on `io`. @throws boost::system::system_error if it cannot.
        explicit listener(boost::asio::io_context& io) : acceptor(io, loopback()) {}
        /// The address to connect to, with the port the system picked.
        protocol::endpoint endpoint() const { return acceptor.local_endpoint(); }
        /// The acceptor; accept from it as the test needs.
        protocol::acceptor acceptor;
    };

    /** A connected pair on `io`: (client, server), both with TCP_NODELAY, so that each write
        is sent at once.

        @throws boost::system::system_error if the loopback refuses.
    */
    static std::pair<socket, socket> pair(boost::asio::io_context& io)
    {
        return detail::tcp_pair<listener, socket>(io);
    }
};

/** TCP over the IPv6 loopback, ::1, on ports the system picks: as tcp_v4.

    pair() throws `boost::system::system_error` where the machine has no IPv6 loopback.

    @par Python
    CPython's `socket_helper.HOSTv6`.

    @par Thread safety
    As tcp_v4.
*/
struct tcp_v6
{
    /// The protocol: TCP.
    using protocol = boost::asio::ip::tcp;
    /// The socket of each end.
    using socket = protocol::socket;
    /// "tcp_v6", the type's own name (as in `asynchat::testing::tcp_v6`), for test names and
    /// messages.
    static char const* name() noexcept { return "tcp_v6"; }
    /// ::1, port 0.
    static protocol::endpoint loopback() { return {boost::asio::ip::make_address_v6("::1"), 0}; }

    /// A listening acceptor on ::1, on a port the system picks; closed on destruction.
    struct listener
    {
        /// Open, bind and listen, on `io`. @throws boost::system::system_error if it cannot.
        explicit listener(boost::asio::io_context& io) : acceptor(io, loopback()) {}
        /// The address to connect to, with the port the system picked.
        protocol::endpoint endpoint() const { return acceptor.local_endpoint(); }
        /// The acceptor; accept from it as the test needs.
        protocol::acceptor acceptor;
    };

    /// A connected pair on `io`: (client, server), both with TCP_NODELAY.
    static std::pair<socket, socket> pair(boost::asio::io_context& io)
    {
        return detail::tcp_pair<listener, socket>(io);
    }
};

/** Unix stream sockets: the transport without a network.

    pair() is `socketpair(2)` (no file, no port); listener binds a fresh path in the temporary
    directory and removes it again.

    @par Python
    `socket.socketpair()`, and CPython's Unix-socket tests.

    @par Thread safety
    Distinct objects: safe; the paths come from a thread-safe counter.
*/
struct unix_stream
{
    /// The protocol: `local::stream_protocol`.
    using protocol = boost::asio::local::stream_protocol;
    /// The socket of each end.
    using socket = protocol::socket;
    /// "unix_stream", the type's own name (as in `asynchat::testing::unix_stream`), for test
    /// names and messages.
    static char const* name() noexcept { return "unix_stream"; }

    /// A listening acceptor on a fresh path in the temporary directory, removed on destruction.
    struct listener
    {
        /// Bind and listen on a fresh path, on `io`. @throws boost::system::system_error.
        explicit listener(boost::asio::io_context& io)
            : path(fresh_path()), acceptor(io, protocol::endpoint(path))
        {
        }
        /// Remove the path.
        ~listener()
        {
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
        }
        listener(listener const&) = delete;
        listener& operator=(listener const&) = delete;
        /// The address to connect to.
        protocol::endpoint endpoint() const { return acceptor.local_endpoint(); }
        /// The socket's path.
        std::string path;
        /// The acceptor; accept from it as the test needs.
        protocol::acceptor acceptor;

    private:
        static std::string fresh_path()
        {
            static std::atomic<unsigned> counter{0};
            auto const p = std::filesystem::temp_directory_path() /
                           ("asynchat-test-" + std::to_string(::getpid()) + "-" +
                            std::to_string(counter++) + ".sock");
            std::error_code ignored;
            std::filesystem::remove(p, ignored);
            return p.string();
        }
    };

    /// A connected pair on `io` (socketpair): (first, second).
    static std::pair<socket, socket> pair(boost::asio::io_context& io)
    {
        socket a(io);
        socket b(io);
        boost::asio::local::connect_pair(a, b);
        return {std::move(a), std::move(b)};
    }
};

/** Read from `s` until EOF, blocking this thread, giving up when no byte came for `idle`.

    For a peer thread, or a socket whose io_context nobody runs. Puts `s` in non-blocking mode.

    @param s A connected stream socket, with no asynchronous operation pending.
    @param idle The longest wait for the next byte, in real time.
    @return What was read: everything before EOF, a reset or other error, or the idle deadline.

    @par Thread safety
    Uses `s` only; no other thread may use `s` meanwhile.
*/
template <class Socket>
std::string read_to_eof(Socket& s, std::chrono::milliseconds idle = std::chrono::seconds(10))
{
    std::string out;
    char buf[4096];
    boost::system::error_code ec;
    s.non_blocking(true, ec);
    while (!ec)
    {
        std::size_t const n = s.read_some(boost::asio::buffer(buf), ec);
        out.append(buf, n);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
        {
            ::pollfd pfd{s.native_handle(), POLLIN, 0};
            int const ready = ::poll(&pfd, 1, static_cast<int>(idle.count()));
            if (ready == 0 || (ready < 0 && errno != EINTR))
                break; // the idle deadline, or poll failed
            ec.clear();
        }
    }
    return out;
}

} // namespace asynchat::testing

#endif
