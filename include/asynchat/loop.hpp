// asynchat: loop, close_all and channel_count: asyncore's module functions
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_LOOP_HPP
#define ASYNCHAT_LOOP_HPP

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <optional>

namespace asynchat {

/** Run `io` the way asyncore.loop() runs its polling loop.

    Each pass re-evaluates readable()/writable() of every channel, waits up to `timeout` for an
    event, then runs every handler that is ready. It returns when `count` passes are done or no
    channel (async_chat or dispatcher) is left open. Handlers of unrelated Asio objects on `io`
    run too; other threads may run `io` at the same time.

    @return The number of passes made.

    @par Python
    asyncore.loop(timeout=30.0, use_poll=False, map=None, count=None). `use_poll` has no
    equivalent (Asio picks the reactor); `map` is `io`: each io_context has its own channel map.
*/
std::size_t loop(
    boost::asio::io_context& io,
    std::chrono::steady_clock::duration timeout = std::chrono::seconds(30),
    std::optional<std::size_t> count = std::nullopt
);

/** Close every channel of `io` and empty its channel map.

    Channels close on their executors: at once for those whose executor is the calling thread,
    otherwise when `io` next runs. They leave the map at once, as in asyncore.

    @par Python
    asyncore.close_all(map=None).
*/
void close_all(boost::asio::io_context& io);

/** The number of open channels of `io` (started and not yet closed).

    @par Python
    len(asyncore.socket_map).
*/
std::size_t channel_count(boost::asio::io_context& io);

} // namespace asynchat

#endif
