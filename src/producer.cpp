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

} // namespace asynchat
