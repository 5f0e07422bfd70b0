// asynchat: test kit: bytes written out readably, for failure messages
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_ESCAPED_HPP
#define ASYNCHAT_TESTING_ESCAPED_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace asynchat::testing {

namespace detail {

// `n` and the noun, singular for one: "1 byte", "2 bytes".
inline std::string counted(std::size_t n, char const* noun)
{
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

} // namespace detail

/** `bytes` as a quoted C string literal: printable ASCII as is, `\r`, `\n`, `\t`, `\0`, `\\`
    and `\"` escaped, any other byte as `\xNN`; longer than `max_bytes`, the middle is left out
    and the number of bytes left out is said.

    @param bytes Any bytes.
    @param max_bytes How many bytes to show at most (the first and the last halves).
    @return The literal, e.g. `"GET / HTTP/1.0\r\n"`.

    @par Python
    repr() of a bytes object, with C's escapes.
*/
inline std::string escaped(std::string_view bytes, std::size_t max_bytes = 400)
{
    auto put = [](std::string& out, unsigned char c)
    {
        static char const hex[] = "0123456789abcdef";
        switch (c)
        {
        case '\r':
            out += "\\r";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\t':
            out += "\\t";
            return;
        case '\0':
            out += "\\0";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '"':
            out += "\\\"";
            return;
        default:
            if (c >= 0x20 && c < 0x7f)
                out += static_cast<char>(c);
            else
            {
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            }
        }
    };
    std::string out = "\"";
    if (bytes.size() <= max_bytes)
    {
        for (char c : bytes)
            put(out, static_cast<unsigned char>(c));
    }
    else
    {
        std::size_t const half = max_bytes / 2;
        for (char c : bytes.substr(0, half))
            put(out, static_cast<unsigned char>(c));
        out += "\"... (" + detail::counted(bytes.size() - 2 * half, "byte") + " left out) ...\"";
        for (char c : bytes.substr(bytes.size() - half))
            put(out, static_cast<unsigned char>(c));
    }
    out += '"';
    return out;
}

} // namespace asynchat::testing

#endif
