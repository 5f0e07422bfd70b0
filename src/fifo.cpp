// asynchat: fifo
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/fifo.hpp>

#include <stdexcept>
#include <utility>

namespace asynchat {

fifo::fifo(std::deque<std::string> list) : list_(std::move(list)) {}

std::size_t fifo::size() const noexcept { return list_.size(); }

bool fifo::is_empty() const noexcept { return list_.empty(); }

const std::string& fifo::first() const
{
    if (list_.empty())
        throw std::out_of_range("asynchat::fifo::first: the fifo is empty");
    return list_.front();
}

void fifo::push(std::string data) { list_.push_back(std::move(data)); }

std::optional<std::string> fifo::pop()
{
    if (list_.empty())
        return std::nullopt;
    std::optional<std::string> item(std::move(list_.front()));
    list_.pop_front();
    return item;
}

} // namespace asynchat
