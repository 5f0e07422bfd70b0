// asynchat: Medusa's producer library: lines, buffer lists, globbing, hooks, chunking, escaping
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_PRODUCERS_HPP
#define ASYNCHAT_PRODUCERS_HPP

#include <asynchat/producer.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace asynchat {

/** A producer of text lines, each followed by CRLF, 50 lines to a piece.

    more() returns the next lines_per_piece lines (fewer at the end), each followed by `"\r\n"`,
    then an empty string. An empty line gives `"\r\n"`, so no piece before the end is empty.

    @par Python
    Medusa's producers.lines_producer(lines), which joins Python 3 `str`s; this one takes bytes.

    @par Thread safety
    A plain object: distinct producers are safe to use from different threads, a shared one is
    not. In a channel, more() runs on the channel's executor.
*/
class lines_producer : public producer
{
public:
    /// The number of lines more() returns at a time (Medusa's `self.lines[:50]`).
    static constexpr std::size_t lines_per_piece = 50;

    /** Construct the producer.

        @param lines The lines, without their line ends (taken by move); a line may hold any
        bytes, CR and LF included, which are sent as they are.
    */
    explicit lines_producer(std::vector<std::string> lines);

    std::string more() override;

    /// True: more() only formats lines it holds.
    bool read_ahead() const noexcept override { return true; }

private:
    std::vector<std::string> lines_;
    std::size_t next_ = 0;
};

/** A producer of a list of strings, one string per piece.

    more() returns the buffers in order, then an empty string. An empty buffer is skipped: what
    a channel sends is the buffers joined.

    @par Python
    Medusa's producers.buffer_list_producer(buffers). Medusa returns an empty buffer as it is,
    which a channel takes for the end: the buffers after it are never sent. Its own comment says
    the data is `''.join(buffers)`, which is what this one sends.

    @par Thread safety
    As lines_producer.
*/
class buffer_list_producer : public producer
{
public:
    /** Construct the producer.

        @param buffers The strings to hand out, in order (taken by move).
    */
    explicit buffer_list_producer(std::vector<std::string> buffers);

    std::string more() override;

    /// True: more() only hands out the buffers it holds.
    bool read_ahead() const noexcept override { return true; }

private:
    std::vector<std::string> buffers_;
    std::size_t next_ = 0;
};

/** Gathers the small pieces of another producer into pieces of at least `buffer_size` bytes.

    more() pulls the wrapped producer until it holds `buffer_size` bytes or more (a piece is not
    split, so one may exceed the size) or the wrapped producer is exhausted, and returns what it
    gathered. Fewer writes of more bytes each: Medusa measured some 30% on a busy channel.

    When the wrapped producer is not ready, more() returns what it gathered so far, or
    not_ready() if nothing: bytes already pulled never wait for the rest.

    @par Python
    Medusa's producers.globbing_producer(producer, buffer_size=1<<16). Medusa keeps calling the
    wrapped producer's more() after it is exhausted; this one releases it at once. A size of 0,
    which makes Medusa's more() return an empty string at once, is refused.

    @par Thread safety
    As lines_producer. A wrapped producer that calls back when exhausted (hooked_producer) is
    called while this one gathers, before the bytes gathered with it are written.
*/
class globbing_producer : public producer
{
public:
    /** Construct the producer.

        @param inner The producer to gather (taken by move); its resume() wakes the channel this
        one is in.
        @param buffer_size The size in bytes at which more() stops gathering.
        @throws std::invalid_argument if `inner` is null or `buffer_size` is 0.
    */
    explicit globbing_producer(std::unique_ptr<producer> inner, std::size_t buffer_size = 1 << 16);

    std::string more() override;

    /// The wrapped producer's read_ahead() (true once it is exhausted): more() adds no effect.
    bool read_ahead() const noexcept override;

private:
    std::unique_ptr<producer> inner_; // null once exhausted
    std::size_t buffer_size_;
};

/** Passes another producer's pieces through, then calls a function with their byte count.

    When the wrapped producer is exhausted, more() releases it, calls `function` with the number
    of bytes it gave, and returns an empty string. In a channel, more() is called only once
    everything queued before the producer, its own pieces included, has been written (see
    producer): `function` runs when the bytes have been handed to the operating system, not
    when they were pulled. Logging, metrics, "response sent".

    @par Python
    Medusa's producers.hooked_producer(producer, function), called `function(bytes)` at the same
    moment; push_callback() on the channel does the same without a producer to wrap.

    @par Thread safety
    As lines_producer; `function` runs where more() runs, on the channel's executor, and may
    call the channel (push(), close_when_done(), ...) as a hook may. An exception it throws
    leaves more() and is reported to the channel's handle_error().
*/
class hooked_producer : public producer
{
public:
    /** Construct the producer.

        @param inner The producer whose pieces are passed through (taken by move); its resume()
        wakes the channel this one is in.
        @param function Called once, with the bytes `inner` gave (a count of bytes), when it is
        exhausted.
        @throws std::invalid_argument if `inner` or `function` is null.
    */
    hooked_producer(std::unique_ptr<producer> inner, std::function<void(std::size_t)> function);

