// asynchat: the sans-I/O output queue
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/output_queue.hpp>

#include <algorithm>
#include <utility>

namespace asynchat::detail {

void output_queue::update_tail() noexcept
{
    bool const open = !entries_.empty() && !entries_.back().prod && !entries_.back().close &&
                      !(in_flight_ && batch_last_ + 1 >= entries_.size());
    tail_ = open ? &entries_.back().data : nullptr;
}

void output_queue::push(std::string data)
{
    if (data.empty() || append_to_tail(data))
        return;
    bytes_ += data.size();
    entries_.push_back(entry{std::move(data), 0, nullptr, false});
    update_tail();
}

void output_queue::push_copy(std::string_view data)
{
    if (data.empty())
        return;
    std::string copy;
    copy.reserve(std::min(std::max(data.size(), last_batch_), coalesce_limit));
    copy.assign(data);
    bytes_ += data.size();
    entries_.push_back(entry{std::move(copy), 0, nullptr, false});
    update_tail();
}

void output_queue::push(std::unique_ptr<producer> p)
{
    if (p)
        entries_.push_back(entry{{}, 0, std::move(p), false});
    update_tail();
}

void output_queue::push_close()
{
    entries_.push_back(entry{{}, 0, nullptr, true});
    update_tail();
}

bool output_queue::pop_close() noexcept
{
    if (!close_due())
        return false;
    entries_.pop_front();
    settle();
    return true;
}

void output_queue::settle() noexcept
{
    if (entries_.empty())
        entries_.shrink_to_fit();
    update_tail();
}

void output_queue::pop_data() noexcept
{
    last_batch_ = entries_.front().data.size();
    entries_.pop_front();
}

void output_queue::pop_finished() noexcept
{
    while (!entries_.empty() && !entries_.front().close && !entries_.front().prod &&
           entries_.front().drained())
        pop_data();
    settle();
}

template <class Pieces>
void output_queue::prepare(std::size_t chunk_size, std::size_t max_bytes, std::size_t max_pieces, Pieces& out)
{
    out.clear();
    in_flight_ = false;
    pop_finished();
    std::size_t total = 0;
    for (std::size_t i = 0; i < entries_.size() && total < max_bytes && out.size() < max_pieces;
         ++i)
    {
        entry& e = entries_[i];
        if (e.close)
            break;
        if (e.drained() && e.prod)
        {
            // Refill from the producer, as CPython's initiate_send does when it reaches the head.
            // Nothing of e.data is in flight (a batch is consumed before the next prepare), so
            // it can be reused.
            e.data.clear();
            e.offset = 0;
            try
            {
                while (e.data.size() < chunk_size)
                {
                    std::string more = e.prod->more();
                    if (more.empty())
                    {
                        e.prod.reset();
                        break;
                    }
                    bytes_ += more.size();
                    if (e.data.empty())
                        e.data = std::move(more);
                    else
                        e.data += more;
                }
            }
            catch (...)
            {
                e.prod.reset();
                out.clear();
                throw;
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
            batch_last_ = i;
            batch_end_ = pos;
        }
        // Stop inside an entry when the budget ran out, and at a producer that may give more:
        // what follows it must wait until it is exhausted.
        if (pos < e.data.size() || e.prod)
            break;
    }
    in_flight_ = !out.empty();
    if (!in_flight_)
        pop_finished(); // producers exhausted just now must not make the queue look non-empty
    update_tail();
}

template void output_queue::prepare(
    std::size_t,
    std::size_t,
    std::size_t,
    std::vector<std::string_view>&
);
template void output_queue::prepare(
    std::size_t,
    std::size_t,
    std::size_t,
    write_pieces&
);

void output_queue::consume(std::size_t n) noexcept
{
    in_flight_ = false;
    bytes_ -= std::min(n, bytes_);
    while (n != 0 && !entries_.empty())
    {
        entry& e = entries_.front();
        std::size_t const take = std::min(n, e.data.size() - e.offset);
        e.offset += take;
        n -= take;
        if (!e.drained() || e.prod || e.close)
            break;
        pop_data();
    }
    pop_finished();
}

void output_queue::discard() noexcept
{
    if (!in_flight_)
    {
        entries_.clear();
        bytes_ = 0;
        settle();
        return;
    }
    // Keep exactly the outstanding batch: erasing at the end of a deque leaves the remaining
    // entries in place, and shrinking a string never moves its bytes.
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(batch_last_ + 1), entries_.end());
    entry& last = entries_.back();
    last.data.resize(batch_end_);
    last.prod.reset();
    bytes_ = 0;
    for (entry const& e : entries_)
        bytes_ += e.data.size() - e.offset;
    settle();
}

} // namespace asynchat::detail
