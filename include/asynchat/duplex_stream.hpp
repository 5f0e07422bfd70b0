// asynchat: one stream made of two one-way streams, for a channel over a pair of pipes (a
// subprocess's stdout and stdin, or the process's own stdin and stdout)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DUPLEX_STREAM_HPP
#define ASYNCHAT_DUPLEX_STREAM_HPP

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>

#include <utility>

namespace asynchat {

/** A stream that reads from one stream and writes to another: a pair of pipes as one stream,
    for a `basic_async_chat<duplex_stream>` talking to a subprocess (its stdout to read, its
    stdin to write) or over the process's own stdin and stdout.

    It meets Asio's AsyncReadStream and AsyncWriteStream requirements; close() closes both.

    @tparam ReadStream The stream read from (`posix::stream_descriptor` by default).
    @tparam WriteStream The stream written to, with the same executor type.

    @par Thread safety
    As its streams': one read and one write in flight at a time, on their executor.

    @par Python
    No equivalent: asyncore's file_dispatcher takes one descriptor for both directions.
*/
template <class ReadStream = boost::asio::posix::stream_descriptor, class WriteStream = ReadStream>
class basic_duplex_stream
{
public:
    /// The executor of both streams.
    using executor_type = typename ReadStream::executor_type;

    /// The stream read from and the stream written to; both must use the same executor.
    basic_duplex_stream(ReadStream in, WriteStream out) : in_(std::move(in)), out_(std::move(out))
    {
    }

    /// The streams' executor.
    executor_type get_executor() noexcept { return in_.get_executor(); }

    /// The stream read from.
    ReadStream& read_stream() noexcept { return in_; }

    /// The stream written to.
    WriteStream& write_stream() noexcept { return out_; }

    /// True while either stream is open.
    bool is_open() const noexcept { return in_.is_open() || out_.is_open(); }

    /// Close both streams: their pending operations end with `operation_aborted`.
    void close(boost::system::error_code& ec)
    {
        boost::system::error_code write_ec;
        in_.close(ec);
        out_.close(write_ec);
        if (!ec)
            ec = write_ec;
    }

    /// Read some bytes from the read stream (AsyncReadStream).
    template <class MutableBuffers, class ReadToken>
    decltype(auto) async_read_some(MutableBuffers const& buffers, ReadToken&& token)
    {
        return in_.async_read_some(buffers, std::forward<ReadToken>(token));
    }

    /// Write some bytes to the write stream (AsyncWriteStream).
    template <class ConstBuffers, class WriteToken>
    decltype(auto) async_write_some(ConstBuffers const& buffers, WriteToken&& token)
    {
        return out_.async_write_some(buffers, std::forward<WriteToken>(token));
    }

private:
    ReadStream in_;
    WriteStream out_;
};

/// Two pipe descriptors (or any two descriptors) as one stream.
using duplex_stream = basic_duplex_stream<>;

} // namespace asynchat

#endif
