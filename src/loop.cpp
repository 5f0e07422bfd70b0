// asynchat: loop, close_all, channel_count
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/loop.hpp>

#include <asynchat/detail/channel_map.hpp>

#include <boost/asio/steady_timer.hpp>

namespace asynchat {

std::size_t loop(
    boost::asio::io_context& io,
    std::chrono::steady_clock::duration timeout,
    std::optional<std::size_t> count
)
{
    auto& map = detail::channel_map::of(io);
    // The timer is work of its own, so that a pass waits `timeout` even when no channel has an
    // operation pending (all predicates false), as select() with empty sets sleeps in asyncore.
    boost::asio::steady_timer timer(io);
    detail::channel_map::loop_scope scope(map);
    std::size_t passes = 0;
    while ((!count || passes < *count) && map.size() != 0)
    {
        scope.next_pass();
        auto const channels = map.snapshot();
        for (auto const& channel : channels)
            channel->map_refresh();
        if (io.stopped())
            io.restart();
        timer.expires_after(timeout);
        timer.async_wait([](boost::system::error_code) {});
        // Run the refreshes (one posted handler per channel) and whatever else is ready; if
        // nothing else was, wait for the first event.
        if (io.poll() <= channels.size())
            io.run_one_for(timeout);
        io.poll();
        timer.cancel();
        ++passes;
    }
    // Let the cancelled timer's handler run, so that it does not count as work later.
    if (io.stopped())
        io.restart();
    io.poll();
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
