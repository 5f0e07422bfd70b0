// asynchat: the sans-I/O output side of async_chat: the FIFO of data, producers and close marks
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_OUTPUT_QUEUE_HPP
#define ASYNCHAT_DETAIL_OUTPUT_QUEUE_HPP

#include <asynchat/detail/write_pieces.hpp>
#include <asynchat/file_producer.hpp>
#include <asynchat/producer.hpp>

#include <boost/assert.hpp>
#include <boost/container/deque.hpp>
#include <boost/container/options.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace asynchat::detail {

/** CPython's producer_fifo and its initiate_send/refill rules, without any I/O.

    The owner calls prepare() to get the next bytes to write (views into the queue, gathered
    across entries), writes them, then calls consume() with the count written. At most one
    prepared batch is outstanding.

    The queue never calls a producer itself: prepare() says when one is due, and the owner pulls
    it with begin_pull() / end_pull() (or fail_pull()) at a moment of its choosing, where the
    producer's more() may call back into the owner. A producer is due when it is at the head of
    the queue with nothing ahead of it left to write, its own earlier pieces included (CPython's
    moment), or, for a producer whose read_ahead() is true, as soon as the batch reaches it.

    Invariant: a view handed out by prepare() stays valid until the next consume() or prepare(),
    whatever is pushed or discarded meanwhile (entries never move: a deque keeps references
    valid on push_back and pop_front, and discard() keeps the batch).

    An empty queue holds no memory and is 48 bytes: the deque of entries (a
    boost::container::deque, whose object alone is 80 bytes) is made by the first push and leaves
    the queue whenever it drains (std::deque keeps a map and a 512-byte block even when empty,
    which an idle connection would carry for ever).
*/
class output_queue
{
public:
    /// Data up to this size is appended to the last queued entry when it can be.
    static constexpr std::size_t coalesce_limit = 16384;

    output_queue() = default;
    output_queue(output_queue const&) = delete;
    output_queue& operator=(output_queue const&) = delete;
    ~output_queue();

    /// Queue data. Empty data is dropped, as CPython drops it when it reaches the head.
    void push(std::string data);

    /// Queue a copy of `data`.
    void push(std::string_view data)
    {
        if (!append_to_tail(data))
            push_copy(data);
    }
    void push(char const* data) { push(std::string_view(data)); }

    /// The shortest data adopt() takes: shorter, a copy costs less than an entry of its own.
    static constexpr std::size_t adopt_threshold = 4096;

    /** Queue the bytes of `data` (not empty) as an entry of their own, taking its storage
        without a copy: `data` is left empty. Nothing is ever appended to that entry, so a view
        of its bytes stays valid while it is queued. If it throws (std::bad_alloc), `data` is
        untouched.
    */
    void adopt(std::string& data);

    /** Room for `n` more bytes at the end of the last entry, already counted as queued: the
        caller copies them in before anything else touches the queue. Null when they cannot join
        that entry without allocating (then push() them).
    */
    char* append_room(std::size_t n) noexcept
    {
        if (!tail_ || tail_->size() + n > coalesce_limit)
            return nullptr;
        char* const room = tail_->room(n);
        if (room)
            bytes_ += n;
        return room;
    }

    /** Move the storage of the newest entry made by adopt() into `into` (what `into` held is
        freed), unqueuing its bytes, so that a discard() that follows leaves them alive: for a
        channel that discards its queue while its user code may still hold a view of them.
        Nothing if there is none, or only in the batch of a write in flight.
    */
    void reclaim(std::string& into) noexcept;

    /// Queue a producer; it is pulled when due (see the class comment).
    void push(std::unique_ptr<producer> p);

    /// Queue the close mark of close_when_done().
    void push_close();

    /// True when nothing at all is queued.
    bool empty() const noexcept { return entries_.empty(); }

    /// True when a close or error mark is at the head: everything queued before it is written.
    bool mark_due() const noexcept { return !entries_.empty() && entries_.front().mark; }

