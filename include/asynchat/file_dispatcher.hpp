// asynchat: file_dispatcher, a dispatcher over a file descriptor (a pipe, a terminal)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_FILE_DISPATCHER_HPP
#define ASYNCHAT_FILE_DISPATCHER_HPP

#include <asynchat/dispatcher_base.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <functional>

namespace asynchat {

/** A dispatcher whose events come from a file descriptor instead of a socket.

    The descriptor is duplicated (dup()), as CPython's file_wrapper does: the caller keeps and
    closes its own. recv() and send() read and write it without blocking. It is connected from
    the start (connected() is true), as in CPython. The events, hooks, recv(), send() and
    close() are dispatcher_base's, the same as a socket dispatcher's; the handle is a
    `boost::asio::posix::stream_descriptor` and nothing else.

    @par Python
    asyncore.file_dispatcher(fd). POSIX only, as in CPython. CPython derives it from dispatcher,
    so a file_dispatcher there inherits the socket methods: bind(), listen(), connect() and
    accept() raise AttributeError on its file_wrapper, create_socket() replaces the file with a
    socket, handle_accept() and handle_connect() are never called. Here it derives from
    dispatcher_base, the event engine dispatcher is built on too, and has none of them: calling
    them does not compile. So it is not a dispatcher: `channels<dispatcher>(io)` does not list
    it, `channels<file_dispatcher>(io)` and `channels<dispatcher_base>(io)` do, and a
    `std::shared_ptr<file_dispatcher>` converts to `std::shared_ptr<dispatcher_base>`.

    @par Thread safety
    As dispatcher: start() and close() may be called from any thread, everything else on the
    executor.
*/
class file_dispatcher : public dispatcher_base
{
public:
    /** Wrap a non-blocking duplicate of `fd`.

        @param ex The executor every hook runs on.
        @param fd An open file descriptor (a pipe, a terminal, a socket); the caller still owns
        it and may close it at once.
        @throws boost::system::system_error if dup() fails, or if the duplicate cannot be made
        non-blocking; std::invalid_argument if `fd` is a regular file or a directory, which
        epoll cannot wait for (asyncore's select() reports them always ready).

        @par Python
        file_dispatcher(fd, map=None); the map is the executor's execution context's.
    */
    file_dispatcher(executor_type const& ex, int fd);

    /** The duplicated descriptor, for operations the dispatcher does not offer (ioctl()...).

        @return The Asio object that owns the duplicate; it is closed by close().

        @par Python
        file_dispatcher.socket, the file_wrapper.

        @par Executor
        Use it on the dispatcher's executor only.
    */
    boost::asio::posix::stream_descriptor& descriptor() noexcept { return descriptor_; }

protected:
    /** Whether an event of `kind` is due now, polling the descriptor without waiting.

        @param kind The event: a read, a write, or an error.
        @return What dispatcher_base's poll(2) test says for reads and writes; false for errors,
        as a file has no urgent data and no SO_ERROR.

        @par Executor
        Called by the dispatcher, on its executor.
    */
    bool ready_now(wait_kind kind) noexcept override;

    /** Wait until the descriptor is ready for `kind`, without blocking.

        @param kind The event to wait for.
        @param h Called once, on the dispatcher's executor, with no error when the descriptor is
        ready, or with `boost::asio::error::operation_aborted` when it is closed first.

        @par Executor
        Called by the dispatcher, on its executor.
    */
    void async_wait_on(wait_kind kind, std::function<void(boost::system::error_code)> h) override;

    /** Read at most `size` bytes from the descriptor without blocking (read(2)).

        @param data Where to put the bytes.
        @param size The room at `data`, in bytes.
        @param ec Set to `boost::asio::error::would_block` when nothing is available, to
        `boost::asio::error::eof` at the end of the file, or to read(2)'s error.
        @return The number of bytes read (0 with `ec` set).

        @par Executor
        Called by the dispatcher's recv(), on its executor.
    */
    std::size_t read_some(char* data, std::size_t size, boost::system::error_code& ec) override;

    /** Write at most `size` bytes to the descriptor without blocking (write(2)).

        @param data The bytes to write.
        @param size Their number.
        @param ec Set to `boost::asio::error::would_block` when the descriptor is full, or to
        write(2)'s error (`broken_pipe` when the reader is gone).
        @return The number of bytes written (0 with `ec` set).

        @par Executor
        Called by the dispatcher's send(), on its executor.
    */
    std::size_t
    write_some(char const* data, std::size_t size, boost::system::error_code& ec) override;

    /** Close the duplicated descriptor, ignoring errors; pending waits complete with
        `operation_aborted`. The caller's own descriptor stays open.

        @par Executor
        Called by the dispatcher's close(), on its executor.
    */
    void close_handle() noexcept override;

    /** The duplicated descriptor's number.

        @return The descriptor, or -1 once closed.
    */
    int native_handle() noexcept override { return descriptor_.native_handle(); }

    /** The handle's pending error, which a file does not have.

        @return 0.
    */
    int pending_error() noexcept override { return 0; }

private:
    boost::asio::posix::stream_descriptor descriptor_;
};

} // namespace asynchat

#endif
