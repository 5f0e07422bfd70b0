// asynchat: test kit: running an io_context until something holds, with a deadline
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_RUN_HPP
#define ASYNCHAT_TESTING_RUN_HPP

#include <asynchat/testing/manual_clock.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace asynchat::testing {

/** Run `io` on this thread until `done()` holds or `timeout` has passed.

    `done()` is asked before the first handler and after each one, so the call returns as soon
    as the handler that made it true has run, not at the end of a time slice. Waiting for
    another thread (which runs no handler of `io`), it is asked at least every 5 ms. A stopped
    `io` is restarted, so it may be called again and again on one io_context.

    @param io The io_context; no other thread may run it meanwhile.
    @param done A callable `bool()`, asked on this thread between handlers.
    @param timeout The longest wait, in real time.
    @return done(): false if the deadline passed first, so that a bug fails the test with a
    message instead of hanging it.

    @par Python
    No equivalent: CPython's tests poll with `asyncore.loop(timeout=0.01, count=1)` and
    `time.sleep()`.

    @par Executor
    Runs the handlers of `io` on the calling thread.
*/
template <class Done>
bool run_until(
    boost::asio::io_context& io,
    Done&& done,
    std::chrono::steady_clock::duration timeout = std::chrono::seconds(10)
)
{
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (!done())
    {
        auto const now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return false;
        if (io.stopped())
            io.restart();
        if (io.run_one_for(std::min<std::chrono::steady_clock::duration>(
                deadline - now, std::chrono::milliseconds(5)
            )) == 0 &&
            io.stopped())
            std::this_thread::yield(); // no work at all: only another thread can help
    }
    return true;
}

/** Run `io` until it has no more work, for at most `timeout` of real time.

    @return True if it ran out of work, false if the deadline passed first.

    @par Executor
    Runs the handlers of `io` on the calling thread; no other thread may run it meanwhile.
*/
inline bool run_to_completion(
    boost::asio::io_context& io,
    std::chrono::steady_clock::duration timeout = std::chrono::seconds(10)
)
{
    if (io.stopped())
        io.restart();
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
    {
        io.run_for(std::chrono::milliseconds(5));
        if (io.stopped())
            return true;
    }
    return false;
}

/** Run every handler of `io` that is ready now, and those they make ready, until none is; do
    not wait for anything else.

    Sockets are polled without waiting, and the timers due are fired, those on manual_clock
    included (Asio's reactor otherwise looks at them only every millisecond of real time): after
    manual_clock::advance(), settle() runs exactly what the new time made due, so a test checks
    that a timeout has not fired yet without waiting real time for it.

    @param io The io_context; no other thread may run it meanwhile.
    @param limit The most handlers to run: more means handlers that keep one another ready.
    @return The number of handlers run (settle's own timer not counted).
    @throws std::runtime_error if `limit` handlers ran and more were still ready.

    @par Executor
    Runs the handlers of `io` on the calling thread.
*/
inline std::size_t settle(boost::asio::io_context& io, std::size_t limit = 1000000)
{
    // A timer due now makes the reactor look at every timer queue at once (Asio re-arms its
    // timer descriptor for the earliest expiry of all queues): the timers on manual_clock that
    // the clock's last advance made due fire in this same pass.
    auto fired = std::make_shared<bool>(false);
    manual_timer poke(io);
    poke.expires_at(manual_clock::now());
    poke.async_wait([fired](boost::system::error_code const&) { *fired = true; });
    std::size_t total = 0;
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;)
    {
        if (io.stopped())
            io.restart();
        std::size_t const n = io.poll();
        total += n;
        if (n == 0 && *fired)
            return total - 1;
        if (total >= limit)
            throw std::runtime_error(
                "asynchat::testing::settle: " + std::to_string(total) +
                " handlers ran and more are ready (handlers that keep one another ready?)"
            );
        if (n == 0 && std::chrono::steady_clock::now() >= deadline)
            throw std::runtime_error("asynchat::testing::settle: a timer due now did not fire");
    }
}

/** settle() `io`, advance manual_clock by `d`, then settle() `io` again: every timer the new
    time makes due fires, with whatever it sets off, before the call returns.

    The first settle() runs what was ready before the time moves: a `start()` called from the
    test's thread is posted, and the timeouts it sets count from when it runs.

    @param io The io_context of the timers; no other thread may run it meanwhile.
    @param d How far to move the clock (non-negative).
    @return The number of handlers run.
    @throws std::runtime_error as settle() does.

    @par Python
    Twisted's `task.Clock.advance(d)`; asyncore has no timers.

    @par Executor
    Runs the handlers of `io` on the calling thread.
*/
inline std::size_t advance(boost::asio::io_context& io, manual_clock::duration d)
{
    // What is ready first (a start() just posted, which starts the clocks of its timeouts),
    // so that the time moves after it, as it would for a program that waited.
    std::size_t const before = settle(io);
    manual_clock::advance(d);
    return before + settle(io);
}

} // namespace asynchat::testing

#endif