    /** Pop the mark at the head; false if the head is something else.

        `error` is set to the exception of a failed producer for an error mark (see fail_pull()),
        to null for the close mark of push_close().
    */
    bool pop_mark(std::exception_ptr& error) noexcept;

    /// True between a prepare() that returned bytes and the consume() that follows it, and
    /// between begin_file() and end_file().
    bool in_flight() const noexcept { return in_flight_ || file_ != file_send::none; }

    /// The bytes queued as data or already pulled from producers and not yet consumed.
    std::size_t bytes() const noexcept { return bytes_; }

    /** Gather the next bytes to write into `out` (cleared first); true if a producer is due.

        Pieces are at most `chunk_size` bytes (CPython's ac_out_buffer_size). Gathering stops
        before a mark, after `max_bytes`, after `max_pieces` pieces, and at a producer that may
        give more: what follows it waits until it is exhausted.

        When it returns true, a producer is due: pull it (begin_pull(), then end_pull() or
        fail_pull()) and call prepare() again; `out` holds what was gathered ahead of it, which
        the pull may invalidate. When it returns false and `out` is empty, nothing can be
        written now: the queue is empty or a mark is due.

        `Pieces` is a container with clear(), size() and emplace_back(char const*, size): the
        channel passes write_pieces (detail/write_pieces.hpp), Asio buffers it hands to a write
        as they are; the queue itself knows nothing of Asio. Calls no user code.
    */
    template <class Pieces>
    bool
    prepare(std::size_t chunk_size, std::size_t max_bytes, std::size_t max_pieces, Pieces& out);

    /** prepare() into the queue's own write_pieces, pieces(): the channel's write hands them to
        Asio as they are. They live with the entries, so an idle channel carries no room for
        them (write_pieces is the one piece of Asio, a buffer type, the queue knows).
    */
    bool prepare(std::size_t chunk_size, std::size_t max_bytes, std::size_t max_pieces);

    /** What the last prepare() above gathered. Valid, and unchanged, until the next prepare()
        or consume(), whatever is pushed or discarded meanwhile: the outstanding batch keeps the
        entries, and so the pieces, in place.
    */
    write_pieces const& pieces() const noexcept;

    /// The producer due after prepare() returned true; it stays owned by the queue, or by the
    /// end_pull() that follows if the entry is dropped meanwhile.
    producer& begin_pull() noexcept;

    /** Account the piece returned by the producer being pulled; an empty piece exhausts it,
        unless the producer returned not_ready(): then it waits (see stalled(), wake()).

        Returns the producer when the queue is done with it (exhausted, or its entry was dropped
        by discard() during the pull): the caller destroys it, which may run user code, after
        the queue is consistent. A piece returned by a producer whose entry discard() dropped is
        queued at the head, as CPython's appendleft() does.
    */
    std::unique_ptr<producer> end_pull(std::string piece);

    /** The producer being pulled threw `error`: it is dropped, and an error mark takes its place
        after the data it gave, so that the error is reported once everything ahead is written.
    */
    std::unique_ptr<producer> fail_pull(std::exception_ptr error);

    /// True when the head is a producer waiting for its resume(): nothing can be written.
    bool stalled() const noexcept { return !entries_.empty() && entries_.front().waiting; }

    /// The producers waiting (after not_ready()) may be pulled again.
    void wake() noexcept;

    /// What a producer's resume() wakes (for the owner to listen to after a not_ready()).
    static producer_link& link_of(producer& p) { return *p.link(); }

    /// Remove `n` written bytes from the head; ends the outstanding batch.
    void consume(std::size_t n) noexcept;

    /** Drop everything queued, marks included, except the bytes of an outstanding batch.

        The outstanding batch counts as sent (CPython would already have handed it to the
        kernel), and its views stay valid. The producers dropped are destroyed after the queue is
        consistent again, so a producer's destructor may use the queue.
    */
    void discard() noexcept;

