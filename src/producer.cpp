// asynchat: simple_producer
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/producer.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace asynchat {

simple_producer::simple_producer(std::string data, std::size_t buffer_size)
    : data_(std::move(data)), buffer_size_(buffer_size)
{
    if (buffer_size_ == 0 && !data_.empty())
        throw std::invalid_argument(
            "asynchat::simple_producer: buffer_size must be greater than 0 for non-empty data"
        );
}

std::string simple_producer::more()
{
    // Hand out pieces by offset instead of re-slicing the rest as CPython does, which copies the
    // remaining data on every call (quadratic in the data size).
    if (offset_ == 0 && data_.size() <= buffer_size_)
        return std::exchange(data_, std::string());
    std::string piece = data_.substr(offset_, buffer_size_);
    offset_ += piece.size();
    if (offset_ == data_.size())
    {
        data_.clear();
        offset_ = 0;
    }
    return piece;
}

composite_producer::composite_producer(std::vector<std::unique_ptr<producer>> producers)
    : producers_(std::move(producers))
{
    for (auto const& p : producers_)
    {
        if (!p)
            throw std::invalid_argument("asynchat::composite_producer: null producer");
        adopt(*p);
    }
}

std::string composite_producer::more()
{
    while (next_ != producers_.size())
    {
        std::string piece = pull(*producers_[next_]);
        if (!piece.empty())
            return piece;
        if (producers_[next_]->waiting())
            return not_ready();
        producers_[next_++].reset(); // exhausted: let it go now, as Medusa's pop(0) does
    }
    return {};
}

bool composite_producer::read_ahead() const noexcept
{
    for (std::size_t i = next_; i != producers_.size(); ++i)
        if (!producers_[i]->read_ahead())
            return false;
    return true;
}

} // namespace asynchat
