// asynchat: the non-template parts of async_chat
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/async_chat.hpp>

#include <boost/asio/error.hpp>
#include <boost/core/demangle.hpp>

#include <cstdio>
#include <typeinfo>

namespace asynchat::detail {

void log_uncaptured(std::string_view channel, std::exception_ptr const& error) noexcept
{
    try
    {
        std::string what;
        try
        {
            std::rethrow_exception(error);
        }
        catch (std::exception const& e)
        {
            what = boost::core::demangle(typeid(e).name()) + ": " + e.what();
        }
        catch (...)
        {
            what = "unknown exception";
        }
        // One write per line, so that lines from several threads do not interleave.
        std::string const line = "asynchat: uncaptured exception, closing channel " +
                                 std::string(channel) + " (" + what + ")\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    catch (...)
    {
        std::fputs("asynchat: uncaptured exception, closing channel\n", stderr);
    }
}

bool is_disconnect(boost::system::error_code const& ec) noexcept
{
    // CPython's asyncore._DISCONNECTED.
    namespace error = boost::asio::error;
    return ec == error::connection_reset || ec == error::not_connected ||
           ec == error::shut_down || ec == error::connection_aborted ||
           ec == error::broken_pipe || ec == error::bad_descriptor;
}

} // namespace asynchat::detail