    //------------------------------------------------------------------------
    // Files the owner sends itself (sendfile(2)) instead of pulling them.

    /** The file_producer the owner may send itself now, or null.

        A file is due when it is at the head of the queue with nothing ahead of it left to write
        (its own pieces pulled earlier included), not waiting, no write, pull or file send is
        outstanding, and its file can be sent without reading it (file_producer::zero_copy()):
        the moment at which prepare() would pull it. A file_producer inside another producer is
        never due (the queue sees only the outer one). Calls no user code.
    */
    file_producer* file_due() noexcept;

    /** Begin sending the file that is due (file_due()); null if none is. Until end_file(),
        in_flight() is true: nothing else is prepared, output queued behind it waits.
    */
    file_producer* begin_file() noexcept;

    /// The file being sent: null when none is, or when discard() dropped it meanwhile.
    file_producer* file() const noexcept
    {
        // Invariant: while it is sent, the file is the head entry's producer (nothing is pushed
        // in front of it, and only discard() removes it, which marks it dropped).
        return file_ == file_send::sending
                   ? static_cast<file_producer*>(entries_.front().prod.get())
                   : nullptr;
    }

    /** End the file send begun by begin_file().

        With `drop` (the file ended, or sending it failed), its entry leaves the queue and the
        producer is returned for the caller to destroy (as user code), once the queue is
        consistent; null if discard() dropped it already. Without `drop` (the kernel refused to
        send the file), it stays at the head, to be pulled as any producer.
    */
    std::unique_ptr<producer> end_file(bool drop) noexcept;

private:
    /** The bytes of an entry: a std::string (one pushed by value is moved in, not copied) of
        which the first size() bytes count; those after are room for appends.

        append() copies into that room inline: std::string::append is a call into the shared
        libstdc++ (about 40 instructions around a 32-byte memcpy), which a channel answering
        each of many short messages with a push would pay per message.
    */
    class buffer
    {
    public:
        buffer() = default;
        buffer(std::string s) noexcept : str_(std::move(s)), size_(str_.size()) {}
        buffer& operator=(std::string s) noexcept
        {
            str_ = std::move(s);
            size_ = str_.size();
            return *this;
        }

        char const* data() const noexcept { return str_.data(); }
        std::size_t size() const noexcept { return size_; }

        /// Make room for `n` bytes in all, so that appends up to that allocate nothing.
        void reserve(std::size_t n)
        {
            if (n > str_.size())
                str_.resize(n);
        }

        void append(std::string_view data)
        {
            if (data.empty())
                return; // memcpy wants a valid source even for no bytes
            if (str_.size() - size_ < data.size())
                grow(data.size());
            std::memcpy(str_.data() + size_, data.data(), data.size());
            size_ += data.size();
        }

        /// Room for `n` bytes more, now counted in size(); null when the storage is too small.
        char* room(std::size_t n) noexcept
        {
            if (str_.size() - size_ < n)
                return nullptr;
            char* const at = str_.data() + size_;
            size_ += n;
            return at;
        }

        /// Move the storage, whatever its size, into `into` (freeing what it held), emptying
        /// this buffer.
        void give_all(std::string& into) noexcept
        {
            into = std::move(str_);
            str_ = std::string();
            size_ = 0;
        }

        /// Keep the first `n` bytes (n <= size()); the others' storage stays put.
        void truncate(std::size_t n) noexcept { size_ = n; }

        /// Give the storage to `spare` if it has none and it is at most `limit` bytes (a large
        /// string pushed by value is not kept), emptying this buffer.
        void give(std::string& spare, std::size_t limit) noexcept
        {
            if (spare.empty() && str_.size() <= limit)
                spare.swap(str_);
            size_ = 0;
        }

        /// Take the storage of `spare` if this buffer has none and the spare is large enough
        /// for `n` bytes; true if it did.
        bool take(std::string& spare, std::size_t n) noexcept
        {
            if (!str_.empty() || spare.size() < n)
                return false;
            str_.swap(spare);
            return true;
        }

