// asynchat: compressed_producer, built when CMake finds zlib
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/compressed_producer.hpp>

#include <algorithm>
#include <climits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <zlib.h>

namespace asynchat {

struct compressed_producer::deflater
{
    z_stream stream{};

    explicit deflater(int level)
    {
        // deflateInit() is Python's zlib.compressobj(level): deflate, a 15-bit window, memory
        // level 8, the default strategy.
        int const status = deflateInit(&stream, level);
        if (status == Z_MEM_ERROR)
            throw std::bad_alloc();
        if (status != Z_OK)
            throw std::runtime_error(
                std::string("asynchat::compressed_producer: deflateInit: ") +
                (stream.msg ? stream.msg : "error " + std::to_string(status))
            );
    }
    deflater(deflater const&) = delete;
    deflater& operator=(deflater const&) = delete;
    ~deflater() { deflateEnd(&stream); }
};

compressed_producer::compressed_producer(std::unique_ptr<producer> inner, int level)
    : inner_(std::move(inner))
{
    if (!inner_)
        throw std::invalid_argument("asynchat::compressed_producer: null producer");
    if (level < -1 || level > 9)
        throw std::invalid_argument(
            "asynchat::compressed_producer: level must be -1 (zlib's default) or 0 to 9, not " +
            std::to_string(level)
        );
    z_ = std::make_unique<deflater>(level);
    adopt(*inner_);
}

compressed_producer::~compressed_producer() = default;

std::string compressed_producer::run_deflate(std::string const& data, int flush)
{
    z_stream& z = z_->stream;
    // zlib takes uInt sizes; feed a larger piece in slices.
    std::size_t fed = 0;
    std::string out;
    for (;;)
    {
        std::size_t const slice = std::min<std::size_t>(data.size() - fed, UINT_MAX);
        bool const last = fed + slice == data.size();
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
        z.avail_in = static_cast<uInt>(slice);
        int const mode = last ? flush : Z_NO_FLUSH;
        // Run until zlib leaves room in the output: then it took all the input and, for a
        // flush, wrote everything it had.
        int status = Z_OK;
        do
        {
            std::size_t const used = out.size();
            out.resize(used + std::max<std::size_t>(slice / 2, 16384));
            z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
            z.avail_out = static_cast<uInt>(out.size() - used);
            status = ::deflate(&z, mode);
            out.resize(out.size() - z.avail_out);
            if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR)
                throw std::runtime_error(
                    std::string("asynchat::compressed_producer: deflate: ") +
                    (z.msg ? z.msg : "error " + std::to_string(status))
                );
        } while (z.avail_out == 0 && status != Z_STREAM_END);
        fed += slice;
        if (last)
            return out;
    }
}

std::string compressed_producer::more()
{
    if (!inner_)
        return {};
    std::string out;
    while (out.empty())
    {
        std::string data = pull(*inner_);
        if (data.empty())
        {
            if (inner_->waiting())
            {
                // Hand out what the compressor holds rather than wait with it.
                if (!unflushed_)
                    return not_ready();
                unflushed_ = false;
                return run_deflate({}, Z_SYNC_FLUSH);
            }
            inner_.reset();
            out = run_deflate({}, Z_FINISH);
            z_.reset();
            return out;
        }
        unflushed_ = true;
        out = run_deflate(data, Z_NO_FLUSH);
    }
    return out;
}

bool compressed_producer::read_ahead() const noexcept { return !inner_ || inner_->read_ahead(); }

} // namespace asynchat
