// asynchat: compressed_producer, another producer's output compressed with zlib
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_COMPRESSED_PRODUCER_HPP
#define ASYNCHAT_COMPRESSED_PRODUCER_HPP

#include <asynchat/producer.hpp>

#include <memory>
#include <string>

// The library defines ASYNCHAT_HAS_ZLIB for itself and its users when CMake found zlib.
#ifndef ASYNCHAT_HAS_ZLIB
#error "asynchat was built without zlib (Debian: zlib1g-dev), so compressed_producer is missing"
#endif

namespace asynchat {

/** Compresses another producer's output with zlib, as it goes.

    The output is one zlib stream (RFC 1950: a 2-byte header, deflate data, an Adler-32
    trailer): HTTP's `Content-Encoding: deflate`, or Python's `zlib.decompress()`. more() feeds
    the wrapped producer's pieces to the compressor until it gives some output, and returns
    that; when the wrapped producer is exhausted, it returns the rest of the stream (zlib's
    `Z_FINISH`), then an empty string. With the same zlib, the bytes are Medusa's.

    When the wrapped producer is not ready and input fed since the last output is still inside
    the compressor, more() returns it flushed (zlib's `Z_SYNC_FLUSH`: the peer can decompress
    everything so far) instead of waiting with it; then not_ready() until the wrapped producer
    resumes. A stream so flushed is valid, a few bytes longer.

    Only built when CMake finds zlib (`find_package(ZLIB)`; Debian's zlib1g-dev): the library
    then defines `ASYNCHAT_HAS_ZLIB` for its users, and `asynchat.hpp` includes this header.

    @par Python
    Medusa's producers.compressed_producer(producer, level=5): `zlib.compressobj(level)`, the
    same window (15 bits), memory level (8) and strategy. Medusa has no "not ready"; the
    flush while waiting is this library's.

    @par Thread safety
    As lines_producer. In a channel, more() runs on the channel's executor.
*/
class compressed_producer : public producer
{
public:
    /** Construct the producer.

        @param inner The producer to compress (taken by move); its resume() wakes the channel
        this one is in.
        @param level zlib's compression level: 0 (stored) to 9 (smallest), or -1 for zlib's
        default (6).
        @throws std::invalid_argument if `inner` is null or `level` is out of range;
        std::bad_alloc if zlib cannot allocate its state.
    */
    explicit compressed_producer(std::unique_ptr<producer> inner, int level = 5);

    /// Releases the compressor.
    ~compressed_producer() override;

    /** The next piece of the compressed stream, an empty string at its end, or not_ready().

        @throws std::runtime_error if zlib reports an error (it does not for valid use).
    */
    std::string more() override;

    /// The wrapped producer's read_ahead() (true once it is exhausted): compressing adds no
    /// effect.
    bool read_ahead() const noexcept override;

private:
    struct deflater; // zlib's z_stream, kept out of this header

    // Run the compressor over `data` with zlib's `flush` mode; returns the output.
    std::string run_deflate(std::string const& data, int flush);

    std::unique_ptr<producer> inner_; // null once exhausted
    std::unique_ptr<deflater> z_;     // null once the stream is finished
    bool unflushed_ = false;          // input went in since the last flush
};

} // namespace asynchat

#endif
