// asynchat: the terminator type shared by async_chat and its input scanner
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TERMINATOR_HPP
#define ASYNCHAT_TERMINATOR_HPP

#include <cstddef>
#include <string>
#include <variant>

namespace asynchat {

/** What ends an incoming message.

    - `std::monostate`: None. Everything received is collected; found_terminator() is never called.
    - `std::string`: a delimiter of any length; found_terminator() is called after each occurrence,
      which is not itself collected.
    - `std::size_t`: a byte count. async_chat counts it down as bytes arrive and calls
      found_terminator() when it reaches 0.

    As in CPython, the "falsy" terminators `""` and `0` behave like None: everything is collected.

    @par Python
    The value of `async_chat.terminator`: `None`, `bytes` or `int`.
*/
using terminator = std::variant<std::monostate, std::string, std::size_t>;

} // namespace asynchat

#endif
