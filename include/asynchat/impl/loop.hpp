// asynchat: loop.hpp template definitions
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_IMPL_LOOP_HPP
#define ASYNCHAT_IMPL_LOOP_HPP

#include <asynchat/detail/channel_map.hpp>

#include <type_traits>
#include <utility>

namespace asynchat {

template <class T>
std::vector<std::shared_ptr<T>> channels(boost::asio::io_context& io)
{
    static_assert(std::is_class_v<T>, "asynchat::channels<T>: T is a channel class");
    std::vector<std::shared_ptr<T>> out;
    // The map hands out its entries as their common base; dynamic_pointer_cast finds the T in
    // each (a cross cast too, for a T that is another base of the channel's class).
    for (auto const& channel : detail::channel_map::of(io).snapshot())
        if (auto t = std::dynamic_pointer_cast<T>(channel))
            out.push_back(std::move(t));
    return out;
}

} // namespace asynchat

#endif
