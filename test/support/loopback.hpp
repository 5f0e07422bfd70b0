// asynchat: test fixtures: loopback sockets, listeners, channel pairs, bounded io_context runs
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_LOOPBACK_HPP
#define ASYNCHAT_TEST_SUPPORT_LOOPBACK_HPP

#include <asynchat/testing/connected_pair.hpp>
#include <asynchat/testing/run.hpp>

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

// The kit's connected pairs and bounded runs (include/asynchat/testing/), under the names the
// tests use.
using asynchat::testing::read_to_eof;
using asynchat::testing::run_to_completion;
using asynchat::testing::run_until;
using asynchat::testing::settle;

/// TCP on 127.0.0.1, an ephemeral port.
using loopback_tcp = asynchat::testing::tcp_v4;

/// Unix stream sockets: socketpair(), or a listener on a fresh path in the temporary directory.
using loopback_local = asynchat::testing::unix_stream;

/// Both kinds of loopback, for `BOOST_AUTO_TEST_CASE_TEMPLATE(name, Loopback, transports)`.
using transports = boost::mpl::list<loopback_tcp, loopback_local>;

/** A channel of type `Chat<socket>` on one end of a connected pair, and the peer's socket on
    the other, both on the fixture's own io_context. The channel is not started. `Chat` may have
    more, defaulted, parameters (`chat<Stream, Timer = steady_timer>`): clang 14 matches such a
    template only to a variadic template template parameter.
*/
template <class Loopback, template <class...> class Chat>
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

} // namespace asynchat::test

#endif
