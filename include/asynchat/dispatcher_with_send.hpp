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
    anything is queued (or before the connection is established). What is sent before the
    connection is made (`create_socket(); connect(ep); send("hello\n");` in the constructor, as
    asyncore clients write their `__init__`) waits in the queue and goes out once it is made.

    @par Python
    asyncore.dispatcher_with_send. The queue is consumed by offset instead of by re-slicing the
    buffer after each send (quadratic in CPython).
*/
class dispatcher_with_send : public dispatcher
{
public:
    using dispatcher::dispatcher;

    // The literal, C string and nullptr overloads, which end in the send() below.
    using dispatcher::send;

    /** Queue `data` and send what the socket takes now (nothing before the connection is made).

        @param data The bytes to send.
        @return `data.size()`.
        @throws boost::system::system_error for socket errors other than a disconnect, which
        calls handle_close().

        @par Python
        dispatcher_with_send.send(data).
    */
    std::size_t send(std::string_view data) override;

    /// The bytes queued and not yet sent.
    std::size_t pending() const noexcept { return out_buffer_.size() - sent_; }

protected:
    /// Send what is queued (initiate_send()).
    void handle_write() override { initiate_send(); }
    /// True while connecting or while bytes are queued: CPython's `(not self.connected) or
    /// len(self.out_buffer)`.
    bool writable() override { return !connected() || pending() != 0; }

    /// Send up to 64 KiB of the queue.
    void initiate_send();

private:
    std::string out_buffer_;
    std::size_t sent_ = 0;
};

} // namespace asynchat

#endif
