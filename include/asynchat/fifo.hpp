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

    @par Thread safety
    A plain container: distinct objects are safe to use from different threads, a shared one is
    not (no member locks).
*/
class fifo
{
public:
    /** An empty queue.

        @par Python
        fifo() (`list=None`).
    */
    fifo() = default;

    /** A queue holding `list`.

        @param list The initial items, the first one at the head (taken by move).

        @par Python
        fifo(list).
    */
    explicit fifo(std::deque<std::string> list);

    /** The number of items in the queue.

        @return The count of items (not of bytes).

        @par Python
        len(fifo).
    */
    std::size_t size() const noexcept;

    /** Whether the queue holds no item.

        @return true when size() is 0.

        @par Python
        fifo.is_empty().
    */
    bool is_empty() const noexcept;

    /** The item at the head, not removed.

        @return A reference to it, valid until the queue is changed.
        @throws std::out_of_range if the queue is empty.

        @par Python
        fifo.first(); CPython raises IndexError.
    */
    const std::string& first() const;

    /** Append an item at the tail.

        @param data The bytes of the item (any, NULs included), taken by move.

        @par Python
        fifo.push(data).
    */
    void push(std::string data);

    /** Remove and return the item at the head.

        @return The item, or `std::nullopt` if the queue is empty (never throws for that).

        @par Python
        fifo.pop(), which returns `(1, item)` or `(0, None)`.
    */
    std::optional<std::string> pop();

private:
    std::deque<std::string> list_;
};

} // namespace asynchat

#endif
