// asynchat: producers, the lazy sources of outgoing data
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_PRODUCER_HPP
#define ASYNCHAT_PRODUCER_HPP

#include <cstddef>
#include <string>

namespace asynchat {

/** A lazy source of outgoing data.

    async_chat calls more() when the producer reaches the head of the output queue and keeps
    calling it, as the socket takes the data, until it returns an empty string.

    @par Python
    Any object with a `more()` method.

    @par Executor
    more() is called on the channel's executor. An exception it throws goes to the channel's
    handle_error(); the producer is not called again.
*/
class producer
{
public:
    virtual ~producer() = default;

    /// Return the next piece of data, or an empty string when exhausted.
    virtual std::string more() = 0;
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
        @throws std::invalid_argument if `buffer_size` is 0 (CPython would loop forever).
    */
    explicit simple_producer(std::string data, std::size_t buffer_size = 512);

    std::string more() override;

private:
    std::string data_;
    std::size_t offset_ = 0;
    std::size_t buffer_size_;
};

} // namespace asynchat

#endif
