// asynchat: the library's error codes and their category
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_ERROR_HPP
#define ASYNCHAT_ERROR_HPP

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace asynchat {

/** Errors the library reports to handle_error(), as a `boost::system::system_error`.

    Its code compares equal to the enumerator: `ec == asynchat::error::message_too_long`
    (boost::system::is_error_code_enum is specialised for this type). Values start at 1, since 0
    means success.

    @par Python
    None: CPython's asynchat has no error of its own.
*/
enum class error
{
    /** More than max_message_size() bytes were collected without reaching the terminator.

        @par Python
        None: CPython collects without limit.
    */
    message_too_long = 1,

    /** start_tls() was called with plaintext bytes received after the upgrade command, which
        must not be taken as if they had come under TLS (a STARTTLS command injection, as in
        Postfix's CVE-2011-0411); the channel closes.

        @par Python
        None: asynchat has no TLS.
    */
    plaintext_after_starttls,
};

/** The "asynchat" error category, whose codes are the values of asynchat::error.

    @return The same object on every call; its message() describes each asynchat::error.

    @par Thread safety
    Safe to call from any thread.
*/
boost::system::error_category const& error_category() noexcept;

/** Make an error_code of the "asynchat" category; Boost.System finds it by argument-dependent
    lookup when an asynchat::error is converted to a `boost::system::error_code`.

    @param e The error.
    @return `{static_cast<int>(e), error_category()}`.

    @par Thread safety
    Safe to call from any thread.
*/
inline boost::system::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace asynchat

namespace boost::system {

template <>
struct is_error_code_enum<asynchat::error> : std::true_type
{
};

} // namespace boost::system

#endif
