// asynchat: fifo, the Python 2.6 queue class kept for ported code
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_FIFO_HPP
#define ASYNCHAT_FIFO_HPP

#include <cstddef>
#include <deque>
#include <optional>
#include <string>

namespace asynchat {

/** A first-in first-out queue of strings.

    async_chat does not use it (its output queue also holds producers); it is kept so that code
    written against Python 2.6's asynchat.fifo ports directly.

    @par Python
    asynchat.fifo (removed from CPython 3; its output queue became a deque). pop() returns
    `std::nullopt` where Python returned `(0, None)`, and the item where it returned `(1, item)`.
*/
class fifo
{
public:
    fifo() = default;

    /// Construct with initial contents, first element at the head.
    explicit fifo(std::deque<std::string> list);

    /// The number of items.
    std::size_t size() const noexcept;

    /// True when the queue holds no item.
    bool is_empty() const noexcept;

    /** Return the item at the head without removing it.

        @throws std::out_of_range if the queue is empty (Python raises IndexError).
    */
    const std::string& first() const;

    /// Append an item at the tail.
    void push(std::string data);

    /// Remove and return the item at the head, or `std::nullopt` if the queue is empty.
    std::optional<std::string> pop();

private:
    std::deque<std::string> list_;
};

} // namespace asynchat

#endif
