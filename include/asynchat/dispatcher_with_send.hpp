// asynchat: dispatcher_with_send, a dispatcher that buffers what it sends
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DISPATCHER_WITH_SEND_HPP
#define ASYNCHAT_DISPATCHER_WITH_SEND_HPP

#include <asynchat/dispatcher.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace asynchat {

/** A dispatcher whose send() queues what the socket does not take at once.

    The rest is sent, 64 KiB at a time, as the socket becomes writable; writable() is true while
    anything is queued (or before the connection is established).

    @par Python
    asyncore.dispatcher_with_send. The queue is consumed by offset instead of by re-slicing the
    buffer after each send (quadratic in CPython).
*/
class dispatcher_with_send : public dispatcher
{
public:
    using dispatcher::dispatcher;

    /// Queue `data` and send what the socket takes now; returns `data.size()`.
    std::size_t send(std::string_view data);

    /// The bytes queued and not yet sent.
    std::size_t pending() const noexcept { return out_buffer_.size() - sent_; }

protected:
    void handle_write() override { initiate_send(); }
    bool writable() override { return !connected() || pending() != 0; }

    /// Send up to 64 KiB of the queue.
    void initiate_send();

private:
    std::string out_buffer_;
    std::size_t sent_ = 0;
};

} // namespace asynchat

#endif
