// asynchat: loop, close_all, channel_count
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/channel_map.hpp>
#include <asynchat/dispatcher_base.hpp>
#include <asynchat/loop.hpp>

#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <cstdint>

namespace asynchat {

std::size_t loop(
    boost::asio::io_context& io,
    std::chrono::steady_clock::duration timeout,
    std::optional<std::size_t> count
)
{
    auto& map = detail::channel_map::of(io);
    // Work of the loop's own, so that a pass waits `timeout` even when no channel has an
    // operation pending (all predicates false), as select() with empty sets sleeps in asyncore.
    // A guard and not a timer: a timer leaves a completion behind whenever it is cancelled or
    // re-armed, and that completion ran in the next pass as if it were an event, so that pass
    // did not wait either, and so on: an idle loop() took a whole core.
    auto work = boost::asio::make_work_guard(io);
    detail::channel_map::loop_scope scope(map);
    std::size_t passes = 0;
    while ((!count || passes < *count) && map.size() != 0)
    {
        scope.next_pass();
        std::uint64_t const idle_before = map.idle_events();
        auto const channels = map.snapshot();
        for (auto const& channel : channels)
            channel->map_refresh();
        if (io.stopped())
            io.restart();
        // Run the refreshes and whatever else is ready. A pass skips its wait only if an event
        // ran: the loop's own handlers are not events, so that nothing can make the next pass
        // skip its wait in turn. They are the refreshes (one handler per channel at most) and
        // the events the refreshes repeat for handles that stay ready while their handler does
        // no I/O (dispatcher "idle" events, one per pass). A pass that had such an event waits
        // at most dispatcher::idle_retry: asyncore's select() would not have waited at all, and
        // a busy loop is what this avoids.
        std::size_t const ran = io.poll();
        std::uint64_t const idle = map.idle_events() - idle_before;
        if (ran <= channels.size() + idle)
        {
            auto const wait = idle == 0 ? timeout
                                        : std::min<std::chrono::steady_clock::duration>(
                                              timeout, dispatcher_base::idle_retry
                                          );
            io.run_one_for(wait);
        }
        io.poll();
        ++passes;
    }
    return passes;
}

void close_all(boost::asio::io_context& io)
{
    for (auto const& channel : detail::channel_map::of(io).take_all())
        channel->map_close();
}

std::size_t channel_count(boost::asio::io_context& io)
{
    return detail::channel_map::of(io).size();
}

} // namespace asynchat
