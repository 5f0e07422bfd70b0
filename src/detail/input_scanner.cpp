// asynchat: the sans-I/O input scanner
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/input_scanner.hpp>

#include <cstring>
#include <string.h>
#include <utility>

namespace asynchat::detail {

std::size_t find_terminator(std::string_view haystack, std::string_view needle) noexcept
{
    // memchr is the fastest scan there is for the common one-byte terminator; glibc's memmem
    // (POSIX.1-2024) is a two-way search with memchr-like speed for the multi-byte ones.
    void const* hit = needle.size() == 1
                          ? std::memchr(haystack.data(), needle[0], haystack.size())
                          : ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size());
    return hit ? static_cast<std::size_t>(static_cast<char const*>(hit) - haystack.data())
               : std::string_view::npos;
}

void input_scanner::set_terminator(terminator t) noexcept
{
    term_ = std::move(t);
    ++generation_;
}

char* input_scanner::prepare(std::size_t n)
{
    std::size_t const pending_size = end_ - begin_;
    if (capacity_ - end_ >= n)
        return buffer_.get() + end_;
    if (capacity_ >= pending_size + n)
    {
        // Enough room once the pending bytes (a partial terminator, normally) move to the front.
        std::memmove(buffer_.get(), buffer_.get() + begin_, pending_size);
    }
    else
    {
        // Growth is rare (the first read, or a larger ac_in_buffer_size), so the zeroing done by
        // make_unique costs nothing that matters.
        auto bigger = std::make_unique<char[]>(pending_size + n);
        if (pending_size != 0)
            std::memcpy(bigger.get(), buffer_.get() + begin_, pending_size);
        buffer_ = std::move(bigger);
        capacity_ = pending_size + n;
    }
    begin_ = 0;
    end_ = pending_size;
    return buffer_.get() + end_;
}

void input_scanner::commit(std::size_t n) noexcept
{
    end_ += n;
}

bool input_scanner::release() noexcept
{
    if (begin_ != end_ || !buffer_)
        return false;
    buffer_.reset();
    capacity_ = 0;
    begin_ = end_ = 0;
    return true;
}

} // namespace asynchat::detail
