// asynchat: the sans-I/O output queue
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/output_queue.hpp>

#include <boost/assert.hpp>

#include <algorithm>
#include <utility>

namespace asynchat::detail {

namespace {

// The storage of the last drained data entry, per thread, for the next push_copy() to take:
// a channel answering each read with small pushes then allocates (and zeroes) no buffer per
// write. One per thread, so an idle connection holds none.
thread_local std::string spare_buffer;

} // namespace

output_queue::spares& output_queue::spares::of_thread() noexcept
{
    thread_local spares s;
    return s;
}

std::unique_ptr<output_queue::storage> output_queue::take_spare() noexcept
{
    spares& s = spares::of_thread();
    if (s.count == 0)
        return nullptr;
    return std::move(s.free[--s.count]);
}

void output_queue::give_spare(std::unique_ptr<storage> st) noexcept
{
    spares& s = spares::of_thread();
    if (s.count != s.free.size())
        s.free[s.count++] = std::move(st);
}

output_queue::entry_deque& output_queue::entry_list::get()
{
    if (!d_)
    {
        d_ = take_spare();
        if (!d_)
            d_ = std::make_unique<storage>();
        d_->due = none; // a spare may have kept the last queue's
    }
    else if (d_->entries.size() == max_entries)
        throw std::length_error("asynchat: more than 2^32 - 1 entries in an output queue");
    return d_->entries;
}

output_queue::entry_list::~entry_list()
{
    if (!d_)
        return;
    d_->entries.clear();
    release();
}

void output_queue::entry_list::release() noexcept
{
    if (!d_ || !d_->entries.empty())
        return;
    give_spare(std::move(d_));
}

bool output_queue::prepare(std::size_t chunk_size, std::size_t max_bytes, std::size_t max_pieces)
{
    // Drop what is finished first: that may release the storage, and the pieces with it.
    pop_finished();
    if (write_pieces* const own = entries_.pieces())
        return prepare(chunk_size, max_bytes, max_pieces, *own);
    write_pieces none; // an empty queue: nothing is gathered
    return prepare(chunk_size, max_bytes, max_pieces, none);
}

write_pieces const& output_queue::pieces() const noexcept
{
    static write_pieces const none;
    write_pieces const* const own = entries_.pieces();
    return own ? *own : none;
}

void output_queue::buffer::grow(std::size_t n)
{
    str_.resize(std::max(size_ + n, 2 * str_.size()));
}

output_queue::~output_queue()
{
    // A producer's destructor may look at the queue (through its channel): empty it first.
    entry_list dying;
    dying.swap(entries_);
    bytes_ = 0;
    tail_ = nullptr;
}

void output_queue::update_tail() noexcept
{
    bool const open = !entries_.empty() && !entries_.back().prod && !entries_.back().mark &&
                      !entries_.back().adopted &&
                      !(in_flight_ && entries_.store()->batch_last + 1 >= entries_.size());
    tail_ = open ? &entries_.back().data : nullptr;
}

void output_queue::push(std::string data)
{
    if (data.empty() || append_to_tail(data))
        return;
    bytes_ += data.size();
    entries_.push_back(entry{std::move(data), 0, nullptr, false, false, false, nullptr});
    update_tail();
}

void output_queue::adopt(std::string& data)
{
    BOOST_ASSERT(!data.empty());
    // The entry first: if the deque cannot grow, nothing has moved yet.
    entries_.push_back(entry{});
    std::size_t const n = data.size();
    entries_.back().data = std::move(data);
    entries_.back().adopted = true;
    data.clear();
    bytes_ += n;
    update_tail();
}

void output_queue::push_copy(std::string_view data)
{
    if (data.empty())
        return;
    std::size_t const room =
        std::min(std::max<std::size_t>(data.size(), last_batch_), coalesce_limit);
    buffer copy;
    if (!copy.take(spare_buffer, room) && data.size() >= room)
    {
        copy = std::string(data); // no room to zero first (reserve() would)
    }
    else
    {
        copy.reserve(room);
        copy.append(data);
    }
    bytes_ += data.size();
    entries_.push_back(entry{std::move(copy), 0, nullptr, false, false, false, nullptr});
    update_tail();
}

void output_queue::push(std::unique_ptr<producer> p)
{
    if (p)
        entries_.push_back(entry{{}, 0, std::move(p), false, false, false, nullptr});
    update_tail();
}

void output_queue::push_close()
{
    entries_.push_back(entry{{}, 0, nullptr, true, false, false, nullptr});
    update_tail();
}

bool output_queue::pop_mark(std::exception_ptr& error) noexcept
{
    if (!in_flight_ && !pulling_)
        pop_finished(); // a producer exhausted (or failed) just before the mark
    if (!mark_due())
        return false;
    BOOST_ASSERT(!in_flight_ && !pulling_);
    error = std::move(entries_.front().error);
    entries_.pop_front();
    settle();
    return true;
}

void output_queue::settle() noexcept
{
    entries_.release();
    update_tail();
}

void output_queue::pop_data() noexcept
{
    last_batch_ =
        static_cast<std::uint32_t>(std::min(entries_.front().data.size(), coalesce_limit));
    entries_.front().data.give(spare_buffer, coalesce_limit);
    entries_.pop_front();
}

void output_queue::pop_finished() noexcept
{
    while (!entries_.empty() && !entries_.front().mark && !entries_.front().prod &&
           entries_.front().drained())
        pop_data();
    settle();
}

producer& output_queue::begin_pull() noexcept
{
    BOOST_ASSERT(entries_.store() && due() != none && !pulling_ && entries_[due()].prod);
    in_flight_ = false; // whatever prepare() gathered ahead is gathered again afterwards
    pulling_ = true;
    update_tail();
    producer& p = *entries_[due()].prod;
    p.waiting_ = false;
    return p;
}

std::unique_ptr<producer> output_queue::end_pull(std::string piece)
{
    BOOST_ASSERT(pulling_);
    pulling_ = false;
    std::unique_ptr<producer> done;
    if (orphan_)
    {
        // discard() dropped the entry during the pull. CPython puts the piece back at the head
        // of the (cleared) FIFO, before anything the producer pushed meanwhile.
        done = std::move(orphan_);
        if (!piece.empty())
        {
            bytes_ += piece.size();
            entries_.push_front(entry{std::move(piece), 0, nullptr, false, false, false, nullptr});
        }
    }
    else
    {
        entry& e = entries_[due()];
        if (piece.empty() && e.prod->waiting_)
            e.waiting = true;
        else if (piece.empty())
            done = std::move(e.prod);
        else
        {
            bytes_ += piece.size();
            if (e.drained())
            {
                e.data = std::move(piece);
                e.offset = 0;
            }
            else
                e.data.append(piece);
        }
    }
    no_due();
    update_tail();
    return done;
}

std::unique_ptr<producer> output_queue::fail_pull(std::exception_ptr error)
{
    BOOST_ASSERT(pulling_);
    pulling_ = false;
    std::unique_ptr<producer> done;
    if (orphan_)
        done = std::move(orphan_);
    else
    {
        done = std::move(entries_[due()].prod);
        auto const at = entries_.begin() + static_cast<std::ptrdiff_t>(due() + 1);
        entries_.insert(at, entry{{}, 0, nullptr, true, false, false, std::move(error)});
    }
    no_due();
    update_tail();
    return done;
}

void output_queue::wake() noexcept
{
    for (entry& e : entries_)
        e.waiting = false;
}

void output_queue::consume(std::size_t n) noexcept
{
    BOOST_ASSERT(!pulling_);
    in_flight_ = false;
    bytes_ -= std::min(n, bytes_);
    while (n != 0 && !entries_.empty())
    {
        entry& e = entries_.front();
        std::size_t const take = std::min(n, e.data.size() - e.offset);
        e.offset += take;
        n -= take;
        if (!e.drained() || e.prod || e.mark)
            break;
        pop_data();
    }
    pop_finished();
}

void output_queue::discard() noexcept
{
    // What is dropped dies at the end, once the queue is consistent: a producer's destructor is
    // user code, and may push or discard again.
    entry_list dying;
    if (file_ == file_send::sending)
        file_ = file_send::dropped; // a file being sent is at the head, with no batch: it goes too
    if (pulling_ && !orphan_)
        orphan_ = std::move(entries_[due()].prod);
    if (!in_flight_)
    {
        dying.swap(entries_);
        bytes_ = 0;
        settle();
        return;
    }
    // Keep exactly the outstanding batch: moving the entries after it out leaves the remaining
    // ones in place, and truncating a buffer never moves its bytes.
    auto const keep =
        entries_.begin() + static_cast<std::ptrdiff_t>(entries_.store()->batch_last + 1);
    for (auto it = keep; it != entries_.end(); ++it)
        dying.push_back(std::move(*it));
    entries_.erase(keep, entries_.end());
    entry& last = entries_.back();
    last.data.truncate(entries_.store()->batch_end);
    std::unique_ptr<producer> const last_producer = std::move(last.prod);
    bytes_ = 0;
    for (entry const& e : entries_)
        bytes_ += e.data.size() - e.offset;
    settle();
}

void output_queue::reclaim(std::string& into) noexcept
{
    // The entries after the batch of a write in flight, newest first: the batch's bytes are
    // the write's buffers.
    std::size_t const first =
        in_flight_ ? std::size_t(entries_.store()->batch_last) + 1 : std::size_t(0);
    for (std::size_t i = entries_.size(); i-- > first;)
    {
        if (!entries_[i].adopted)
            continue;
        entry& e = entries_[i];
        bytes_ -= e.data.size() - e.offset;
        e.data.give_all(into);
        e.offset = 0;
        e.adopted = false;
        return;
    }
}

file_producer* output_queue::file_due() noexcept
{
    if (in_flight_ || file_ != file_send::none || pulling_)
        return nullptr;
    pop_finished();
    if (entries_.empty())
        return nullptr;
    entry& e = entries_.front();
    // The moment CPython would call more(): the head, with all it gave written.
    if (!e.prod || e.waiting || !e.drained())
        return nullptr;
    auto* const file = dynamic_cast<file_producer*>(e.prod.get());
    return file && file->zero_copy() ? file : nullptr;
}

file_producer* output_queue::begin_file() noexcept
{
    file_producer* const file = file_due();
    if (file)
    {
        file_ = file_send::sending;
    }
    return file;
}

std::unique_ptr<producer> output_queue::end_file(bool drop) noexcept
{
    BOOST_ASSERT(file_ != file_send::none);
    bool const sending = file_ == file_send::sending;
    file_ = file_send::none;
    std::unique_ptr<producer> done;
    if (sending && drop)
    {
        // Invariant: the file being sent is the head entry (nothing is pushed in front of it,
        // and only discard() removes it, which marks it dropped).
        BOOST_ASSERT(!entries_.empty() && entries_.front().prod);
        done = std::move(entries_.front().prod);
        pop_finished(); // now a drained data entry
    }
    return done;
}

} // namespace asynchat::detail
