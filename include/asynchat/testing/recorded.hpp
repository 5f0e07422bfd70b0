// asynchat: test kit: a channel that also writes down the hooks it ran
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_RECORDED_HPP
#define ASYNCHAT_TESTING_RECORDED_HPP

#include <asynchat/testing/escaped.hpp>

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asynchat::testing {

/** The list of hooks a recorded channel ran, in order (see recorded).

    @par Thread safety
    Written on the channel's executor; read it there, or once the channel's io_context has
    stopped running.
*/
class hook_log
{
public:
    /** One line per hook run: `found_terminator "<the message, escaped>"`, `handle_connect`,
        `handle_close`, `handle_error <what()>`, `handle_timeout`.
    */
    std::vector<std::string> const& hooks() const noexcept { return hooks_; }

protected:
    /// Append `entry` to hooks().
    void note(std::string entry) { hooks_.push_back(std::move(entry)); }

    /// The bytes collect_incoming_data() got since the last terminator.
    std::string message_;

private:
    std::vector<std::string> hooks_;
};

/** The channel `Chat`, which also writes down in hooks() each hook the library called, then
    calls `Chat`'s own: what a check compares between runs (see check_splits()).

    A message is written down when its terminator is found, whole (the bytes given to
    collect_incoming_data() since the last terminator), since how many calls brought it depends
    on the reads. For the same reason readable(), writable() and the watermark hooks are not
    written down: how often they run depends on when bytes arrive, not only on which.

    Make it as `Chat` is made: `std::make_shared<recorded<my_chat>>(std::move(socket), args...)`
    (its constructors are Chat's).

    @tparam Chat A channel class derived from basic_async_chat, not final, whose hooks are
    public or protected (as the base declares them), not private.

    @par Python
    No equivalent: a Python test wraps the methods with `unittest.mock`.

    @par Executor
    The hooks run where the library calls them: on the channel's executor.
*/
template <class Chat>
class recorded : public Chat, public hook_log
{
public:
    using Chat::Chat;

protected:
    /// Add `data` to the message, then call Chat's.
    void collect_incoming_data(std::string_view data) override
    {
        message_.append(data);
        Chat::collect_incoming_data(data);
    }
    /// Write down `found_terminator "<message>"`, then call Chat's.
    void found_terminator() override
    {
        note("found_terminator " + escaped(message_, 4096));
        message_.clear();
        Chat::found_terminator();
    }
    /// Write down `handle_connect`, then call Chat's.
    void handle_connect() override
    {
        note("handle_connect");
        Chat::handle_connect();
    }
    /// Write down `handle_close`, then call Chat's.
    void handle_close() override
    {
        note("handle_close");
        Chat::handle_close();
    }
    /// Write down `handle_error <what()>`, then call Chat's.
    void handle_error(std::exception_ptr error) override
    {
        std::string what = "unknown exception";
        try
        {
            std::rethrow_exception(error);
        }
        catch (std::exception const& e)
        {
            what = e.what();
        }
        catch (...)
        {
        }
        note("handle_error " + what);
        Chat::handle_error(std::move(error));
    }
    /// Write down `handle_timeout`, then call Chat's.
    void handle_timeout() override
    {
        note("handle_timeout");
        Chat::handle_timeout();
    }
};

} // namespace asynchat::testing

#endif
