// asynchat: the sans-I/O output side of async_chat: the FIFO of data, producers and close marks
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_OUTPUT_QUEUE_HPP
#define ASYNCHAT_DETAIL_OUTPUT_QUEUE_HPP

#include <asynchat/producer.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/container/deque.hpp>
#include <boost/container/options.hpp>
#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace asynchat::detail {

/// The pieces of one write, as the socket code gathers them: most writes are one piece (small
/// pushes coalesce), which then needs no allocation.
using write_pieces = boost::container::small_vector<boost::asio::const_buffer, 1>;

/** CPython's producer_fifo and its initiate_send/refill rules, without any I/O.

    The owner calls prepare() to get the next bytes to write (views into the queue, gathered
    across entries), writes them, then calls consume() with the count written. At most one
    prepared batch is outstanding.

    Invariant: a view handed out by prepare() stays valid until the next consume() or prepare(),
    whatever is pushed or discarded meanwhile (entries never move: a deque keeps references
    valid on push_back and pop_front, and discard() keeps the batch).

    An empty queue holds no memory: boost::container::deque allocates nothing until the first
    push, and its storage is released whenever the queue drains (std::deque keeps a map and a
    512-byte block even when empty, which an idle connection would carry for ever).
*/
class output_queue
{
public:
    /// Data up to this size is appended to the last queued entry when it can be.
    static constexpr std::size_t coalesce_limit = 16384;

    /// Queue data. Empty data is dropped, as CPython drops it when it reaches the head.
    void push(std::string data);

    /// Queue a copy of `data`.
    void push(std::string_view data)
    {
        if (!append_to_tail(data))
            push_copy(data);
    }
    void push(char const* data) { push(std::string_view(data)); }

    /// Queue a producer; its more() is called when it reaches the head.
    void push(std::unique_ptr<producer> p);

    /// Queue the close mark of close_when_done().
    void push_close();

    /// True when nothing at all is queued.
    bool empty() const noexcept { return entries_.empty(); }

    /// True when the close mark is at the head: everything queued before it has been written.
    bool close_due() const noexcept { return !entries_.empty() && entries_.front().close; }

    /// Pop the close mark at the head; false if the head is something else.
    bool pop_close() noexcept;

    /// True between a prepare() that returned bytes and the consume() that follows it.
    bool in_flight() const noexcept { return in_flight_; }

    /// The bytes queued as data or already pulled from producers and not yet consumed.
    std::size_t bytes() const noexcept { return bytes_; }

    /** Gather the next bytes to write into `out` (cleared first).

        Pieces are at most `chunk_size` bytes (CPython's ac_out_buffer_size); a producer is pulled
        until it has given `chunk_size` bytes or is exhausted, and the batch goes past a producer
        only once it is exhausted. Gathering stops before a close mark, after `max_bytes`, or after
        `max_pieces` pieces. An empty `out` with !close_due() means nothing can be written now.

        `Pieces` is a std::vector of std::string_view, or write_pieces for the socket code to
        hand the pieces to a write as they are.

        @throws whatever a producer's more() throws; that producer is dropped (its data already
        pulled stays queued) and `out` is left empty.
    */
    template <class Pieces>
    void prepare(std::size_t chunk_size, std::size_t max_bytes, std::size_t max_pieces, Pieces& out);

    /// Remove `n` written bytes from the head; ends the outstanding batch.
    void consume(std::size_t n) noexcept;

    /** Drop everything queued, close mark included, except the bytes of an outstanding batch.

        The outstanding batch counts as sent (CPython would already have handed it to the
        kernel), and its views stay valid.
    */
    void discard() noexcept;

private:
    struct entry
    {
        std::string data;               // bytes to write; for a producer, those pulled last
        std::size_t offset = 0;         // bytes of `data` already written
        std::unique_ptr<producer> prod; // non-null while the producer may give more
        bool close = false;             // the close mark of close_when_done()

        bool drained() const noexcept { return offset == data.size(); }
    };

    // Pop entries at the head that can give nothing more.
    void pop_finished() noexcept;

    // Append `data` to the last entry if it takes appends (tail_) and stays within
    // coalesce_limit; false if not. Small pushes so make no entry (an allocation and a writev
    // piece each) of their own. Inline: it is the common case, a push per message.
    bool append_to_tail(std::string_view data)
    {
        if (!tail_ || tail_->size() + data.size() > coalesce_limit)
            return false;
        tail_->append(data);
        bytes_ += data.size();
        return true;
    }

    // push(std::string_view) when the data cannot join the last entry.
    void push_copy(std::string_view data);

    // Recompute tail_; every change to the entries but an append calls it.
    void update_tail() noexcept;

    // Pop the head entry, a drained data entry.
    void pop_data() noexcept;

    // After entries were removed: give the storage back if nothing is queued; update_tail().
    void settle() noexcept;

    // Entries are few (small pushes coalesce), so blocks are small.
    using entry_deque = boost::container::
        deque<entry, void, boost::container::deque_options_t<boost::container::block_size<4u>>>;
    entry_deque entries_;
    std::size_t bytes_ = 0;
    // The data of the last entry while it takes appends (it is data, not a producer or close
    // mark, and not in flight), else null. Deque elements stay put as entries come and go.
    std::string* tail_ = nullptr;
    // The size of the last data entry written, reserved for the next one push_copy() makes: a
    // channel answering each read with a batch of small pushes then allocates once a batch.
    std::size_t last_batch_ = 0;
    bool in_flight_ = false;
    // Where the outstanding batch ends: the entry index, and the offset in that entry's data.
    std::size_t batch_last_ = 0;
    std::size_t batch_end_ = 0;
};

extern template void output_queue::prepare(
    std::size_t,
    std::size_t,
    std::size_t,
    std::vector<std::string_view>&
);
extern template void output_queue::prepare(
    std::size_t,
    std::size_t,
    std::size_t,
    write_pieces&
);

} // namespace asynchat::detail

#endif
