// asynchat: Medusa's producer library
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/find_prefix_at_end.hpp>
#include <asynchat/producers.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace asynchat {

namespace {

void require_inner(std::unique_ptr<producer> const& inner, char const* who)
{
    if (!inner)
        throw std::invalid_argument(std::string("asynchat::") + who + ": null producer");
}

} // namespace

//----------------------------------------------------------------------------------------------
// lines_producer, buffer_list_producer

lines_producer::lines_producer(std::vector<std::string> lines) : lines_(std::move(lines)) {}

std::string lines_producer::more()
{
    std::size_t const end = std::min(lines_.size(), next_ + lines_per_piece);
    std::size_t size = 0;
    for (std::size_t i = next_; i != end; ++i)
        size += lines_[i].size() + 2;
    std::string piece;
    piece.reserve(size);
    for (; next_ != end; ++next_)
    {
        piece += lines_[next_];
        piece += "\r\n";
        lines_[next_] = std::string(); // handed out: give its memory back now
    }
    return piece;
}

buffer_list_producer::buffer_list_producer(std::vector<std::string> buffers)
    : buffers_(std::move(buffers))
{
}

std::string buffer_list_producer::more()
{
    // An empty buffer would read as the end: skip it.
    while (next_ != buffers_.size())
    {
        std::string piece = std::move(buffers_[next_++]);
        if (!piece.empty())
            return piece;
    }
    return {};
}

//----------------------------------------------------------------------------------------------
// globbing_producer

globbing_producer::globbing_producer(std::unique_ptr<producer> inner, std::size_t buffer_size)
    : inner_(std::move(inner)), buffer_size_(buffer_size)
{
    require_inner(inner_, "globbing_producer");
    if (buffer_size_ == 0)
        throw std::invalid_argument("asynchat::globbing_producer: buffer_size must be at least 1");
    adopt(*inner_);
}

std::string globbing_producer::more()
{
    std::string buffer;
    while (inner_ && buffer.size() < buffer_size_)
    {
        std::string piece = pull(*inner_);
        if (!piece.empty())
        {
            if (buffer.empty())
                buffer = std::move(piece); // the common first piece: no copy
            else
                buffer += piece;
            continue;
        }
        if (inner_->waiting())
            return buffer.empty() ? not_ready() : buffer;
        inner_.reset(); // exhausted
    }
    return buffer;
}

bool globbing_producer::read_ahead() const noexcept { return !inner_ || inner_->read_ahead(); }

//----------------------------------------------------------------------------------------------
// hooked_producer

hooked_producer::hooked_producer(
    std::unique_ptr<producer> inner, std::function<void(std::size_t)> function
)
    : inner_(std::move(inner)), function_(std::move(function))
{
    require_inner(inner_, "hooked_producer");
    if (!function_)
        throw std::invalid_argument("asynchat::hooked_producer: null function");
    adopt(*inner_);
}

std::string hooked_producer::more()
{
    if (!inner_)
        return {};
    std::string piece = pull(*inner_);
    if (!piece.empty())
    {
        bytes_ += piece.size();
        return piece;
    }
    if (inner_->waiting())
        return not_ready();
    // Exhausted: release it before the call, as Medusa drops its reference first, so that the
    // function sees the resources of the wrapped producer (a file, say) given back. Then a
    // function that throws still leaves the producer exhausted.
    inner_.reset();
    auto function = std::move(function_);
    function(bytes_);
    return {};
}

//----------------------------------------------------------------------------------------------
// chunked_producer

chunked_producer::chunked_producer(
    std::unique_ptr<producer> inner, std::vector<std::string> footers
)
    : inner_(std::move(inner)), footers_(std::move(footers))
{
    require_inner(inner_, "chunked_producer");
    for (auto const& footer : footers_)
        if (footer.empty() || footer.find_first_of("\r\n") != std::string::npos)
            throw std::invalid_argument(
                "asynchat::chunked_producer: a footer must be one non-empty line"
            );
    adopt(*inner_);
}

std::string chunked_producer::more()
{
    if (done_)
        return {};
    std::string piece = pull(*inner_);
    if (!piece.empty())
    {
        static char const digits[] = "0123456789abcdef";
        char size[2 * sizeof(std::size_t)];
        char* first = std::end(size);
        for (std::size_t n = piece.size(); n != 0; n >>= 4)
            *--first = digits[n & 15];
        std::string chunk;
        chunk.reserve(static_cast<std::size_t>(std::end(size) - first) + piece.size() + 4);
        chunk.append(first, std::end(size)).append("\r\n").append(piece).append("\r\n");
        return chunk;
    }
    if (inner_->waiting())
        return not_ready();
    inner_.reset();
    done_ = true;
    // The last chunk, the trailer section, the final CRLF (RFC 9112, section 7.1).
    std::string last = "0\r\n";
    for (auto const& footer : footers_)
        last.append(footer).append("\r\n");
    last += "\r\n";
    footers_.clear();
    return last;
}

bool chunked_producer::read_ahead() const noexcept { return !inner_ || inner_->read_ahead(); }

//----------------------------------------------------------------------------------------------
// escaping_producer

escaping_producer::escaping_producer(
    std::unique_ptr<producer> inner, std::string esc_from, std::string esc_to
)
    : inner_(std::move(inner)), esc_from_(std::move(esc_from)), esc_to_(std::move(esc_to))
{
    require_inner(inner_, "escaping_producer");
    if (esc_from_.empty())
        throw std::invalid_argument("asynchat::escaping_producer: esc_from must not be empty");
    adopt(*inner_);
}

std::string escaping_producer::more()
{
    while (inner_)
    {
        std::string piece = pull(*inner_);
        if (piece.empty())
        {
            if (inner_->waiting())
                return not_ready();
            // Exhausted: what is held cannot complete esc_from any more; it is data. (Medusa
            // returns an empty string here, and so drops it.)
            inner_.reset();
            return std::exchange(held_, std::string());
        }
        std::string text = held_.empty() ? std::move(piece) : held_ + piece;
        held_.clear();

        // Replace the whole occurrences, scanning the unescaped text only.
        std::string out;
        std::size_t pos = 0;
        for (std::size_t hit; (hit = text.find(esc_from_, pos)) != std::string::npos;
             pos = hit + esc_from_.size())
            out.append(text, pos, hit - pos).append(esc_to_);

        // Keep the start of an occurrence that the next piece may complete. Any occurrence
        // that reaches past the end starts within the longest such tail, so the next round
        // finds it where a scan of the joined text would.
        std::size_t const keep = find_prefix_at_end(std::string_view(text).substr(pos), esc_from_);
        std::size_t const rest = text.size() - pos - keep;
        if (pos == 0 && keep == 0)
            return text; // no occurrence, nothing kept: the piece as it is
        out.append(text, pos, rest);
        held_.assign(text, text.size() - keep, keep);
        if (!out.empty())
            return out;
        // The whole piece is held: an empty string would read as the end, so pull again.
        // (Medusa returns it, and so ends the stream early.)
    }
    return std::exchange(held_, std::string());
}

bool escaping_producer::read_ahead() const noexcept { return !inner_ || inner_->read_ahead(); }

} // namespace asynchat
