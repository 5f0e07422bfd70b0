// asynchat: a completion handler a channel keeps until its operation ends
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_PENDING_COMPLETION_HPP
#define ASYNCHAT_DETAIL_PENDING_COMPLETION_HPP

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <utility>
#include <vector>

namespace asynchat::detail {

/** The handler of an async_* operation of a channel, its type erased (Boost 1.74 has no
    any_completion_handler), holding work on the executor it completes on: its associated
    executor, or the channel's. complete() posts it there, so it never runs inline, and never in
    the middle of the channel's state change. Destroyed without complete() (the io_context
    destroyed first), the handler is destroyed without being called, as Asio's own operations'.
*/
class pending_completion
{
public:
    virtual ~pending_completion() = default;

    /// Post the handler with `ec` to its executor. Call once.
    virtual void complete(boost::system::error_code ec) = 0;
};

template <class Handler, class IoExecutor>
class pending_completion_of final : public pending_completion
{
public:
    pending_completion_of(Handler handler, IoExecutor const& io)
        : handler_(std::move(handler)), work_(boost::asio::get_associated_executor(handler_, io))
    {
    }

    void complete(boost::system::error_code ec) override
    {
        auto const ex = work_.get_executor();
        boost::asio::post(ex, [h = std::move(handler_), ec]() mutable { std::move(h)(ec); });
        work_.reset();
    }

private:
    using executor = boost::asio::associated_executor_t<Handler, IoExecutor>;
    Handler handler_;
    boost::asio::executor_work_guard<executor> work_;
};

template <class Handler, class IoExecutor>
std::unique_ptr<pending_completion> make_pending_completion(Handler&& h, IoExecutor const& io)
{
    return std::make_unique<pending_completion_of<std::decay_t<Handler>, IoExecutor>>(
        std::forward<Handler>(h), io
    );
}

/// Complete every handler of `list` with `ec`, emptying it.
inline void
complete_all(std::vector<std::unique_ptr<pending_completion>>& list, boost::system::error_code ec)
{
    auto done = std::move(list);
    list.clear();
    for (auto& c : done)
        c->complete(ec);
}

} // namespace asynchat::detail

#endif
