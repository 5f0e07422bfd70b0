// asynchat: test fixtures: loopback sockets, listeners, channel pairs, bounded io_context runs
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_LOOPBACK_HPP
#define ASYNCHAT_TEST_SUPPORT_LOOPBACK_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/mpl/list.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace asynchat::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/** Run `io` in slices until `done()` holds or `timeout` passes; returns done().

    Every wait in the tests goes through this, so that a bug fails with a message instead of
    hanging the suite.
*/
bool run_until(
    asio::io_context& io,
    std::function<bool()> const& done,
    std::chrono::steady_clock::duration timeout = 10s
);

/// Run `io` until it has no more work, at most `timeout`; returns true if it ran out of work.
bool run_to_completion(asio::io_context& io, std::chrono::steady_clock::duration timeout = 10s);

/// TCP on 127.0.0.1, an ephemeral port.
struct loopback_tcp
{
    using protocol = asio::ip::tcp;
    using socket = protocol::socket;
    static char const* name() { return "tcp"; }

    /// A listening acceptor on 127.0.0.1, port 0.
    struct listener
    {
        explicit listener(asio::io_context& io);
        protocol::endpoint endpoint() const { return acceptor.local_endpoint(); }
        protocol::acceptor acceptor;
    };

    /// A connected pair: (client, server).
    static std::pair<socket, socket> pair(asio::io_context& io);
};

/// Unix stream sockets, bound to a fresh path in the temporary directory.
struct loopback_local
{
    using protocol = asio::local::stream_protocol;
    using socket = protocol::socket;
    static char const* name() { return "local"; }

    /// A listening acceptor on a fresh path, removed again on destruction.
    struct listener
    {
        explicit listener(asio::io_context& io);
        ~listener();
        listener(listener const&) = delete;
        listener& operator=(listener const&) = delete;
        protocol::endpoint endpoint() const { return acceptor.local_endpoint(); }
        std::string path;
        protocol::acceptor acceptor;
    };

    static std::pair<socket, socket> pair(asio::io_context& io);
};

/// Both kinds of loopback, for `BOOST_AUTO_TEST_CASE_TEMPLATE(name, Loopback, transports)`.
using transports = boost::mpl::list<loopback_tcp, loopback_local>;

/** A channel of type `Chat<socket>` on one end of a connected pair, and the peer's socket on
    the other, both on the fixture's own io_context. The channel is not started.
*/
template <class Loopback, template <class> class Chat>
struct channel_pair
{
    using socket = typename Loopback::socket;
    using chat = Chat<socket>;

    asio::io_context io;
    socket peer{io};
    std::shared_ptr<chat> channel;

    /// `buffer_size`, if not 0, pins the channel's send buffer and the peer's receive buffer:
    /// output then stays queued until the peer reads, whatever the kernel's buffer tuning.
    explicit channel_pair(std::size_t buffer_size = 0)
    {
        auto [client, server] = Loopback::pair(io);
        if (buffer_size != 0)
        {
            server.set_option(asio::socket_base::send_buffer_size(static_cast<int>(buffer_size)));
            client.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(buffer_size))
            );
        }
        peer = std::move(client);
        channel = std::make_shared<chat>(std::move(server));
    }

    bool closed() const { return !channel->connected(); }
};

/** Connect to `server`, send `request`, shut down sending, and read until EOF, on an
    io_context of its own and within `timeout` in all.

    @return What was read, or "error: <what failed>" (connect, write, read or the deadline).
*/
std::string exchange_once(
    asio::ip::tcp::endpoint const& server,
    std::string const& request,
    std::chrono::steady_clock::duration timeout = 10s
);

/// The what() of the exception in `error` ("unknown exception" for other types).
std::string what(std::exception_ptr const& error);

/// Read everything from `s` until EOF, blocking, giving up after 10 s without a byte
/// (SO_RCVTIMEO): for a peer thread whose socket the test's io_context does not run.
std::string read_to_eof(asio::ip::tcp::socket& s);

/// Read everything from `s` until EOF, blocking (for server threads with their own sockets).
template <class Socket>
std::string read_all(Socket& s)
{
    std::string out;
    char buf[4096];
    boost::system::error_code ec;
    for (;;)
    {
        std::size_t n = s.read_some(asio::buffer(buf), ec);
        if (ec)
            return out;
        out.append(buf, n);
    }
}

} // namespace asynchat::test

#endif
