// asynchat: file_producer, Medusa's producer of a file's contents, sent with sendfile(2) on TCP
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_FILE_PRODUCER_HPP
#define ASYNCHAT_FILE_PRODUCER_HPP

#include <asynchat/producer.hpp>

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace asynchat {

class file_producer;

namespace detail {

/** Send the rest of `file` to the socket `socket` with sendfile(2), without blocking: at most
    `max_bytes` bytes, from the producer's offset, which advances by what was sent.

    @return The bytes sent. 0 with no error: either the file ended (it is closed now:
    `!file.is_open()`), or the file cannot be sent this way (sendfile(2) refused it: it stays
    open, with `file.zero_copy()` false, for more() to read). When the socket is full, `ec` is
    `would_block`. A broken connection is reported in `ec` (EPIPE, ECONNRESET) without the
    SIGPIPE that sendfile(2) raises: the calling thread blocks it for the call.
*/
std::size_t send_file(
    file_producer& file, int socket, std::size_t max_bytes, boost::system::error_code& ec
) noexcept;

} // namespace detail

/** A producer of a file's contents, read in pieces of 64 KiB (by default), closed at its end.

    more() reads the next piece; at the end of the file it closes the file and returns an empty
    string. A regular file reads from the producer's own offset (pread(2)), so the descriptor's
    shared position never moves; other files (a pipe, a terminal) are read with read(2).

    On a TCP channel (`asynchat::async_chat`, or `basic_async_chat` over any
    `basic_stream_socket<ip::tcp, Executor>`), a file_producer at the head of the output queue,
    with nothing ahead of it left to write, is not read at all: the channel sends the rest of a
    regular file with sendfile(2), from the page cache to the socket, without copying it into
    the process (see basic_async_chat::use_sendfile). Everywhere else (Unix sockets, other
    streams, a file_producer wrapped inside another producer such as composite_producer, a pipe)
    more() reads it. A pipe is read with blocking read(2), as Medusa's file objects are: more()
    waits, and holds the channel's thread, until the writer has written; so give it only a pipe
    whose writer keeps up (a subprocess's output). A non-blocking pipe or socket is refused. The
   bytes on the wire are the same either way. The class is final, so that the bytes a channel sends
   directly are always those more() would give.

    @par Python
    Medusa's producers.file_producer(file): 64 KiB reads (`out_buffer_size = 1<<16`), the file
    closed at its end. sendfile(2) has no Medusa counterpart (Python's socket.sendfile() is
    blocking).

    @par Executor
    A channel calls more() (or sends the file) on its executor. The producer itself holds no
    lock: use it from one thread at a time.
*/
class file_producer final : public producer
{
public:
    /// The bytes more() reads at a time unless told otherwise: Medusa's `out_buffer_size`.
    static constexpr std::size_t default_buffer_size = 65536;

    /** Open the file at `path` for reading.

        @param path The file's path (a `std::filesystem::path` converts); opened with
        `O_RDONLY | O_CLOEXEC`.
        @param buffer_size The most bytes one more() returns.
        @throws boost::system::system_error naming the path if it cannot be opened, or is a
        directory: `asynchat::file_producer: cannot open "/srv/x": No such file or directory`.
        @throws std::invalid_argument if `buffer_size` is 0.

        @par Python
        `file_producer(open(path, 'rb'))`.
    */
    explicit file_producer(std::string const& path, std::size_t buffer_size = default_buffer_size);

    /** Produce the contents of the open file `fd`, from its current position on.

        The producer works on a duplicate (dup(2)), as asynchat::file_dispatcher does: the
        caller keeps its own descriptor and closes it when it likes, at once if it wants; the
        producer closes its duplicate at the end of the file or when destroyed. A regular file is
        read from the position `fd` has now, with pread(2): the position both share is not moved.

        @param fd An open descriptor with read access.
        @param buffer_size The most bytes one more() returns.
        @throws boost::system::system_error naming it (`fd 7`) if `fd` cannot be duplicated or
        examined (a bad descriptor), is open for writing only, or is a directory.
        @throws std::invalid_argument if `buffer_size` is 0, or `fd` is a non-blocking pipe or
        socket (see the class comment).

        @par Python
        `file_producer(os.fdopen(os.dup(fd), 'rb'))`.
    */
    explicit file_producer(int fd, std::size_t buffer_size = default_buffer_size);

    /// Refused at compile time: a null path.
    file_producer(std::nullptr_t, std::size_t = default_buffer_size) = delete;

    /// Closes the file if it is still open.
    ~file_producer() override;

    /** Read the next piece, of at most the buffer size; at the end of the file, close it and
        return an empty string (and so on every call after).

        @throws boost::system::system_error naming the file and the failing call if reading
        fails: `asynchat::file_producer: read of "/srv/x": Input/output error`.
    */
    std::string more() override;

    /// True until the end of the file was reached (the file is then closed).
    bool is_open() const noexcept { return fd_ >= 0; }

    /** True while a channel may send the rest with sendfile(2): the file is open and regular,
        and sendfile(2) has not refused it.
    */
    bool zero_copy() const noexcept { return fd_ >= 0 && sendable_; }

    /** Where the next byte comes from: its offset in a regular file (starting where the
        descriptor was positioned, for the descriptor constructor), the bytes read so far in
        any other.
    */
    std::uint64_t offset() const noexcept { return offset_; }

    /// How errors name the file: `"/srv/x"` (quoted path) or `fd 7`.
    std::string const& name() const noexcept { return name_; }

private:
    friend std::size_t
    detail::send_file(file_producer&, int, std::size_t, boost::system::error_code&) noexcept;

    // Examine the descriptor just opened or duplicated (owned now): regular or not, a
    // directory refused.
    void examine();
    void close() noexcept;

    int fd_ = -1;
    bool regular_ = false;  // read by offset (pread); else read(2)
    bool sendable_ = false; // regular, and sendfile(2) has not refused it
    std::uint64_t offset_ = 0;
    std::size_t buffer_size_;
    std::string name_;
};

} // namespace asynchat

#endif
