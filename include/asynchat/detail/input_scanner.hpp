// asynchat: the sans-I/O input side of async_chat: receive buffer and terminator scanning
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_INPUT_SCANNER_HPP
#define ASYNCHAT_DETAIL_INPUT_SCANNER_HPP

#include <asynchat/find_prefix_at_end.hpp>
#include <asynchat/terminator.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <variant>

namespace asynchat::detail {

/// Find `needle` (not empty, longer than one byte) in `haystack`; npos when absent.
std::size_t find_multibyte_terminator(std::string_view haystack, std::string_view needle) noexcept;

/// Find `needle` (not empty) in `haystack`; npos when absent.
inline std::size_t find_terminator(std::string_view haystack, std::string_view needle) noexcept
{
    // One byte, the common case ('\n'), is memchr and nothing else: inline, no call around it.
    if (needle.size() != 1)
        return find_multibyte_terminator(haystack, needle);
    void const* const hit =
        haystack.empty() ? nullptr : std::memchr(haystack.data(), needle[0], haystack.size());
    return hit ? static_cast<std::size_t>(static_cast<char const*>(hit) - haystack.data())
               : std::string_view::npos;
}

/** Receive storage given back by a scanner with nothing pending, for the next prepare() to take
    instead of allocating. The channel keeps one per thread, so an idle connection holds none.
*/
struct receive_spare
{
    std::unique_ptr<char[]> data;
    std::size_t capacity = 0;
};

/** The receive buffer and CPython's handle_read loop, without any I/O.

    The owner reads into prepare()/commit() and then calls process(), which delivers the received
    bytes to a handler exactly as CPython 3.11's async_chat.handle_read delivers them to
    collect_incoming_data() and found_terminator(). The views passed to the handler point into the
    receive buffer: no received byte is copied per message.

    Invariant: buffer_[begin_, end_) holds the bytes received and not yet delivered. Between reads
    that is at most a partial terminator (fewer bytes than the terminator), unless processing was
    stopped early by the handler or by an exception, in which case CPython keeps them too.
*/
class input_scanner
{
public:
    /// The terminator in force; a numeric one holds the count still to come, as in CPython.
    const terminator& get_terminator() const noexcept { return term_; }

    /// Replace the terminator. Takes effect at the next step of process(), even from a handler.
    void set_terminator(terminator t) noexcept;

    /// Return room for `n` more bytes after the pending ones, growing the buffer if needed.
    char* prepare(std::size_t n);

    /// prepare(), taking the storage from `spare` first if the scanner has none.
    char* prepare(std::size_t n, receive_spare& spare);

    /// Account `n` bytes written into the room returned by prepare().
    void commit(std::size_t n) noexcept;

    /// The bytes received and not yet delivered.
    std::string_view pending() const noexcept { return {buffer_.get() + begin_, end_ - begin_}; }

    /// True if `data` lies in the receive buffer, among the bytes received since the last
    /// prepare() (views handed to the handler do).
    bool holds(std::string_view data) const noexcept
    {
        auto const first = reinterpret_cast<std::uintptr_t>(buffer_.get());
        auto const at = reinterpret_cast<std::uintptr_t>(data.data());
        return at >= first && at - first <= end_ && data.size() <= end_ - (at - first);
    }

    /// Drop the pending bytes (the storage is kept), and forget the message begun.
    void discard() noexcept
    {
        begin_ = end_ = 0;
        collected_ = 0;
    }

    /** Limit the bytes delivered between two terminators (default: no limit).

        A collect() that would go past it is not made: the handler's message_too_long() is
        called instead and process() stops, the bytes staying pending.
    */
    void set_max_message_size(std::size_t n) noexcept { max_message_ = n; }
    std::size_t max_message_size() const noexcept { return max_message_; }

    /// Give up the storage when nothing is pending, to `spare` if it has none (the next
    /// prepare() with that spare takes it back); returns true if it did.
    bool release(receive_spare& spare) noexcept;

    /// True once a message went past max_message_size(): process() delivers nothing more.
    bool too_long() const noexcept { return too_long_; }

    /// The size of the storage, for memory accounting.
    std::size_t capacity() const noexcept { return capacity_; }

    /** Deliver the pending bytes to `h`, as CPython's handle_read loop does.

        Handler must provide `void collect(std::string_view)`, `void found_terminator()`,
        `bool proceed()` and `void message_too_long()`. proceed() is asked before each step and
        between a message's last collect() and its found_terminator(); false stops the loop,
        keeping the rest pending (a found_terminator() skipped that way is not delivered later).
        The handler may call set_terminator() and discard() (re-entrancy is the point: a
        terminator changed in found_terminator() applies to the very next byte). An exception
        from the handler leaves the scanner in the state CPython would be in and propagates.
    */
    template <class Handler>
    void process(Handler& h);

private:
    // Advance past `n` delivered bytes. Clamped, because a handler may have called discard().
    void consume(std::size_t n) noexcept
    {
        begin_ += n < end_ - begin_ ? n : end_ - begin_;
        if (begin_ == end_)
            begin_ = end_ = 0;
    }

