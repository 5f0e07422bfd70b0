// asynchat: producers, the lazy sources of outgoing data
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_PRODUCER_HPP
#define ASYNCHAT_PRODUCER_HPP

#include <asynchat/detail/bytes.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace asynchat {

/** A lazy source of outgoing data.

    async_chat calls more() when the producer reaches the head of the output queue and
    everything queued before it, its own earlier pieces included, has been written (handed to
    the operating system): CPython's moment. It keeps calling it, one piece per write, until it
    returns an empty string. So a producer that calls back when it is exhausted (Medusa's
    hooked_producer) runs its callback once all its bytes are written, and may push() more,
    close_when_done() or close() from there.

    A producer whose more() only hands out data it already holds can opt in to read-ahead
    (read_ahead() returning true): it is then pulled as soon as a write reaches it, while what is
    ahead of it is still unwritten, and several of its pieces are gathered into one write. That
    saves a write per piece; simple_producer does it.

    @par Python
    Any object with a `more()` method.

    @par Executor
    more() is called on the channel's executor. It may call any member of its channel (push(),
    close_when_done(), close(), discard_buffers(), ...): they take effect after more() returns.
    An exception it throws is reported to the channel's handle_error() after the bytes queued
    before the producer have been written; the producer is not called again.
*/
class producer
{
public:
    virtual ~producer() = default;

    /// Return the next piece of data, or an empty string when exhausted.
    virtual std::string more() = 0;

    /** Whether more() may be called before what is queued ahead of the producer is written.

        Default false: CPython's moment (see the class comment). Return true only if more() has
        no effect outside the producer (no callback, no clock, no look at the channel).
    */
    virtual bool read_ahead() const noexcept { return false; }
};

/** A producer that hands out a string in pieces of at most `buffer_size` bytes.

    @par Python
    asynchat.simple_producer(data, buffer_size=512).
*/
class simple_producer : public producer
{
public:
    /** Construct the producer.

        @param data The bytes to hand out.
        @param buffer_size The largest piece more() returns.
        @throws std::invalid_argument if `buffer_size` is 0 and `data` is not empty (CPython
        would loop forever); empty data with a size of 0 (`simple_producer(b"", 0)`, as
        `buffer_size=len(thing)` gives) is an exhausted producer, as in CPython.
    */
    explicit simple_producer(std::string data, std::size_t buffer_size = 512);

    /// Hand out a string literal or char array, embedded NULs included.
    template <std::size_t N>
    explicit simple_producer(char const (&data)[N], std::size_t buffer_size = 512)
        : simple_producer(std::string(data, detail::array_bytes(data)), buffer_size)
    {
    }

    /// Refused at compile time: a producer of nothing is `simple_producer("")`.
    simple_producer(std::nullptr_t, std::size_t = 512) = delete;

    std::string more() override;

    /// True: more() only slices the data it holds.
    bool read_ahead() const noexcept override { return true; }

private:
    std::string data_;
    std::size_t offset_ = 0;
    std::size_t buffer_size_;
};

/** The output of several producers, one after the other: each is pulled until it is exhausted,
    then the next.

    Takes the producers as arguments (`composite_producer(std::move(header), std::move(body))`)
    or as a vector: an initializer list cannot hold `std::unique_ptr`.

    @par Python
    Medusa's producers.composite_producer(producers).
*/
class composite_producer : public producer
{
public:
    /** @throws std::invalid_argument if one of `producers` is null. */
    explicit composite_producer(std::vector<std::unique_ptr<producer>> producers);

    /** @throws std::invalid_argument if one of `producers` is null. */
    template <class... P>
    explicit composite_producer(std::unique_ptr<P>... producers)
        : composite_producer(make_list(std::move(producers)...))
    {
    }

    std::string more() override;

    /// True when every producer left is read-ahead.
    bool read_ahead() const noexcept override;

private:
    template <class... P>
    static std::vector<std::unique_ptr<producer>> make_list(std::unique_ptr<P>... producers)
    {
        std::vector<std::unique_ptr<producer>> list;
        list.reserve(sizeof...(P));
        (list.push_back(std::move(producers)), ...);
        return list;
    }

    std::vector<std::unique_ptr<producer>> producers_;
    std::size_t next_ = 0;
};

} // namespace asynchat

#endif
