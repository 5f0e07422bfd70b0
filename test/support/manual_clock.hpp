// asynchat: test support: a clock the test moves by hand, and an Asio timer on it
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_MANUAL_CLOCK_HPP
#define ASYNCHAT_TEST_SUPPORT_MANUAL_CLOCK_HPP

#include <boost/asio/basic_waitable_timer.hpp>

#include <atomic>
#include <chrono>

namespace asynchat::test {

/** A steady clock that only moves when a test calls advance(): a channel whose timeouts run on
    manual_timer times out when the test says so, not after a real wait.

    Time is shared by the whole test program and never goes back, so tests use it relatively
    (`now() + 30s`).
*/
struct manual_clock
{
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<manual_clock>;
    static constexpr bool is_steady = true;

    static time_point now() noexcept { return time_point(duration(ticks.load())); }

    /// Move the clock forward by `d`; the timers due by then fire within a millisecond.
    static void advance(duration d) noexcept { ticks += d.count(); }

    static inline std::atomic<rep> ticks{0};
};

/** How long Asio's reactor sleeps before it looks at a manual_timer again: at most 1 ms of real
    time, since the clock may be advanced meanwhile. A timer fires only once now() reaches its
    expiry, however long the test runs: a check that it has not fired cannot flake.
*/
struct manual_wait_traits
{
    static manual_clock::duration to_wait_duration(manual_clock::duration d)
    {
        return d <= d.zero() ? d.zero()
                             : std::min<manual_clock::duration>(d, std::chrono::milliseconds(1));
    }
    static manual_clock::duration to_wait_duration(manual_clock::time_point t)
    {
        return to_wait_duration(t - manual_clock::now());
    }
};

/// An Asio timer on manual_clock (the channel's Timer parameter in timeout tests).
using manual_timer = boost::asio::basic_waitable_timer<manual_clock, manual_wait_traits>;

} // namespace asynchat::test

#endif
