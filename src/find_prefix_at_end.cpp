// asynchat: find_prefix_at_end
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/find_prefix_at_end.hpp>

#include <algorithm>

namespace asynchat {

std::size_t find_prefix_at_end(std::string_view haystack, std::string_view needle) noexcept
{
    if (needle.empty())
        return 0;
    // Try the longest candidate first, as CPython's loop does; a prefix longer than the haystack
    // cannot end it, so start no higher than its size.
    for (std::size_t len = std::min(needle.size() - 1, haystack.size()); len > 0; --len)
    {
        if (haystack.compare(haystack.size() - len, len, needle.substr(0, len)) == 0)
            return len;
    }
    return 0;
}

} // namespace asynchat
