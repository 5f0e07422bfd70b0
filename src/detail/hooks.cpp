// asynchat: the hook discipline async_chat and dispatcher share
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/hooks.hpp>

#include <boost/asio/error.hpp>

namespace asynchat::detail {

bool is_disconnect(boost::system::error_code const& ec) noexcept
{
    // CPython's asyncore._DISCONNECTED.
    namespace error = boost::asio::error;
    return ec == error::connection_reset || ec == error::not_connected || ec == error::shut_down ||
           ec == error::connection_aborted || ec == error::broken_pipe ||
           ec == error::bad_descriptor;
}

} // namespace asynchat::detail
