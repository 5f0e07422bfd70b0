// asynchat: find_prefix_at_end, the helper async_chat uses to keep partial terminators
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_FIND_PREFIX_AT_END_HPP
#define ASYNCHAT_FIND_PREFIX_AT_END_HPP

#include <cstddef>
#include <string_view>

namespace asynchat {

/** Return the length of the longest proper prefix of `needle` that ends `haystack`.

    Only proper prefixes count (at most `needle.size() - 1` bytes): a whole needle at the end is a
    match, which the caller finds with `find` first.

    @param haystack The bytes received so far.
    @param needle The terminator.
    @return 0 when no prefix of `needle` ends `haystack`.

    @par Python
    asynchat.find_prefix_at_end(haystack, needle). CPython returns -1 for an empty needle (an
    artefact of its loop); this returns 0, as an empty needle has no proper prefix.

    @par Thread safety
    A pure function: safe from any thread.
*/
std::size_t find_prefix_at_end(std::string_view haystack, std::string_view needle) noexcept;

} // namespace asynchat

#endif