    // Deliver `data` unless it would make the message longer than the limit.
    template <class Handler>
    bool deliver(Handler& h, std::string_view data)
    {
        if (data.size() > max_message_ - collected_)
        {
            too_long_ = true;
            h.message_too_long();
            return false;
        }
        collected_ += data.size();
        h.collect(data);
        return true;
    }

    // Deliver the end of a message.
    template <class Handler>
    void end_message(Handler& h)
    {
        collected_ = 0;
        if (h.proceed())
            h.found_terminator();
    }

    terminator term_;
    std::size_t max_message_ = static_cast<std::size_t>(-1);
    std::size_t collected_ = 0; // delivered since the last terminator
    bool too_long_ = false;
    // Bumped by set_terminator(), so that process() can tell whether a handler replaced the
    // terminator while it was being called. 32 bits, beside too_long_ (a channel carries the
    // scanner idle): it would take 2^32 set_terminator() calls within one handler call to wrap
    // around to the value process() compares with.
    std::uint32_t generation_ = 0;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

template <class Handler>
void input_scanner::process(Handler& h)
{
    // A transliteration of CPython's loop. Each branch reads the terminator afresh, so changes
    // made by the handler take effect at exactly the position reached.
    while (begin_ != end_ && !too_long_ && h.proceed())
    {
        std::string_view const data = pending();
        if (auto const* count = std::get_if<std::size_t>(&term_); count && *count != 0)
        {
            std::size_t const n = *count;
            std::uint32_t const generation = generation_;
            if (data.size() < n)
            {
                if (!deliver(h, data))
                    return;
                consume(data.size());
                // CPython subtracts after the call, overwriting any terminator the collector set
                // (or failing on a string). We keep a terminator set during the call instead.
                if (generation_ == generation)
                    term_ = n - data.size();
            }
            else
            {
                if (!deliver(h, data.substr(0, n)))
                    return;
                consume(n);
                if (generation_ == generation)
                    term_ = std::size_t(0);
                end_message(h);
            }
        }
        else if (auto const* str = std::get_if<std::string>(&term_); str && str->size() == 1)
        {
            // The same steps as for longer strings below (a one-byte terminator has no partial
            // prefix), as a loop over the messages of the read, which the common case of many
            // short lines makes worth its own: it stays until the handler sets a terminator.
            char const t = (*str)[0];
            std::uint32_t const generation = generation_;
            do
            {
                std::string_view const rest = pending();
                void const* const hit = std::memchr(rest.data(), t, rest.size());
                if (!hit)
                {
                    if (!deliver(h, rest))
                        return;
                    consume(rest.size());
                    break;
                }
                std::size_t const index =
                    static_cast<std::size_t>(static_cast<char const*>(hit) - rest.data());
                if (index > 0)
                {
                    // deliver() without counting the bytes: the message ends here, and
                    // collected_ restarts at 0 below.
                    if (index > max_message_ - collected_)
                    {
                        too_long_ = true;
                        h.message_too_long();
                        return;
                    }
                    // Not rest.substr(): its range check is a call GCC leaves out of line, one
                    // per message, and index < rest.size() holds already.
                    h.collect(std::string_view(rest.data(), index));
                }
                consume(index + 1);
                end_message(h);
            } while (begin_ != end_ && generation_ == generation && h.proceed());
        }
        else if (str && !str->empty())
        {
            // `str` dies if the handler replaces the terminator: take what we need now.
            std::size_t const term_size = str->size();
            std::size_t const index = find_terminator(data, *str);
            if (index != std::string_view::npos)
            {
                // CPython never reports the empty string ("source of subtle bugs").
                if (index > 0 && !deliver(h, data.substr(0, index)))
                    return;
                consume(index + term_size);
                end_message(h);
            }
            else if (std::size_t const prefix = find_prefix_at_end(data, *str); prefix != 0)
            {
                // Keep the partial terminator and wait for more data. CPython leaves the loop
                // here even if the collector changed the terminator, so do we.
                if (prefix != data.size() && deliver(h, data.substr(0, data.size() - prefix)))
                    consume(data.size() - prefix);
                return;
            }
            else
            {
                if (!deliver(h, data))
                    return;
                consume(data.size());
            }
        }
        else
        {
            // None, "" and 0: collect everything.
            if (!deliver(h, data))
                return;
            consume(data.size());
        }
    }
}

} // namespace asynchat::detail

#endif
