// asynchat: test kit: a clock the test moves by hand, and an Asio timer on it
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_MANUAL_CLOCK_HPP
#define ASYNCHAT_TESTING_MANUAL_CLOCK_HPP

#include <boost/asio/basic_waitable_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>

namespace asynchat::testing {

/** A steady clock that only moves when a test calls advance().

    A channel whose timeouts run on manual_timer (`basic_async_chat<Stream, manual_timer>`) times
    out when the test says so, not after a real wait: a 30 s idle timeout is tested in
    microseconds, and a check that it has not fired yet cannot flake on a slow machine.

    Time is shared by the whole program and never goes back, so tests use it relatively
    (`now() + 30s`, or advance() by the amount they mean). It starts at the epoch.

    @par Python
    No equivalent in asyncore; Twisted's `task.Clock` (advance()) plays this part there.

    @par Thread safety
    now() and advance() may be called from any thread (an atomic count of ticks).
*/
struct manual_clock
{
    /// The clock's duration: std::chrono::steady_clock's.
    using duration = std::chrono::steady_clock::duration;
    /// The tick count type.
    using rep = duration::rep;
    /// The tick length.
    using period = duration::period;
    /// A point on this clock.
    using time_point = std::chrono::time_point<manual_clock>;
    /// Never goes back.
    static constexpr bool is_steady = true;

    /// The time now: the sum of every advance() so far.
    static time_point now() noexcept { return time_point(duration(ticks_.load())); }

    /** Move the clock forward by `d` (a non-negative duration).

        The timers due by then fire the next time their io_context runs a handler or polls
        (settle(), run_until()), or within a millisecond of real time if it is running on
        another thread meanwhile (see manual_wait_traits).
    */
    static void advance(duration d) noexcept { ticks_ += d.count(); }

private:
    static inline std::atomic<rep> ticks_{0};
};

/** The wait traits of manual_timer: how long Asio's reactor sleeps before it looks at a timer
    on manual_clock again.

    At most 1 ms of real time, since the clock may be advanced meanwhile by another thread; a
    timer already due is waited for zero time. A timer fires only once now() has reached its
    expiry, however long the test runs.
*/
struct manual_wait_traits
{
    /// The real wait for a relative duration `d` on manual_clock: zero, or up to 1 ms.
    static manual_clock::duration to_wait_duration(manual_clock::duration d)
    {
        return d <= d.zero() ? d.zero()
                             : std::min<manual_clock::duration>(d, std::chrono::milliseconds(1));
    }
    /// The real wait for the expiry `t` on manual_clock: zero, or up to 1 ms.
    static manual_clock::duration to_wait_duration(manual_clock::time_point t)
    {
        return to_wait_duration(t - manual_clock::now());
    }
};

/** An Asio timer on manual_clock: the Timer parameter of a channel under test,
    `basic_async_chat<Stream, asynchat::testing::manual_timer>`, or any timer of the test's own.
*/
using manual_timer = boost::asio::basic_waitable_timer<manual_clock, manual_wait_traits>;

} // namespace asynchat::testing

#endif
