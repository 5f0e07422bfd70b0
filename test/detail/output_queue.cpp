// asynchat: tests of the sans-I/O output queue
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/detail/output_queue.hpp>

#define BOOST_TEST_MODULE output_queue
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/write_pieces.hpp"

using asynchat::producer;
using asynchat::simple_producer;
using asynchat::detail::output_queue;
using asynchat::detail::write_pieces;
using asynchat::test::strings;
using asynchat::test::view;
using asynchat::test::views;

// Every allocation of this test program is counted, so that a test can see what a queue holds.
namespace {
std::atomic<long> live_allocations{0};
}

void* operator new(std::size_t n)
{
    if (void* p = std::malloc(n == 0 ? 1 : n))
    {
        ++live_allocations;
        return p;
    }
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept
{
    if (p)
    {
        --live_allocations;
        std::free(p);
    }
}

void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

constexpr std::size_t big = 1 << 20;

// Pull the producer prepare() found due, as the channel does.
void pull(output_queue& q)
{
    producer& p = q.begin_pull();
    try
    {
        q.end_pull(p.more());
    }
    catch (...)
    {
        q.fail_pull(std::current_exception());
    }
}

// Prepare the next write, pulling the producers that are due.
template <class Pieces>
void prepare(
    output_queue& q,
    std::size_t chunk,
    std::size_t max_bytes,
    std::size_t max_pieces,
    Pieces& pieces
)
{
    while (q.prepare(chunk, max_bytes, max_pieces, pieces))
        pull(q);
}

// What one write would carry, as one string.
std::string take(
    output_queue& q,
    std::size_t chunk = 65536,
    std::size_t max_bytes = big,
    std::size_t max_pieces = 64
)
{
    write_pieces pieces;
    prepare(q, chunk, max_bytes, max_pieces, pieces);
    std::string out;
    for (auto p : views(pieces))
        out += p;
    return out;
}

// Write everything, `n` bytes per write at most, until the queue is empty or at a close mark.
std::string drain(output_queue& q, std::size_t per_write = big, std::size_t chunk = 65536)
{
    std::string out;
    for (;;)
    {
        std::string batch = take(q, chunk);
        if (batch.empty())
            return out;
        std::size_t n = std::min(per_write, batch.size());
        out += batch.substr(0, n);
        q.consume(n);
    }
}

struct counting_producer : producer
{
    std::vector<std::string> pieces;
    std::size_t calls = 0;
    explicit counting_producer(std::vector<std::string> p) : pieces(std::move(p)) {}
    std::string more() override
    {
        ++calls;
        if (calls > pieces.size())
            return {};
        return pieces[calls - 1];
    }
};

struct throwing_producer : producer
{
    std::string more() override { throw std::runtime_error("producer failed"); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(fifo_order)

BOOST_AUTO_TEST_CASE(data_and_producers_leave_in_push_order)
{
    // Setup
    output_queue q;
    q.push("one ");
    q.push(std::make_unique<simple_producer>("two three ", 3));
    q.push("four ");
    q.push(std::make_unique<counting_producer>(std::vector<std::string>{"five ", "six"}));

    // Event, check
    BOOST_TEST(drain(q) == "one two three four five six");
    BOOST_TEST(q.empty());
    BOOST_TEST(q.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(gathers_several_entries_into_one_write)
{
    // Entries too large to coalesce, and a producer between them, go out in one batch.
    output_queue q;
    for (int i = 0; i < 5; ++i)
        q.push(std::string(output_queue::coalesce_limit, static_cast<char>('a' + i)));
    q.push(std::make_unique<simple_producer>("from a producer"));
    write_pieces pieces;
    prepare(q, 65536, big, 64, pieces);
    BOOST_TEST(pieces.size() == 6u);
    BOOST_TEST(q.in_flight());
}

BOOST_AUTO_TEST_CASE(small_pushes_coalesce_into_one_piece)
{
    // Setup, event: 1000 small lines, as a line protocol answers them.
    output_queue q;
    std::string expected;
    for (int i = 0; i < 1000; ++i)
    {
        std::string const line = "line " + std::to_string(i) + "\n";
        q.push(std::string_view(line));
        expected += line;
    }

    // Check: few pieces, the bytes unchanged and in order.
    write_pieces pieces;
    prepare(q, 65536, big, 64, pieces);
    BOOST_TEST(pieces.size() == 1u);
    BOOST_TEST(q.bytes() == expected.size());
    q.consume(0);
    BOOST_TEST(drain(q) == expected);
}

BOOST_AUTO_TEST_CASE(no_coalescing_into_a_batch_in_flight_a_producer_or_a_close_mark)
{
    // Setup: a batch in flight.
    output_queue q;
    q.push("first");
    write_pieces pieces;
    prepare(q, 65536, big, 64, pieces);
    char const* const before = view(pieces[0]).data();

    // Event: pushes while it is in flight, then after a producer and a close mark.
    for (int i = 0; i < 100; ++i)
        q.push(std::string(100, 'y'));
    q.push(std::make_unique<simple_producer>("P"));
    q.push("after producer");
    q.push_close();
    q.push("after close");

    // Check: the batch's bytes did not move; the order holds; nothing passes the mark.
    BOOST_TEST(view(pieces[0]).data() == before);
    BOOST_TEST(view(pieces[0]) == "first");
    q.consume(5);
    BOOST_TEST(drain(q) == std::string(10000, 'y') + "Pafter producer");
    BOOST_TEST(q.mark_due());
}

BOOST_AUTO_TEST_CASE(empty_data_is_dropped)
{
    output_queue q;
    q.push(std::string());
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(partial_writes_resume_where_they_stopped)
{
    output_queue q;
    q.push("abcdef");
    q.push(std::make_unique<simple_producer>("ghijkl", 2));
    q.push("mn");
    BOOST_TEST(drain(q, 1) == "abcdefghijklmn");
    BOOST_TEST(drain(q, 3).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(pieces_are_at_most_the_chunk_size)
{
    output_queue q;
    q.push(std::string(10, 'x'));
    write_pieces pieces;
    prepare(q, 4, big, 64, pieces);
    BOOST_TEST(pieces.size() == 3u);
    BOOST_TEST(view(pieces[0]).size() == 4u);
    BOOST_TEST(view(pieces[2]).size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_write_stops_at_max_bytes_and_max_pieces)
{
    // Entries at the coalescing limit stay apart.
    output_queue q;
    std::size_t const n = output_queue::coalesce_limit;
    for (int i = 0; i < 5; ++i)
        q.push(std::string(n, 'a'));
    BOOST_TEST(take(q, 65536, 6).size() == 6u);
    q.consume(0);
    BOOST_TEST(take(q, 65536, big, 2).size() == 2 * n);
}

BOOST_AUTO_TEST_CASE(a_read_ahead_producer_is_pulled_up_to_the_chunk_size_and_no_further)
{
    // Setup
    struct ahead : counting_producer
    {
        using counting_producer::counting_producer;
        bool read_ahead() const noexcept override { return true; }
    };
    output_queue q;
    q.push("x");
    auto p = std::make_unique<ahead>(std::vector<std::string>{"ab", "cd", "ef", "gh"});
    auto* raw = p.get();
    q.push(std::move(p));
    q.push("after");

    // Event: a chunk size of 4 takes two pieces of the producer, behind unwritten data.
    std::string first = take(q, 4);

    // Check: nothing after the live producer overtakes it.
    BOOST_TEST(first == "xabcd");
    BOOST_TEST(raw->calls == 2u);
    q.consume(first.size());
    BOOST_TEST(drain(q, big, 4) == "efghafter");
}

BOOST_AUTO_TEST_CASE(a_producer_is_due_only_once_everything_ahead_is_written)
{
    // Setup: data ahead of a producer that is not read-ahead.
    output_queue q;
    q.push("ahead");
    auto p = std::make_unique<counting_producer>(std::vector<std::string>{"ab", "cd"});
    auto* raw = p.get();
    q.push(std::move(p));
    q.push("after");
    write_pieces pieces;

    // Event, check: the first write carries only what is ahead; the producer is not due.
    BOOST_TEST(!q.prepare(65536, big, 64, pieces));
    BOOST_TEST(pieces.size() == 1u);
    BOOST_TEST(raw->calls == 0u);

    // Event, check: a partial write; still not due, its rest comes first.
    q.consume(2);
    BOOST_TEST(!q.prepare(65536, big, 64, pieces));
    BOOST_TEST(view(pieces.at(0)) == "ead");
    BOOST_TEST(raw->calls == 0u);

    // Event, check: written; now it is due, and one piece goes out per write.
    q.consume(3);
    BOOST_TEST(q.prepare(65536, big, 64, pieces));
    pull(q);
    BOOST_TEST(raw->calls == 1u);
    BOOST_TEST(take(q) == "ab");
    BOOST_TEST(raw->calls == 1u);
    q.consume(2);
    BOOST_TEST(take(q) == "cd");
    BOOST_TEST(raw->calls == 2u);
    q.consume(2);
    BOOST_TEST(take(q) == "after"); // the third call exhausted (and destroyed) it
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(close_mark)

BOOST_AUTO_TEST_CASE(stops_the_batch_and_surfaces_when_reached)
{
    // Setup
    output_queue q;
    q.push("before");
    q.push_close();
    q.push("after");

    // Event, check
    BOOST_TEST(!q.mark_due());
    BOOST_TEST(drain(q) == "before");
    BOOST_TEST(q.mark_due());
    std::exception_ptr error;
    BOOST_TEST(q.pop_mark(error));
    BOOST_TEST(!error);
    BOOST_TEST(!q.pop_mark(error));
}

BOOST_AUTO_TEST_CASE(reached_through_an_exhausted_producer)
{
    output_queue q;
    q.push(std::make_unique<simple_producer>(""));
    q.push_close();
    BOOST_TEST(take(q).empty());
    BOOST_TEST(q.mark_due());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(discard)

BOOST_AUTO_TEST_CASE(drops_everything_when_nothing_is_in_flight)
{
    output_queue q;
    q.push("a");
    q.push_close();
    q.discard();
    BOOST_TEST(q.empty());
    BOOST_TEST(!q.mark_due());
}

BOOST_AUTO_TEST_CASE(keeps_the_batch_in_flight_intact)
{
    // Setup: a batch that ends inside the second entry.
    output_queue q;
    q.push("abc");
    q.push(std::string(output_queue::coalesce_limit, 'x')); // too big to join "abc"
    q.push("zzz");
    write_pieces pieces;
    prepare(q, 65536, 5, 64, pieces);
    std::string const before = std::string(view(pieces[0])) + std::string(view(pieces[1]));

    // Event
    q.discard();

    // Check: the views still read the same bytes; only they remain.
    std::string const after = std::string(view(pieces[0])) + std::string(view(pieces[1]));
    BOOST_TEST(after == before);
    BOOST_TEST(after == "abcxx");
    BOOST_TEST(q.bytes() == 5u);
    q.consume(5);
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(a_throwing_producer_is_dropped_and_the_rest_goes_on)
{
    // Setup
    output_queue q;
    q.push("ok ");
    q.push(std::make_unique<throwing_producer>());
    q.push("still");

    // Event, check: what is ahead goes out, then the error mark is due, then the rest.
    BOOST_TEST(drain(q) == "ok ");
    BOOST_TEST(q.mark_due());
    std::exception_ptr error;
    BOOST_TEST(q.pop_mark(error));
    BOOST_CHECK_THROW(std::rethrow_exception(error), std::runtime_error);
    BOOST_TEST(drain(q) == "still");
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(views_survive_later_pushes)
{
    output_queue q;
    q.push("first");
    write_pieces pieces;
    prepare(q, 65536, big, 64, pieces);
    for (int i = 0; i < 1000; ++i)
        q.push(std::string(100, 'y'));
    BOOST_TEST(view(pieces[0]) == "first");
}

BOOST_AUTO_TEST_CASE(random_operations_keep_the_order_and_the_batch_in_flight)
{
    // Pushes of every kind, partial writes and close marks in random order: what is written is
    // what was pushed, in order, and a batch's bytes never change while it is in flight (the
    // coalescing fast path must never append to it). Under ASan a dangling view fails too.
    std::mt19937 rng(20261123);
    auto const below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto const text = [&](std::size_t n)
    {
        std::string t(n, ' ');
        for (char& c : t)
            c = static_cast<char>('a' + below(26));
        return t;
    };
    for (int round = 0; round < 200; ++round)
    {
        output_queue q;
        std::string expected, written;
        write_pieces pieces;
        std::vector<std::string> copies;
        for (int step = 0; step < 300; ++step)
        {
            switch (below(8))
            {
            case 0:
            case 1: {
                std::string const t = text(below(40));
                expected += t;
                q.push(std::string_view(t));
                break;
            }
            case 2: {
                std::string t = text(below(3) == 0 ? below(40000) : below(16));
                expected += t;
                q.push(std::move(t));
                break;
            }
            case 3: {
                std::vector<std::string> chunks;
                for (std::size_t k = below(4); k > 0; --k)
                    chunks.push_back(text(1 + below(5000)));
                for (auto const& c : chunks)
                    expected += c;
                q.push(std::make_unique<counting_producer>(chunks));
                break;
            }
            case 4:
                if (below(10) == 0)
                    q.push_close();
                break;
            default:
                if (!q.in_flight())
                {
                    prepare(q, 1 + below(70000), 1 + below(100000), 1 + below(64), pieces);
                    copies = strings(pieces);
                    std::exception_ptr error;
                    if (pieces.empty() && q.mark_due())
                        q.pop_mark(error);
                }
                else
                {
                    std::string batch;
                    for (auto p : views(pieces))
                        batch += p;
                    std::size_t const n = below(batch.size() + 1);
                    written += batch.substr(0, n);
                    q.consume(n);
                }
            }
            if (q.in_flight())
                BOOST_TEST_REQUIRE((strings(pieces) == copies));
        }
        // Write the rest, passing the close marks.
        for (int guard = 0; guard < 100000 && !q.empty(); ++guard)
        {
            if (q.in_flight())
            {
                std::string batch;
                for (auto p : views(pieces))
                    batch += p;
                written += batch;
                q.consume(batch.size());
            }
            prepare(q, 65536, big, 64, pieces);
            std::exception_ptr error;
            if (pieces.empty())
                q.pop_mark(error);
        }
        BOOST_TEST_REQUIRE(written == expected, "round " << round);
        BOOST_TEST(q.empty());
        BOOST_TEST(q.bytes() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(a_drained_queue_holds_no_memory)
{
    // An idle connection's queue must not keep storage: check with the allocation count.
    output_queue q;
    long const before = live_allocations;
    for (int round = 0; round < 3; ++round)
    {
        for (int i = 0; i < 100; ++i)
            q.push(std::string_view("a line of text that is not short\n"));
        q.push(std::string(20000, 'x'));
        q.push(std::make_unique<simple_producer>("produced"));
        BOOST_TEST(live_allocations > before);
        drain(q);
        BOOST_TEST(q.empty());
        BOOST_TEST(live_allocations == before, "round " << round);
    }
    // discard() too.
    q.push(std::string(100, 'y'));
    q.discard();
    BOOST_TEST(live_allocations == before);
}

BOOST_AUTO_TEST_CASE(adopt_queues_the_storage_itself_and_nothing_joins_it)
{
    // Setup: a short entry ahead, and a message the queue would join to it if pushed.
    output_queue q;
    q.push(std::string_view("> "));
    std::string message(output_queue::adopt_threshold + 1, 'm');
    char const* const bytes = message.data();
    long const before = live_allocations;

    // Event: adopted, then a short push after it.
    q.adopt(message);
    long const adopted = live_allocations;
    q.push(std::string_view("\n"));

    // Check: the string was emptied and its bytes are written from where they were (no
    // copy, no allocation of the message's size: at most the deque's block); the short push
    // made an entry of its own instead of growing the adopted one, though it had room.
    BOOST_TEST(message.empty());
    BOOST_TEST(adopted - before <= 1);
    BOOST_TEST(q.bytes() == output_queue::adopt_threshold + 4);
    write_pieces pieces;
    prepare(q, 65536, big, 64, pieces);
    auto const written = views(pieces);
    BOOST_TEST_REQUIRE(written.size() == 3u);
    BOOST_TEST(written[0] == "> ");
    BOOST_TEST(static_cast<void const*>(written[1].data()) == static_cast<void const*>(bytes));
    BOOST_TEST(written[1] == std::string(output_queue::adopt_threshold + 1, 'm'));
    BOOST_TEST(written[2] == "\n");
    q.consume(q.bytes());
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(reclaim_takes_the_newest_adopted_storage_back_before_a_discard)
{
    // Setup: two adopted messages behind a write in flight.
    output_queue q;
    q.push(std::string_view("in flight"));
    write_pieces pieces;
    prepare(q, 65536, big, 64, pieces);
    std::string first(output_queue::coalesce_limit + 1, '1');
    std::string second(output_queue::coalesce_limit + 2, '2');
    char const* const second_bytes = second.data();
    q.adopt(first);
    q.adopt(second);
    q.push(std::string_view("tail"));

    // Event: reclaimed, then everything not in flight discarded.
    std::string back;
    q.reclaim(back);
    q.discard();

    // Check: the newest adopted bytes came back where they were, uncounted; the write in
    // flight is kept and ends the queue.
    BOOST_TEST(static_cast<void const*>(back.data()) == static_cast<void const*>(second_bytes));
    BOOST_TEST(back == std::string(output_queue::coalesce_limit + 2, '2'));
    BOOST_TEST(q.bytes() == 9u);
    q.consume(9);
    BOOST_TEST(take(q).empty());
    BOOST_TEST(q.empty());

    // A queue with nothing adopted leaves `back` alone.
    std::string none;
    q.push(std::string_view("short"));
    q.reclaim(none);
    BOOST_TEST(none.empty());
    BOOST_TEST(q.bytes() == 5u);
}

//----------------------------------------------------------------------------
// Files the channel sends itself with sendfile(2): when one is due.

namespace {

// A file_producer over an unnamed temporary file holding `content`.
std::unique_ptr<asynchat::file_producer>
temp_file(std::string const& content, std::size_t buffer_size = 65536)
{
    std::FILE* const f = std::tmpfile();
    BOOST_TEST_REQUIRE(f != nullptr);
    BOOST_TEST_REQUIRE(std::fwrite(content.data(), 1, content.size(), f) == content.size());
    std::fflush(f);
    std::rewind(f); // the producer starts where the descriptor stands
    auto file = std::make_unique<asynchat::file_producer>(fileno(f), buffer_size);
    std::fclose(f); // the producer has its own descriptor
    return file;
}

// Not ready until the test says so.
struct gate : producer
{
    bool open = false;
    std::string more() override { return open ? std::string() : not_ready(); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(files)

BOOST_AUTO_TEST_CASE(a_file_is_due_at_the_head_once_everything_ahead_is_written)
{
    // Setup: data, a file, data.
    output_queue q;
    q.push("ahead\n");
    auto owned = temp_file("file contents\n");
    asynchat::file_producer* const file = owned.get();
    q.push(std::move(owned));
    q.push("behind\n");

    // Check: not due behind unwritten data, nor while that data is in flight; the batch stops
    // at the file.
    BOOST_TEST(q.file_due() == nullptr);
    BOOST_TEST(take(q) == "ahead\n");
    BOOST_TEST(q.file_due() == nullptr);

    // Event: the data is written.
    q.consume(6);

    // Check: the file is due; while it is sent, nothing else is.
    BOOST_TEST(q.file_due() == file);
    BOOST_TEST(q.begin_file() == file);
    BOOST_TEST(q.file() == file);
    BOOST_TEST(q.in_flight());
    BOOST_TEST(q.file_due() == nullptr);
    BOOST_TEST(q.begin_file() == nullptr);

    // Event: the file was sent to its end.
    std::unique_ptr<producer> done = q.end_file(true);

    // Check: the producer comes back to be destroyed, never pulled; what was behind follows.
    BOOST_TEST(done.get() == file);
    BOOST_TEST(file->offset() == 0u);
    BOOST_TEST(!q.in_flight());
    BOOST_TEST(q.file() == nullptr);
    BOOST_TEST(drain(q) == "behind\n");
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(a_file_pulled_before_is_due_once_its_last_piece_is_written)
{
    // Setup: a file read 3 bytes at a time, pulled once (as a channel does without sendfile).
    output_queue q;
    auto owned = temp_file("abcdefgh", 3);
    asynchat::file_producer* const file = owned.get();
    q.push(std::move(owned));
    BOOST_TEST(take(q) == "abc");

    // Event, check: while its piece is not all written, it is not due.
    q.consume(1);
    BOOST_TEST(q.file_due() == nullptr);
    BOOST_TEST(take(q) == "bc");
    BOOST_TEST(q.file_due() == nullptr);
    q.consume(2);

    // Check: due now, and sendfile would go on where more() stopped.
    BOOST_TEST(q.file_due() == file);
    BOOST_TEST(file->offset() == 3u);
    BOOST_TEST(drain(q) == "defgh");
}

BOOST_AUTO_TEST_CASE(a_file_inside_another_producer_or_not_regular_is_never_due)
{
    // Setup: a file inside a composite; a character device.
    output_queue q;
    q.push(std::make_unique<asynchat::composite_producer>(temp_file("inner\n")));

    // Check: the queue sees only the composite: it is pulled.
    BOOST_TEST(q.file_due() == nullptr);
    BOOST_TEST(drain(q) == "inner\n");

    // Setup, check: /dev/null is no regular file: it is pulled (and ends at once).
    q.push(std::make_unique<asynchat::file_producer>("/dev/null"));
    BOOST_TEST(q.file_due() == nullptr);
    BOOST_TEST(drain(q) == "");
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(a_mark_or_a_waiting_producer_ahead_holds_the_file)
{
    // Setup: a close mark, then a file.
    output_queue q;
    q.push_close();
    auto owned = temp_file("x");
    asynchat::file_producer* const file = owned.get();
    q.push(std::move(owned));

    // Check: the mark first.
    BOOST_TEST(q.file_due() == nullptr);
    std::exception_ptr error;
    BOOST_TEST(q.pop_mark(error));
    BOOST_TEST(q.file_due() == file);
    BOOST_TEST(drain(q) == "x");

    // Setup: a producer that is not ready, then a file.
    auto waiting = std::make_unique<gate>();
    gate* const g = waiting.get();
    q.push(std::move(waiting));
    q.push(temp_file("y"));

    // Check: pulled and waiting, the producer holds the file back until it is exhausted.
    BOOST_TEST(take(q) == "");
    BOOST_TEST(q.stalled());
    BOOST_TEST(q.file_due() == nullptr);
    g->open = true;
    q.wake();
    BOOST_TEST(take(q) == "y"); // the gate ends; the file is then pulled by prepare()
}

BOOST_AUTO_TEST_CASE(discard_drops_the_file_being_sent_and_the_send_ends_later)
{
    // Setup: a file being sent.
    output_queue q;
    q.push(temp_file("dropped"));
    BOOST_TEST_REQUIRE(q.begin_file() != nullptr);

    // Event: discard_buffers() or close() while the owner waits for the socket.
    q.discard();

    // Check: the file is gone, but the send is in flight until the owner's step ends it, so
    // output pushed meanwhile waits.
    BOOST_TEST(q.file() == nullptr);
    BOOST_TEST(q.in_flight());
    q.push("after\n");
    BOOST_TEST(q.file_due() == nullptr);
    BOOST_TEST(!q.end_file(true));
    BOOST_TEST(!q.in_flight());
    BOOST_TEST(drain(q) == "after\n");
}

BOOST_AUTO_TEST_CASE(a_file_not_dropped_at_the_end_of_a_send_stays_to_be_pulled)
{
    // Setup: a file being sent, data behind.
    output_queue q;
    auto owned = temp_file("pulled instead\n");
    asynchat::file_producer* const file = owned.get();
    q.push(std::move(owned));
    q.push("behind\n");
    BOOST_TEST_REQUIRE(q.begin_file() == file);

    // Event: the send ends without dropping it (the kernel refused the file).
    BOOST_TEST(!q.end_file(false));

    // Check: still at the head, pulled as any producer, then what was behind.
    BOOST_TEST(q.file_due() == file);
    BOOST_TEST(drain(q) == "pulled instead\nbehind\n");
}

BOOST_AUTO_TEST_SUITE_END()
