// asynchat: file_producer, and the sendfile(2) step a TCP channel sends it with
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/sigpipe.hpp>
#include <asynchat/file_producer.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <pthread.h>
#include <stdexcept>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

namespace asynchat {

namespace {

[[noreturn]] void throw_errno(int err, std::string const& what)
{
    throw boost::system::system_error(
        boost::system::error_code(err, boost::system::system_category()),
        "asynchat::file_producer: " + what
    );
}

void check_buffer_size(std::size_t buffer_size)
{
    if (buffer_size == 0)
        throw std::invalid_argument("asynchat::file_producer: buffer_size must be greater than 0");
}

// Linux sends at most this much in one sendfile(2) call.
constexpr std::size_t max_sendfile = 0x7ffff000;

} // namespace

file_producer::file_producer(std::string const& path, std::size_t buffer_size)
    : buffer_size_(buffer_size), name_('"' + path + '"')
{
    check_buffer_size(buffer_size);
    do
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0)
        throw_errno(errno, "cannot open " + name_);
    examine();
}

file_producer::file_producer(int fd, std::size_t buffer_size)
    : buffer_size_(buffer_size), name_("fd " + std::to_string(fd))
{
    check_buffer_size(buffer_size);
    fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0)
        throw_errno(errno, "dup of " + name_);
    examine();
}

void file_producer::examine()
{
    struct stat st
    {
    };
    int err = 0;
    int const flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fstat(fd_, &st) != 0)
        err = errno;
    else if ((flags & O_ACCMODE) == O_WRONLY)
        err = EBADF; // what read(2) would say, later and less clearly
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    if (err == 0 && S_ISREG(st.st_mode))
    {
        // Start where the descriptor stands (0 for a file just opened).
        off_t const at = ::lseek(fd_, 0, SEEK_CUR);
        if (at < 0)
            err = errno;
        else
        {
            regular_ = sendable_ = true;
            offset_ = static_cast<std::uint64_t>(at);
        }
    }
    if (err != 0)
    {
        close(); // a constructor that throws leaves no descriptor behind
        throw_errno(err, "cannot read " + name_);
    }
    if (!regular_ && (flags & O_NONBLOCK) != 0)
    {
        // more() could only fail with EAGAIN whenever the writer is behind (found by a user).
        close();
        throw std::invalid_argument(
            "asynchat::file_producer: " + name_ +
            " is a non-blocking pipe or socket: read it with a file_dispatcher, or a producer "
            "that returns not_ready() and resume()s when the descriptor is readable"
        );
    }
}

file_producer::~file_producer() { close(); }

void file_producer::close() noexcept
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

std::string file_producer::more()
{
    if (fd_ < 0)
        return {};
    std::string piece(buffer_size_, '\0');
    ssize_t n;
    do
        n = regular_ ? ::pread(fd_, piece.data(), piece.size(), static_cast<off_t>(offset_))
                     : ::read(fd_, piece.data(), piece.size());
    while (n < 0 && errno == EINTR);
    if (n < 0)
        throw_errno(errno, "read of " + name_);
    if (n == 0)
    {
        // Medusa closes the file as soon as a read finds its end.
        close();
        return {};
    }
    piece.resize(static_cast<std::size_t>(n));
    offset_ += static_cast<std::uint64_t>(n);
    return piece;
}

namespace detail {

std::size_t send_file(
    file_producer& file, int socket, std::size_t max_bytes, boost::system::error_code& ec
) noexcept
{
    ec.clear();
    if (!file.zero_copy())
        return 0;
    // sendfile(2) has no MSG_NOSIGNAL: writing to a connection the peer reset raises SIGPIPE.
    off_t at = static_cast<off_t>(file.offset_);
    ssize_t const n = without_sigpipe(
        [&]
        {
            ssize_t k;
            do
                k = ::sendfile(socket, file.fd_, &at, std::min(max_bytes, max_sendfile));
            while (k < 0 && errno == EINTR);
            return k;
        }
    );
    int const err = n < 0 ? errno : 0;
    if (n > 0)
    {
        file.offset_ += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
    }
    if (n == 0)
    {
        file.close(); // the end of the file, as more() finds it
        return 0;
    }
    if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP)
    {
        // A file the kernel cannot splice from (some special file systems): more() reads it.
        file.sendable_ = false;
        return 0;
    }
    ec.assign(err, boost::system::system_category());
    return 0;
}

} // namespace detail

} // namespace asynchat
