// asynchat: the channel map service
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/channel_map.hpp>

#include <utility>

namespace asynchat::detail {

boost::asio::execution_context::id channel_map::id;

channel_map::channel_map(boost::asio::execution_context& ctx)
    : boost::asio::execution_context::service(ctx)
{
}

void channel_map::add(void const* key, std::weak_ptr<channel_base> channel)
{
    std::lock_guard<std::mutex> lock(mutex_);
    channels_[key] = std::move(channel);
}

void channel_map::remove(void const* key) noexcept
{
    std::lock_guard<std::mutex> lock(mutex_);
    channels_.erase(key);
}

void channel_map::prune()
{
    for (auto it = channels_.begin(); it != channels_.end();)
        it = it->second.expired() ? channels_.erase(it) : std::next(it);
}

std::size_t channel_map::size()
{
    std::lock_guard<std::mutex> lock(mutex_);
    prune();
    return channels_.size();
}

std::vector<std::shared_ptr<channel_base>> channel_map::snapshot()
{
    std::vector<std::shared_ptr<channel_base>> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.reserve(channels_.size());
    for (auto const& entry : channels_)
        if (auto channel = entry.second.lock())
            out.push_back(std::move(channel));
    return out;
}

std::vector<std::shared_ptr<channel_base>> channel_map::take_all()
{
    std::unordered_map<void const*, std::weak_ptr<channel_base>> taken;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        taken.swap(channels_);
    }
    std::vector<std::shared_ptr<channel_base>> out;
    for (auto const& entry : taken)
        if (auto channel = entry.second.lock())
            out.push_back(std::move(channel));
    return out;
}

void channel_map::shutdown()
{
    // The entries are weak: the channels die with the handlers the io_context destroys. Drop the
    // entries outside the lock anyway, so that nothing runs under it.
    std::unordered_map<void const*, std::weak_ptr<channel_base>> dropped;
    std::lock_guard<std::mutex> lock(mutex_);
    dropped.swap(channels_);
}

} // namespace asynchat::detail
