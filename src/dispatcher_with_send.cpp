// asynchat: dispatcher_with_send
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/dispatcher_with_send.hpp>

#include <algorithm>

namespace asynchat {

std::size_t dispatcher_with_send::send(std::string_view data)
{
    out_buffer_.append(data);
    initiate_send();
    return data.size();
}

void dispatcher_with_send::initiate_send()
{
    std::size_t const n = std::min<std::size_t>(pending(), 65536);
    sent_ += dispatcher::send(std::string_view(out_buffer_).substr(sent_, n));
    // Drop the sent prefix once it is the larger part, so that the copy stays linear overall.
    if (sent_ == out_buffer_.size())
    {
        out_buffer_.clear();
        sent_ = 0;
    }
    else if (sent_ > out_buffer_.size() / 2)
    {
        out_buffer_.erase(0, sent_);
        sent_ = 0;
    }
}

} // namespace asynchat
