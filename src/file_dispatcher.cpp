// asynchat: file_dispatcher
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/sigpipe.hpp>
#include <asynchat/file_dispatcher.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace asynchat {

namespace {

int checked_dup(int fd)
{
    struct stat st
    {
    };
    if (::fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        // epoll refuses them (EPERM), which would surface later as "wait: Operation not
        // permitted" (found by a user); select(), under asyncore, reports them always ready.
        throw std::invalid_argument(
            "asynchat::file_dispatcher: fd " + std::to_string(fd) + " is a " +
            (S_ISREG(st.st_mode) ? "regular file" : "directory") +
            ", which the reactor (epoll) cannot wait for: give it a pipe, a terminal or a "
            "socket; send a file with file_producer"
        );
    int const copy = ::dup(fd);
    if (copy < 0)
        throw boost::system::system_error(
            boost::system::error_code(errno, boost::system::system_category()), "dup"
        );
    return copy;
}

} // namespace

file_dispatcher::file_dispatcher(executor_type const& ex, int fd)
    : dispatcher_base(ex), descriptor_(ex, checked_dup(fd))
{
    descriptor_.non_blocking(true);
    // A file is "connected" from the start, as in CPython.
    mark_connected();
}

bool file_dispatcher::ready_now(wait_kind kind) noexcept
{
    // A file has no urgent data and no SO_ERROR: its error events are never due at once.
    return kind != wait_kind::error && dispatcher_base::ready_now(kind);
}

void file_dispatcher::async_wait_on(
    wait_kind kind, std::function<void(boost::system::error_code)> h
)
{
    using descriptor_base = boost::asio::posix::descriptor_base;
    descriptor_.async_wait(
        kind == wait_kind::read    ? descriptor_base::wait_read
        : kind == wait_kind::write ? descriptor_base::wait_write
                                   : descriptor_base::wait_error,
        std::move(h)
    );
}

std::size_t file_dispatcher::read_some(char* data, std::size_t size, boost::system::error_code& ec)
{
    return descriptor_.read_some(boost::asio::buffer(data, size), ec);
}

std::size_t
file_dispatcher::write_some(char const* data, std::size_t size, boost::system::error_code& ec)
{
    // A pipe whose reader is gone raises SIGPIPE: report broken_pipe instead of dying of it.
    return detail::without_sigpipe(
        [&] { return descriptor_.write_some(boost::asio::buffer(data, size), ec); }
    );
}

void file_dispatcher::close_handle() noexcept
{
    boost::system::error_code ignored;
    descriptor_.close(ignored);
}

} // namespace asynchat
