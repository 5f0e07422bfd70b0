// asynchat: the sans-I/O input scanner
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/input_scanner.hpp>

#include <boost/smart_ptr/make_unique.hpp>

#include <cstring>
#include <utility>

namespace asynchat::detail {

std::size_t find_multibyte_terminator(std::string_view haystack, std::string_view needle) noexcept
{
    std::size_t const last = needle.size() - 1;
    char const* const begin = haystack.data();
    char const* const end = begin + haystack.size();
    if (haystack.size() < needle.size())
        return std::string_view::npos;
    // memchr is the fastest scan there is: scan for the terminator's last byte and compare the
    // bytes before each hit. In protocol text the last byte of a terminator ('\n' of "\r\n") is
    // rare elsewhere, so this runs at nearly memchr speed, where glibc's memmem (two-way) is
    // several times slower on long messages.
    // After a false hit, the next few bytes are tried directly before memchr is called again:
    // in a terminator like "\r\n\r\n" the first '\n' is such a hit, and its true end is two
    // bytes on (a memchr call costs more than those compares).
    auto const ends_here = [&](char const* q)
    { return *q == needle[last] && std::memcmp(q - last, needle.data(), last) == 0; };
    for (char const* p = begin + last; p < end;)
    {
        auto const* hit =
            static_cast<char const*>(std::memchr(p, needle[last], static_cast<std::size_t>(end - p))
            );
        if (!hit)
            break;
        if (std::memcmp(hit - last, needle.data(), last) == 0)
            return static_cast<std::size_t>(hit - last - begin);
        char const* const near_end =
            end - hit > static_cast<std::ptrdiff_t>(last) ? hit + last + 1 : end;
        for (char const* q = hit + 1; q < near_end; ++q)
            if (ends_here(q))
                return static_cast<std::size_t>(q - last - begin);
        p = near_end;
    }
    return std::string_view::npos;
}

void input_scanner::set_terminator(terminator t) noexcept
{
    term_ = std::move(t);
    ++generation_;
}

char* input_scanner::prepare(std::size_t n, receive_spare& spare)
{
    if (!buffer_ && spare.data && spare.capacity >= n)
    {
        buffer_ = std::move(spare.data);
        capacity_ = std::exchange(spare.capacity, 0);
    }
    return prepare(n);
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
        // Not make_unique, which zeroes the storage: 64 KiB per connection at its first read,
        // for bytes that are only ever read after a read wrote them.
        auto bigger = boost::make_unique_noinit<char[]>(pending_size + n);
        if (pending_size != 0)
            std::memcpy(bigger.get(), buffer_.get() + begin_, pending_size);
        buffer_ = std::move(bigger);
        capacity_ = pending_size + n;
    }
    begin_ = 0;
    end_ = pending_size;
    return buffer_.get() + end_;
}

void input_scanner::commit(std::size_t n) noexcept { end_ += n; }

bool input_scanner::release(receive_spare& spare) noexcept
{
    if (begin_ != end_ || !buffer_)
        return false;
    if (!spare.data)
    {
        spare.data = std::move(buffer_);
        spare.capacity = capacity_;
    }
    buffer_.reset();
    capacity_ = 0;
    begin_ = end_ = 0;
    return true;
}

} // namespace asynchat::detail
