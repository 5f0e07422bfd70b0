// asynchat: example: a C++20 coroutine drives an async_chat client (async_connect, push,
// async_flush, async_close) while the replies come through the asynchat hooks
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_COROUTINE_CLIENT_HPP
#define ASYNCHAT_EXAMPLE_COROUTINE_CLIENT_HPP

// clang-format off
#include <utility> // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format on

#include <asynchat.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coroutine_client {

namespace asio = boost::asio;
using asio::ip::tcp;

/// A line client in the asynchat style: the replies arrive through found_terminator().
class line_client : public asynchat::async_chat
{
public:
    explicit line_client(executor_type const& ex)
        : asynchat::async_chat(ex), replies_in_(ex, asio::steady_timer::time_point::max())
    {
        set_terminator("\n");
    }

    /// The replies so far, in order.
    std::vector<std::string> const& replies() const noexcept { return replies_; }

    /// Wait (on the channel's executor) until `n` replies are in, or the channel closes.
    asio::awaitable<void> wait_for_replies(std::size_t n)
    {
        expected_ = n;
        if (replies_.size() >= n || !connected())
            co_return;
        // A timer that never expires is Asio's condition variable: found_terminator() or
        // handle_close() cancels it.
        boost::system::error_code ignored;
        co_await replies_in_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }

protected:
    void collect_incoming_data(std::string_view data) override { _collect_incoming_data(data); }

    void found_terminator() override
    {
        replies_.push_back(_get_data());
        if (replies_.size() >= expected_)
            replies_in_.cancel();
    }

    void handle_close() override
    {
        replies_in_.cancel();
        asynchat::async_chat::handle_close();
    }

private:
    std::vector<std::string> replies_;
    std::size_t expected_ = static_cast<std::size_t>(-1);
    asio::steady_timer replies_in_;
};

/** The dialogue, as straight-line code: connect, send every line, wait until they are
    written, wait for one reply per line, close. Throws boost::system::system_error when the
    connect fails.
*/
inline asio::awaitable<std::vector<std::string>>
converse(std::shared_ptr<line_client> c, tcp::endpoint server, std::vector<std::string> lines)
{
    co_await c->async_connect(server, asio::use_awaitable);
    for (auto const& line : lines)
        c->push(line + "\n");
    co_await c->async_flush(asio::use_awaitable);
    co_await c->wait_for_replies(lines.size());
    co_await c->async_close(asio::use_awaitable);
    co_return c->replies();
}

} // namespace coroutine_client

#endif
