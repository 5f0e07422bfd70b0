// asynchat: file_dispatcher, a dispatcher over a file descriptor (a pipe, a terminal)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_FILE_DISPATCHER_HPP
#define ASYNCHAT_FILE_DISPATCHER_HPP

#include <asynchat/dispatcher.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

namespace asynchat {

/** A dispatcher whose events come from a file descriptor instead of a socket.

    The descriptor is duplicated (dup()), as CPython's file_wrapper does: the caller keeps and
    closes its own. recv() and send() read and write it without blocking.

    @par Python
    asyncore.file_dispatcher(fd). POSIX only, as in CPython.
*/
class file_dispatcher : public dispatcher
{
public:
    /** Wrap a duplicate of `fd`.

        @throws boost::system::system_error if dup() fails.
    */
    file_dispatcher(executor_type const& ex, int fd);

    /// The duplicated descriptor.
    boost::asio::posix::stream_descriptor& descriptor() noexcept { return descriptor_; }

protected:
    bool ready_now(wait_kind kind) noexcept override;
    void async_wait_on(wait_kind kind, std::function<void(boost::system::error_code)> h) override;
    std::size_t read_some(char* data, std::size_t size, boost::system::error_code& ec) override;
    std::size_t write_some(char const* data, std::size_t size, boost::system::error_code& ec) override;
    void close_handle() noexcept override;
    int native_handle() noexcept override { return descriptor_.native_handle(); }
    int pending_error() noexcept override { return 0; }

private:
    boost::asio::posix::stream_descriptor descriptor_;
};

} // namespace asynchat

#endif
