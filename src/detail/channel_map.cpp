// asynchat: the channel map service
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/channel_map.hpp>

#include <new>
#include <stdexcept>
#include <utility>

namespace asynchat::detail {

boost::asio::execution_context::id channel_map::id;

channel_map::channel_map(boost::asio::execution_context& ctx)
    : boost::asio::execution_context::service(ctx)
{
}

void channel_map::add(std::uint32_t& slot, std::weak_ptr<channel_base> const& channel)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto& channels = slots_.channels;
    if (slot < channels.size() && same(channels[slot], channel))
        return;
    if (slots_.free.empty())
    {
        if (channels.size() >= no_slot)
            throw std::length_error("asynchat: more than 2^32 - 1 channels in one channel map");
        channels.emplace_back(channel);
        slot = static_cast<std::uint32_t>(channels.size() - 1);
    }
    else
    {
        slot = slots_.free.back();
        slots_.free.pop_back();
        channels[slot] = channel;
    }
    ++slots_.live;
}

void channel_map::remove(std::uint32_t& slot, std::weak_ptr<channel_base> const& channel) noexcept
{
    std::weak_ptr<channel_base> dropped; // released outside the lock
    std::lock_guard<std::mutex> lock(mutex_);
    auto& channels = slots_.channels;
    if (slot < channels.size() && same(channels[slot], channel))
    {
        dropped.swap(channels[slot]);
        free_slot(slot);
    }
    slot = no_slot;
}

void channel_map::free_slot(std::uint32_t slot) noexcept
{
    --slots_.live;
    try
    {
        slots_.free.push_back(slot);
    }
    catch (std::bad_alloc const&)
    {
        // Out of memory: the empty slot is not reused, 16 bytes lost; nothing else changes.
    }
}

void channel_map::prune()
{
    auto& channels = slots_.channels;
    for (std::size_t i = 0; i < channels.size(); ++i)
        if (channels[i].expired() && !same(channels[i], {})) // destroyed, not a free slot
        {
            channels[i].reset();
            free_slot(static_cast<std::uint32_t>(i));
        }
}

std::size_t channel_map::size()
{
    std::lock_guard<std::mutex> lock(mutex_);
    prune();
    return slots_.live;
}

std::vector<std::shared_ptr<channel_base>> channel_map::snapshot()
{
    std::vector<std::shared_ptr<channel_base>> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.reserve(slots_.live);
    for (auto const& entry : slots_.channels)
        if (auto channel = entry.lock())
            out.push_back(std::move(channel));
    return out;
}

std::vector<std::shared_ptr<channel_base>> channel_map::take_all()
{
    slots taken;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        std::swap(taken, slots_);
    }
    std::vector<std::shared_ptr<channel_base>> out;
    for (auto const& entry : taken.channels)
        if (auto channel = entry.lock())
            out.push_back(std::move(channel));
    return out;
}

void channel_map::shutdown()
{
    // The entries are weak: the channels die with the handlers the io_context destroys. Drop the
    // entries outside the lock anyway, so that nothing runs under it.
    slots dropped;
    std::lock_guard<std::mutex> lock(mutex_);
    std::swap(dropped, slots_);
}

} // namespace asynchat::detail
