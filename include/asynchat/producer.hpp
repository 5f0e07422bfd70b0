// asynchat: producers, the lazy sources of outgoing data
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_PRODUCER_HPP
#define ASYNCHAT_PRODUCER_HPP

#include <asynchat/detail/bytes.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace asynchat {

namespace detail {

class output_queue;

// What a waiting producer's resume() wakes: set by the channel the producer waits in. Shared by
// a producer and the producers it wraps (producer::adopt()).
class producer_link
{
public:
    // From any thread: wake the listener (or the wrapping producer's), or remember the wake-up
    // until one listens.
    void resume()
    {
        std::shared_ptr<producer_link> parent;
        std::function<void()> wake;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (parent_)
                parent = parent_;
            else if (wake_)
                wake = wake_;
            else
                pending_ = true;
        }
        if (parent)
            parent->resume();
        else if (wake)
            wake();
    }

    // Listen with `wake` (on the channel's executor); true if a resume() came first, in which
    // case the producer is ready again at once.
    bool listen(std::function<void()> wake)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        wake_ = std::move(wake);
        return std::exchange(pending_, false);
    }

    // The producer that wraps this one: resume() goes to it.
    void set_parent(std::shared_ptr<producer_link> parent)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        parent_ = std::move(parent);
    }

private:
    std::mutex mutex_;
    std::shared_ptr<producer_link> parent_;
    std::function<void()> wake_;
    bool pending_ = false;
};

} // namespace detail

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

    A producer with nothing to give yet, but more to come (a log being tailed, an answer being
    computed elsewhere), returns not_ready() instead of an empty string: the channel stops
    pulling it, without polling, and output queued behind it (close_when_done() included)
    waits, until resume() is called, from any thread. Then more() is called again.

    @par Python
    Any object with a `more()` method. not_ready() is supervisor's `NOT_DONE_YET`, without its
    polling of writable() every 0.1 s; Netty's ChunkedInput returning null plus
    resumeTransfer().

    @par Executor
    more() is called on the channel's executor. It may call any member of its channel (push(),
    close_when_done(), close(), discard_buffers(), ...): they take effect after more() returns.
    An exception it throws is reported to the channel's handle_error() after the bytes queued
    before the producer have been written; the producer is not called again. resume() may be
    called from any thread.
*/
class producer
{
public:
    producer() = default;
    producer(producer const&) = delete;
    producer& operator=(producer const&) = delete;
    virtual ~producer() = default;

    /// Return the next piece of data, an empty string when exhausted, or not_ready().
    virtual std::string more() = 0;

    /** After more() returned not_ready(): the producer has data again; the channel calls more()
        soon, on its executor. Safe from any thread, at any time (a resume() that comes before
        the channel waits is not lost; one too many costs one more() call).
    */
    void resume() { link()->resume(); }

    /** A function that calls resume(), for another thread to keep: it stays valid after the
        producer is gone (it then does nothing that matters), and may be called from any thread.
        Take it before pushing the producer (or on the channel's executor).
    */
    std::function<void()> resumer()
    {
        return [link = link()] { link->resume(); };
    }

    /// True if the last more() returned not_ready() (for producers that wrap others).
    bool waiting() const noexcept { return waiting_; }

    /** Whether more() may be called before what is queued ahead of the producer is written.

        Default false: CPython's moment (see the class comment). Return true only if more() has
        no effect outside the producer (no callback, no clock, no look at the channel).
    */
    virtual bool read_ahead() const noexcept { return false; }

protected:
    /** Return it from more() when there is nothing to give yet but more will come: the channel
        waits for resume() (see the class comment).
    */
    std::string not_ready() noexcept
    {
        waiting_ = true;
        return {};
    }

    /** For a producer that wraps `inner`: `inner.resume()` wakes the channel this producer is in.
        Call it when taking `inner` (before the producer is pushed).
    */
    void adopt(producer& inner) { inner.link()->set_parent(link()); }

    /// Call `inner.more()` for a producer that wraps it; inner.waiting() then tells whether it
    /// returned not_ready().
    static std::string pull(producer& inner)
    {
        inner.waiting_ = false;
        return inner.more();
    }

private:
    friend class detail::output_queue;

    std::shared_ptr<detail::producer_link> const& link()
    {
        if (!link_)
            link_ = std::make_shared<detail::producer_link>();
        return link_;
    }

    std::shared_ptr<detail::producer_link> link_; // made on first use
    bool waiting_ = false;
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

    /// Hand out the C string in a writable char buffer: up to its first NUL.
    template <std::size_t N>
    explicit simple_producer(char (&data)[N], std::size_t buffer_size = 512)
        : simple_producer(std::string(data, detail::buffer_bytes(data)), buffer_size)
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
    or as a vector: an initializer list cannot hold `std::unique_ptr`. While the current one is
    not ready, neither is the composite; its resume() wakes the channel.

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
