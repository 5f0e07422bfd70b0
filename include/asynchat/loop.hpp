// asynchat: loop, close_all and channel_count: asyncore's module functions
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_LOOP_HPP
#define ASYNCHAT_LOOP_HPP

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace asynchat {

/** Run `io` the way asyncore.loop() runs its polling loop.

    Each pass re-evaluates readable()/writable() of every channel, waits up to `timeout` for an
    event, then runs every handler that is ready. It returns when `count` passes are done or no
    channel (async_chat, dispatcher or file_dispatcher) is left open. Handlers of unrelated
    Asio objects on `io` run too; other threads may run `io` at the same time.

    A pass that finds nothing ready sleeps in the reactor for its whole `timeout`, so an idle
    loop() uses no CPU. A pass that runs a handler (an event, a posted handler, a channel's
    start()) does not wait, as select() returns at once when a socket is ready; the loop's own
    bookkeeping never counts as one. A handle that stays ready while its handler moves no bytes
    (see dispatcher_base::idle_retry) is served once per pass but does not count either: such a
    pass waits up to dispatcher_base::idle_retry instead of spinning.

    @param io The io_context whose channels are served (its channel map is asyncore's map).
    @param timeout The longest a pass waits for an event, a steady_clock duration (any
    `std::chrono` duration converts); a zero timeout makes each pass a poll.
    @param count The number of passes to make, or `std::nullopt` to run until no channel is
    left open. A count of 0 makes no pass.
    @return The number of passes made.
    @throws Whatever a handler run on `io` throws, as io_context::run() does. The hooks of
    channels never do: their exceptions go to the channel's handle_error().

    @par Python
    asyncore.loop(timeout=30.0, use_poll=False, map=None, count=None). `use_poll` has no
    equivalent (Asio picks the reactor); `map` is `io`: each io_context has its own channel map.
    asyncore spins at 100% CPU while a channel stays ready without progress; this loop does not.

    @par Thread safety
    Call it from any thread. Other threads may run `io` meanwhile (with `io.run()` or loop());
    handlers then run on whichever thread the channels' executors allow.

    @par Executor
    Runs handlers of `io` on the calling thread, as `io.run()` does; it does not stop `io`, and
    restarts it if it had stopped.
*/
std::size_t loop(
    boost::asio::io_context& io,
    std::chrono::steady_clock::duration timeout = std::chrono::seconds(30),
    std::optional<std::size_t> count = std::nullopt
);

/** Close every channel of `io` and empty its channel map.

    Channels close on their executors: at once for those whose executor is the calling thread,
    otherwise when `io` next runs. They leave the map at once, as in asyncore. Each is closed
    with its close(), which calls no hook. A socket channel's lingering close (see
    basic_async_chat::lingering_time) may keep `io` busy after this, for at most
    `lingering_time`, while the peer has not closed its side; channel_count() is 0 meanwhile.

    The channels closed are those in the map at the call. Called from another thread while a
    listener's handle_accept() runs, it can miss the channel that handler starts after it:
    close the listeners first, on their executors (or call close_all() there), and then the
    rest. Channels started after the call stay open, as in asyncore.

    @param io The io_context whose channels are closed.

    @par Python
    asyncore.close_all(map=None, ignore_all=False). close() reports no error, so nothing is
    raised and there is no `ignore_all`.

    @par Thread safety
    Safe to call from any thread, also while other threads run `io`.
*/
void close_all(boost::asio::io_context& io);

/** The number of open channels of `io` (started and not yet closed).

    Counts every async_chat, dispatcher and file_dispatcher of `io`'s execution context, whatever
    its executor.

    @param io The io_context whose channels are counted.
    @return The count at the time of the call; other threads may change it at once.

    @par Python
    len(asyncore.socket_map).

    @par Thread safety
    Safe to call from any thread, also while other threads run `io`.
*/
std::size_t channel_count(boost::asio::io_context& io);

/** The open channels of `io` that are a `T`: a snapshot of the channel map.

    The channels started (or connected) and not yet closed at the time of the call whose
    dynamic type is, or derives from, `T`, in no particular order. The snapshot holds them, so
    they stay alive while it lives; one may close meanwhile (close() is harmless then). Medusa's
    zombie reaper, on a `steady_timer` of `io`:

    @code
    for (auto& channel : asynchat::channels<http_channel>(io))
        if (now - channel->last_io_time() > timeout)
            channel->close();
    @endcode

    @tparam T A channel class: async_chat, dispatcher, file_dispatcher, a class derived from them
    (the program's own), dispatcher_base for every dispatcher of either handle, or
    channel_logger for every channel.
    @param io The io_context whose channel map is read (channels whose executor belongs to it).
    @return `std::shared_ptr`s to the channels.

    @par Python
    `[c for c in asyncore.socket_map.values() if isinstance(c, T)]`. A file_dispatcher is
    an instance of dispatcher in Python, not here: `channels<dispatcher_base>` takes both.

    @par Thread safety
    Safe from any thread: the map is locked while it is copied. What is then called on a
    channel follows that channel's rules: close(), last_io_time(), bytes_received() and
    bytes_sent() from any thread, the rest on the channel's executor (a handler of `io` that
    runs on one thread, such as the timer above, is already there).
*/
template <class T>
std::vector<std::shared_ptr<T>> channels(boost::asio::io_context& io);

} // namespace asynchat

#include <asynchat/impl/loop.hpp>

#endif
