// asynchat: how the API takes bytes from string literals and C strings
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_BYTES_HPP
#define ASYNCHAT_DETAIL_BYTES_HPP

#include <cstddef>
#include <type_traits>

namespace asynchat::detail {

/// The byte count of a char array: a string literal's length without its closing NUL (embedded
/// NULs kept: "a\0b" is three bytes), a const array's whole size if it does not end in NUL.
template <std::size_t N>
constexpr std::size_t array_bytes(char const (&s)[N]) noexcept
{
    return N != 0 && s[N - 1] == '\0' ? N - 1 : N;
}

/// The byte count of a writable char array: a buffer filled by snprintf(), strcpy()..., so a C
/// string: up to its first NUL, or its whole size if it has none.
template <std::size_t N>
constexpr std::size_t buffer_bytes(char (&s)[N]) noexcept
{
    std::size_t n = 0;
    while (n != N && s[n] != '\0')
        ++n;
    return n;
}

/// True for `char const*` and `char*`: NUL-terminated strings, taken up to their first NUL.
template <class T>
inline constexpr bool is_c_string_v =
    std::is_pointer_v<T>&& std::is_same_v<std::remove_cv_t<std::remove_pointer_t<T>>, char>;

} // namespace asynchat::detail

#endif
