// asynchat: the pieces of one gathered write, as the channel hands them to Asio
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_WRITE_PIECES_HPP
#define ASYNCHAT_DETAIL_WRITE_PIECES_HPP

#include <boost/asio/buffer.hpp>
#include <boost/assert.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace asynchat::detail {

/** What output_queue::prepare() fills for the channel: a vector of Asio buffers with room for
    one inline, as most writes are one piece (small pushes coalesce), which then needs no
    allocation. Storage grown for more pieces is kept, as a vector keeps its capacity.

    32 bytes, where boost::container::small_vector<const_buffer, 1> takes 40: a channel carries
    it while idle.
*/
class write_pieces
{
public:
    using value_type = boost::asio::const_buffer;
    using iterator = value_type const*;
    using const_iterator = value_type const*;

    write_pieces() noexcept = default;
    write_pieces(write_pieces const&) = delete;
    write_pieces& operator=(write_pieces const&) = delete;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    void clear() noexcept { size_ = 0; }

    value_type const* data() const noexcept { return heap_ ? heap_.get() : &one_; }
    value_type const* begin() const noexcept { return data(); }
    value_type const* end() const noexcept { return data() + size_; }
    value_type const& front() const noexcept
    {
        BOOST_ASSERT(size_ != 0);
        return data()[0];
    }
    value_type const& operator[](std::size_t i) const noexcept
    {
        BOOST_ASSERT(i < size_);
        return data()[i];
    }
    value_type const& at(std::size_t i) const
    {
        if (i >= size_)
            throw std::out_of_range("asynchat::detail::write_pieces::at");
        return data()[i];
    }

    /// Append the piece of `n` bytes at `p`.
    void emplace_back(void const* p, std::size_t n)
    {
        if (size_ == capacity_)
            grow();
        (heap_ ? heap_.get() : &one_)[size_++] = value_type(p, n);
    }

private:
    void grow()
    {
        if (capacity_ > UINT32_MAX / 2)
            throw std::length_error("asynchat::detail::write_pieces: too many pieces");
        std::uint32_t const capacity = std::max<std::uint32_t>(8, 2 * capacity_);
        auto bigger = std::make_unique<value_type[]>(capacity);
        std::copy(begin(), end(), bigger.get());
        heap_ = std::move(bigger);
        capacity_ = capacity;
    }

    std::unique_ptr<value_type[]> heap_; // null while the inline piece is the storage
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = 1;
    value_type one_;
};

} // namespace asynchat::detail

#endif