    private:
        // Make room for `n` more bytes, at least doubling, as std::string::append would.
        void grow(std::size_t n);

        std::string str_;
        std::size_t size_ = 0;
    };

    struct entry
    {
        buffer data;                    // bytes to write; for a producer, those pulled last
        std::size_t offset = 0;         // bytes of `data` already written
        std::unique_ptr<producer> prod; // non-null while the producer may give more
        bool mark = false;              // a close mark (null error) or an error mark
        bool waiting = false;           // the producer returned not_ready()
        bool adopted = false;           // the storage came from adopt()
        std::exception_ptr error;       // an error mark's exception

        bool drained() const noexcept { return offset == data.size(); }
    };
    static constexpr std::uint32_t none = static_cast<std::uint32_t>(-1);
    // The most entries queued at once, so that an entry's index, below it, fits 32 bits and is
    // never `none`.
    static constexpr std::size_t max_entries = none;

    // No producer is due (or pulled).
    void no_due() noexcept
    {
        if (storage* const st = entries_.store())
            st->due = none;
    }

    // The entry of the producer due; only while one is (the queue has entries then).
    std::uint32_t due() const noexcept { return entries_.store()->due; }

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

    // What a queue holds while it is not empty: the entries, the pieces of the write in flight,
    // and the positions that only mean something while entries are queued (an idle channel
    // carries none of them).
    struct storage
    {
        entry_deque entries;
        write_pieces pieces;
        // Where the outstanding batch ends: the entry index, and the offset in that entry's
        // data. Indices are 32-bit: the list refuses an entry beyond max_entries.
        std::size_t batch_end = 0;
        std::uint32_t batch_last = 0;
        // The entry of the producer prepare() found due, then the one being pulled (none if
        // not).
        std::uint32_t due = none;
    };

    // The entries: a storage made on the first push and released when the queue drains, so
    // that an idle queue holds one null pointer instead of a deque object (80 bytes: a map
    // pointer, a size and two iterators of four pointers each) and the pieces (32). The storage
    // a queue releases is kept, with the deque's blocks, for the next queue of the thread that
    // needs one (take_spare()): a channel whose queue drains at every write allocates nothing
    // for it. Only the members the queue uses.
    class entry_list
    {
    public:
        using iterator = entry_deque::iterator;

        entry_list() = default;
        entry_list(entry_list const&) = delete;
        entry_list& operator=(entry_list const&) = delete;
        // The entries die here; the storage goes to the thread's spare, as a drained queue's.
        ~entry_list();

        bool empty() const noexcept { return !d_ || d_->entries.empty(); }
        std::size_t size() const noexcept { return d_ ? d_->entries.size() : 0; }
        entry& front() noexcept { return d_->entries.front(); }
        entry const& front() const noexcept { return d_->entries.front(); }
        entry& back() noexcept { return d_->entries.back(); }
        entry const& back() const noexcept { return d_->entries.back(); }
        entry& operator[](std::size_t i) noexcept { return d_->entries[i]; }
        // A list without storage is an empty range of default iterators.
        iterator begin() noexcept { return d_ ? d_->entries.begin() : iterator(); }
        iterator end() noexcept { return d_ ? d_->entries.end() : iterator(); }

        void push_back(entry&& e) { get().push_back(std::move(e)); }
        void push_front(entry&& e) { get().push_front(std::move(e)); }
        void pop_front() noexcept { d_->entries.pop_front(); }
        void insert(iterator at, entry&& e)
        {
            get(); // checks the bound
            d_->entries.insert(at, std::move(e));
        }
        void erase(iterator first, iterator last) noexcept { d_->entries.erase(first, last); }
        void swap(entry_list& other) noexcept { d_.swap(other.d_); }

        /// The pieces of the storage; null without storage.
        write_pieces* pieces() const noexcept { return d_ ? &d_->pieces : nullptr; }

