// asynchat: the hook discipline async_chat and dispatcher share: how user code is called
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_HOOKS_HPP
#define ASYNCHAT_DETAIL_HOOKS_HPP

#include <asynchat/channel_logger.hpp>

#include <boost/system/error_code.hpp>

#include <exception>
#include <utility>

namespace asynchat::detail {

/// True for the error codes that mean the peer went away (CPython's _DISCONNECTED set).
bool is_disconnect(boost::system::error_code const& ec) noexcept;

/// The scope of a channel that does not track when user code runs (the dispatcher).
struct no_hook_scope
{
    template <class Channel>
    explicit no_hook_scope(Channel&) noexcept
    {
    }
};

/** Run user code `f` of `channel` inside a `Scope(channel)`.

    @return What `f` threw, or null. Nothing escapes.
*/
template <class Scope, class Channel, class F>
std::exception_ptr call_hook(Channel& channel, F&& f) noexcept
{
    Scope scope(channel);
    try
    {
        std::forward<F>(f)();
        return nullptr;
    }
    catch (...)
    {
        return std::current_exception();
    }
}

/** Run `handle_error` (user code, the channel's handle_error(error)) inside a `Scope(channel)`;
    should it throw in turn, log CPython's line for it on `channel`, naming the channel by
    `describe()`.

    @return False if handle_error() threw: nobody is left to tell but the log, and the caller
    must close the channel. Nothing escapes into io_context::run().
*/
template <class Scope, class Channel, class HandleError, class Describe>
bool report_error(Channel& channel, HandleError&& handle_error, Describe&& describe) noexcept
{
    Scope scope(channel);
    try
    {
        std::forward<HandleError>(handle_error)();
        return true;
    }
    catch (...)
    {
        auto const error_from_handler = std::current_exception();
        try
        {
            log_error(
                channel, uncaptured_message(describe(), error_from_handler, " in handle_error()")
            );
        }
        catch (...)
        {
        }
        return false;
    }
}

} // namespace asynchat::detail

#endif