    std::string more() override;

    /// False: more() calls `function`, an effect outside the producer, so it must wait its turn.
    bool read_ahead() const noexcept override { return false; }

private:
    std::unique_ptr<producer> inner_; // null once exhausted
    std::function<void(std::size_t)> function_;
    std::size_t bytes_ = 0;
};

/** Encodes another producer's output in HTTP/1.1's chunked transfer coding.

    Each piece of the wrapped producer becomes one chunk: its size in lowercase hexadecimal,
    CRLF, the piece, CRLF. When the wrapped producer is exhausted, more() returns the last chunk
    `"0\r\n"`, the footers (trailer fields), each followed by CRLF, and the final CRLF; then an
    empty string. Set `Transfer-Encoding: chunked` in the response's header.

    @par Python
    Medusa's producers.chunked_producer(producer, footers=None), byte for byte. Footers holding
    CR or LF, which would end the message early or inject fields, are refused (Medusa sends
    them).

    @par Thread safety
    As lines_producer.
*/
class chunked_producer : public producer
{
public:
    /** Construct the producer.

        @param inner The producer to encode (taken by move); its resume() wakes the channel this
        one is in.
        @param footers Trailer fields without their line ends, as `"Name: value"`; none by
        default.
        @throws std::invalid_argument if `inner` is null, or a footer is empty or holds CR or LF.
    */
    explicit chunked_producer(
        std::unique_ptr<producer> inner, std::vector<std::string> footers = {}
    );

    std::string more() override;

    /// The wrapped producer's read_ahead() (true once it is exhausted): more() adds no effect.
    bool read_ahead() const noexcept override;

private:
    std::unique_ptr<producer> inner_; // null once exhausted
    std::vector<std::string> footers_;
    bool done_ = false; // the last chunk was returned
};

/** Replaces a byte sequence in another producer's output, across its piece boundaries.

    Every occurrence of `esc_from` in the wrapped producer's output (the pieces joined, scanned
    from the left, without overlaps) is sent as `esc_to`. A piece that ends with the start of
    `esc_from` keeps those bytes until the next piece tells whether they complete it. By default
    it dot-stuffs SMTP's DATA and NNTP's articles: `"\r\n."` becomes `"\r\n.."`, so that a line
    holding only "." cannot end the message. A "." at the very start of the output has no CRLF
    before it and is not escaped (as in Medusa): a client whose body may begin with one doubles
    that dot itself.

    When the wrapped producer is not ready, neither is this one (the bytes it keeps cannot be
    sent until the next piece says what they are).

    @par Python
    Medusa's producers.escaping_producer(producer, esc_from='\\r\\n.', esc_to='\\r\\n..'),
    with three differences, each in test/data/medusa_producers.txt with its reason:
    - Medusa returns an empty string when the stream ends while it keeps a partial `esc_from`
      (a final `"\r"` or `"\r\n"`), so the channel drops those bytes; this one sends them.
    - Medusa returns an empty string when a whole piece is kept (a piece `"\r"`, as 1-byte
      pieces give), which ends the stream early; this one pulls the next piece.
    - Medusa keeps escaped text, so the end of `esc_to` can join the next piece into another
      `esc_from` and be escaped twice (`"ab"` → `"a"` over `"xab"`, `"by"` gives `"xay"`); this
      one keeps unescaped bytes (`"xaby"`, as over the joined text). The default pair is not
      affected.

    @par Thread safety
    As lines_producer.
*/
class escaping_producer : public producer
{
public:
    /** Construct the producer.

        @param inner The producer whose output is escaped (taken by move); its resume() wakes
        the channel this one is in.
        @param esc_from The bytes to replace.
        @param esc_to The bytes sent in their place.
        @throws std::invalid_argument if `inner` is null or `esc_from` is empty.
    */
    explicit escaping_producer(
        std::unique_ptr<producer> inner,
        std::string esc_from = "\r\n.",
        std::string esc_to = "\r\n.."
    );

    std::string more() override;

    /// The wrapped producer's read_ahead() (true once it is exhausted): more() adds no effect.
    bool read_ahead() const noexcept override;

private:
    std::unique_ptr<producer> inner_; // null once exhausted
    std::string esc_from_;
    std::string esc_to_;
    // Invariant: held_ is a proper prefix of esc_from_, unescaped, that ended the output so far.
    std::string held_;
};

} // namespace asynchat

#endif