        /// The storage, which a queue with entries has; null without.
        storage* store() const noexcept { return d_.get(); }

        /// Give the storage to the thread's spares if the list is empty (see output_queue.cpp).
        void release() noexcept;

    private:
        // The deque, made (or taken from the spare) if there is no storage; throws
        // std::length_error if it holds max_entries already.
        entry_deque& get();

        std::unique_ptr<storage> d_;
    };

    // The storages drained queues of this thread released, for the next queues that need one
    // (see output_queue.cpp): take one (null if none), give one back.
    static std::unique_ptr<storage> take_spare() noexcept;
    static void give_spare(std::unique_ptr<storage> s) noexcept;
    // The spares of one thread: as many as its channels had writes in flight at once (a queue
    // drains when its write completes), up to a bound, so that a server answering many peers
    // allocates no storage per write; an idle connection holds none.
    struct spares
    {
        std::array<std::unique_ptr<storage>, 64> free;
        std::size_t count = 0;

        static spares& of_thread() noexcept;
    };

    entry_list entries_;
    std::size_t bytes_ = 0;
    // The data of the last entry while it takes appends (it is data, not a producer or mark,
    // and not in flight), else null. Deque elements stay put as entries come and go, and the
    // storage is released only when no entry is left.
    buffer* tail_ = nullptr;

    // The producer being pulled, when discard() dropped its entry during the pull.
    std::unique_ptr<producer> orphan_;
    // The size of the last data entry written (at most coalesce_limit), reserved for the next
    // one push_copy() makes: a channel answering each read with a batch of small pushes then
    // allocates once a batch.
    std::uint32_t last_batch_ = 0;
    bool in_flight_ = false;
    bool pulling_ = false;
    // Between begin_file() and end_file(), the owner sends the file at the head itself
    // (sending), or did until discard() dropped it (dropped).
    enum class file_send : std::uint8_t
    {
        none,
        sending,
        dropped
    };
    file_send file_ = file_send::none;
};

template <class Pieces>
inline bool output_queue::prepare(
    std::size_t chunk_size, std::size_t max_bytes, std::size_t max_pieces, Pieces& out
)
{
    BOOST_ASSERT(!pulling_);
    out.clear();
    in_flight_ = false;
    no_due();
    pop_finished();
    std::size_t total = 0;
    for (std::size_t i = 0; i < entries_.size() && total < max_bytes && out.size() < max_pieces;
         ++i)
    {
        entry& e = entries_[i];
        if (e.mark)
            break;
        if (e.prod && e.waiting)
            break; // not ready: nothing from here on until its resume()
        if (e.prod)
        {
            // CPython pulls a producer only when it is at the head with nothing ahead of it
            // unwritten, its own last piece included; a producer that allows read-ahead is
            // pulled as soon as the batch reaches it, until it gave `chunk_size` bytes.
            bool const ahead = e.prod->read_ahead();
            if (e.drained() ? (out.empty() || ahead)
                            : (ahead && e.offset == 0 && e.data.size() < chunk_size))
            {
                entries_.store()->due = static_cast<std::uint32_t>(i);
                return true;
            }
        }
        std::size_t pos = e.offset;
        while (pos < e.data.size() && total < max_bytes && out.size() < max_pieces)
        {
            std::size_t const n = std::min({chunk_size, e.data.size() - pos, max_bytes - total});
            out.emplace_back(e.data.data() + pos, n);
            pos += n;
            total += n;
        }
        if (pos != e.offset)
        {
            entries_.store()->batch_last = static_cast<std::uint32_t>(i);
            entries_.store()->batch_end = pos;
        }
        // Stop inside an entry when the budget ran out, and at a producer that may give more.
        if (pos < e.data.size() || e.prod)
            break;
    }
    in_flight_ = !out.empty();
    update_tail();
    return false;
}

} // namespace asynchat::detail

#endif
