// asynchat: the library's error codes and their category
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_ERROR_HPP
#define ASYNCHAT_ERROR_HPP

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace asynchat {

/// Errors the library reports to handle_error(), as `boost::system::system_error`.
enum class error
{
    /// More than max_message_size() bytes were collected without reaching the terminator.
    message_too_long = 1,
};

/// The "asynchat" error category.
boost::system::error_category const& error_category() noexcept;

/// Make an error_code of the "asynchat" category.
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
