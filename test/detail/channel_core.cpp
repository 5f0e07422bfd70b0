// asynchat: tests of the channel's sans-I/O core, step by step, without sockets or clocks
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/detail/channel_core.hpp>

#define BOOST_TEST_MODULE channel_core
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/write_pieces.hpp"

using asynchat::detail::channel_core;
using asynchat::detail::write_pieces;
using asynchat::test::views;
using namespace std::chrono_literals;
using state = channel_core::state;
using step = channel_core::write_step;
using crossing = channel_core::crossing;

namespace {

// A time of the test's own: the core never reads a clock.
channel_core::clock::time_point const t0{std::chrono::seconds(1000)};

// A started channel on a connected stream.
struct started : channel_core
{
    started() : channel_core(true) { BOOST_TEST_REQUIRE(start()); }
};

// Write what is queued, as the channel does: the steps up to the first that is not a write, or
// up to a producer due (then step::write).
step write_all(channel_core& c, std::string* written = nullptr)
{
    for (;;)
    {
        std::exception_ptr error;
        step const s = c.next_write(error);
        if (s != step::write)
            return s;
        write_pieces pieces;
        if (c.output.prepare(65536, 1 << 20, 64, pieces))
            return step::write;
        std::size_t n = 0;
        for (auto p : views(pieces))
        {
            if (written)
                *written += p;
            n += p.size();
        }
        BOOST_TEST_REQUIRE(c.writing());
        c.output.consume(n);
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(states)

BOOST_AUTO_TEST_CASE(a_connected_stream_starts_once)
{
    // Setup
    channel_core c(true);
    BOOST_TEST(c.connected());
    BOOST_TEST(!c.open());

    // Event, check: nothing runs before start.
    c.output.push("greeting");
    std::exception_ptr error;
    BOOST_TEST((c.next_write(error) == step::none));
    BOOST_TEST(!c.may_read());
    BOOST_TEST(c.start());
    BOOST_TEST(c.open());
    BOOST_TEST((c.next_write(error) == step::write));
    BOOST_TEST(c.may_read());
}

BOOST_AUTO_TEST_CASE(closed_before_start_stays_closed)
{
    channel_core c(true);
    BOOST_TEST((c.close() == state::connected));
    BOOST_TEST(!c.start());
    BOOST_TEST(c.closed());
    BOOST_TEST((c.close() == state::closed)); // a second close is a no-op
}

BOOST_AUTO_TEST_CASE(connect_succeeds_or_returns_to_unconnected)
{
    channel_core c(false);
    BOOST_TEST(!c.connected());
    BOOST_TEST(c.begin_connect());
    BOOST_TEST(!c.begin_connect()); // already connecting
    c.connect_done(false);
    BOOST_TEST((c.get_state() == state::unconnected));
    BOOST_TEST(c.begin_connect());
    c.connect_done(true);
    BOOST_TEST(c.open());
    BOOST_TEST(!c.begin_connect());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(user_code)

BOOST_AUTO_TEST_CASE(nothing_starts_while_user_code_runs)
{
    // Setup: output queued, a read possible.
    started c;
    c.output.push("answer");
    c.set_watermarks(0, 1);

    // Event: user code (a hook) runs, nested twice.
    c.enter_user_code();
    c.enter_user_code();

    // Check: no read, no write, no watermark hook while it runs.
    std::exception_ptr error;
    BOOST_TEST(!c.may_read());
    BOOST_TEST((c.next_write(error) == step::none));
    BOOST_TEST((c.watermark() == crossing::none));
    c.leave_user_code();
    BOOST_TEST(!c.may_read());

    // Event, check: once it returns, everything it asked for is due, in order.
    c.leave_user_code();
    BOOST_TEST((c.watermark() == crossing::high));
    BOOST_TEST(c.may_read());
    BOOST_TEST((c.next_write(error) == step::write));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reading)

BOOST_AUTO_TEST_CASE(one_read_at_a_time)
{
    started c;
    c.read_started();
    BOOST_TEST(!c.may_read());
    c.read_done();
    BOOST_TEST(c.may_read());
}

BOOST_AUTO_TEST_CASE(peer_eof_writes_the_output_then_handle_close_once)
{
    // Setup: an answer queued; the peer half-closes.
    started c;
    c.output.push("answer");
    c.read_started();
    c.read_done();
    c.peer_eof();

    // Check: no more reads, and nothing decided until handle_read_eof() has run.
    BOOST_TEST(!c.may_read());
    BOOST_TEST(c.eof_seen());
    std::string written;
    BOOST_TEST((write_all(c, &written) == step::none));
    BOOST_TEST(written == "answer");

    // Check: handle_read_eof()'s default: handle_close once the answer is written, once.
    c.output.push(" and more");
    c.close_after_output();
    written.clear();
    BOOST_TEST((write_all(c, &written) == step::handle_close));
    BOOST_TEST(written == " and more");
    BOOST_TEST((c.reading() == channel_core::read_side::eof_done));
    c.close_after_output();
    BOOST_TEST((c.reading() == channel_core::read_side::eof_done));
    std::exception_ptr error;
    BOOST_TEST((c.next_write(error) == step::none));
}

BOOST_AUTO_TEST_CASE(an_eof_handled_by_the_user_leaves_the_channel_open_for_answers)
{
    // Setup: the peer half-closes; handle_read_eof() was overridden (no close_after_output()).
    started c;
    c.read_started();
    c.read_done();
    c.peer_eof();

    // Check: answers pushed later are written, and no handle_close comes by itself.
    c.output.push("late answer");
    std::string written;
    BOOST_TEST((write_all(c, &written) == step::none));
    BOOST_TEST(written == "late answer");
    BOOST_TEST(c.open());

    // Check: close_when_done()'s mark then closes as usual.
    c.output.push_close();
    BOOST_TEST((write_all(c) == step::handle_close));
}

BOOST_AUTO_TEST_CASE(starttls_holds_reads_and_delivery_until_the_handshake_is_done)
{
    // Setup: a STARTTLS command delivered; start_tls() holds reads and queues the upgrade.
    started c;
    c.read_started();
    c.read_done();
    BOOST_TEST(c.delivering());
    c.hold_reads();

    // Check: nothing more is delivered or read, while the reply before the upgrade is written.
    BOOST_TEST(!c.delivering());
    BOOST_TEST(!c.may_read());
    c.output.push("220 ready\r\n");
    std::string written;
    BOOST_TEST((write_all(c, &written) == step::none));
    BOOST_TEST(written == "220 ready\r\n");

    // Check: during the handshake nothing is written; after it, reads and writes resume.
    c.begin_handshake();
    BOOST_TEST(c.connected());
    BOOST_TEST(!c.open());
    c.output.push("250 encrypted\r\n");
    BOOST_TEST((write_all(c) == step::none));
    BOOST_TEST(c.writing() == false);
    c.handshake_done();
    BOOST_TEST(c.delivering());
    BOOST_TEST(c.may_read());
    written.clear();
    BOOST_TEST((write_all(c, &written) == step::none));
    BOOST_TEST(written == "250 encrypted\r\n");
}

BOOST_AUTO_TEST_CASE(the_tls_close_waits_for_the_read_and_the_write_in_flight)
{
    // Setup: a read and a write in flight when the channel closes and asks for a close_notify.
    started c;
    c.read_started();
    c.output.push("data");
    std::exception_ptr error;
    BOOST_TEST_REQUIRE((c.next_write(error) == step::write));
    write_pieces pieces;
    BOOST_TEST_REQUIRE(!c.output.prepare(65536, 1 << 20, 64, pieces));
    c.close();
    c.defer_teardown();

    // Check: not before both have completed, then once.
    BOOST_TEST(!c.take_teardown());
    c.read_done();
    BOOST_TEST(!c.take_teardown());
    c.output.consume(0);
    BOOST_TEST(c.take_teardown());
    BOOST_TEST(!c.take_teardown());
}

BOOST_AUTO_TEST_CASE(reads_are_tried_first_while_the_peer_streams_with_a_backoff_after_misses)
{
    channel_core::read_pacing p;

    // A request/response peer (one message a read) is never tried.
    p.delivered(1, false);
    BOOST_TEST(!p.try_first());

    // Several messages in a read: try at once.
    p.delivered(3, false);
    BOOST_TEST(p.try_first());

    // Misses: 1, then 2, then 4 waits before the next try; a hit resets the backoff.
    p.tried(false);
    BOOST_TEST(!p.try_first());
    BOOST_TEST(p.try_first());
    p.tried(false);
    BOOST_TEST(!p.try_first());
    BOOST_TEST(!p.try_first());
    BOOST_TEST(p.try_first());
    p.tried(true);
    p.tried(false);
    BOOST_TEST(!p.try_first());
    BOOST_TEST(p.try_first());

    // The backoff stops at 16 waits.
    for (int i = 0; i < 10; ++i)
    {
        p.tried(false);
        while (!p.try_first())
        {
        }
    }
    p.tried(false);
    int waits = 0;
    while (!p.try_first())
        ++waits;
    BOOST_TEST(waits == 16);

    // A full buffer counts as streaming too.
    channel_core::read_pacing q;
    q.delivered(1, true);
    BOOST_TEST(q.try_first());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(writing)

BOOST_AUTO_TEST_CASE(the_close_mark_comes_after_what_was_queued_before_it)
{
    started c;
    c.output.push("bye");
    c.output.push_close();
    c.output.push("never");
    std::string written;
    BOOST_TEST((write_all(c, &written) == step::handle_close));
    BOOST_TEST(written == "bye");
}

BOOST_AUTO_TEST_CASE(a_failed_producer_is_reported_at_its_place)
{
    // Setup: data, a producer that throws, data after it.
    struct failing : asynchat::producer
    {
        std::string more() override { throw std::runtime_error("disk"); }
    };
    started c;
    c.output.push("150 opening\n");
    c.output.push(std::make_unique<failing>());
    c.output.push("after");

    // Event: write what is ahead, then the producer is due and fails.
    std::string written;
    BOOST_TEST((write_all(c, &written) == step::write));
    BOOST_TEST(written == "150 opening\n");
    std::exception_ptr error;
    auto& p = c.output.begin_pull();
    try
    {
        c.output.end_pull(p.more());
    }
    catch (...)
    {
        c.output.fail_pull(std::current_exception());
    }

    // Check: the error is the next step, then the rest goes out.
    BOOST_TEST((c.next_write(error) == step::report_error));
    BOOST_CHECK_THROW(std::rethrow_exception(error), std::runtime_error);
    written.clear();
    BOOST_TEST((write_all(c, &written) == step::none));
    BOOST_TEST(written == "after");
}

BOOST_AUTO_TEST_CASE(no_step_while_a_write_is_in_flight)
{
    started c;
    c.output.push("a");
    std::exception_ptr error;
    BOOST_TEST((c.next_write(error) == step::write));
    write_pieces pieces;
    c.output.prepare(65536, 1 << 20, 64, pieces);
    BOOST_TEST(c.writing());
    c.output.push("b");
    BOOST_TEST((c.next_write(error) == step::none));
    c.output.consume(1);
    BOOST_TEST((c.next_write(error) == step::write));
}

BOOST_AUTO_TEST_CASE(shutdown_when_done_shuts_down_after_the_output_queued_before_it)
{
    // Setup: an answer queued, then shutdown_when_done().
    started c;
    c.output.push("answer");
    c.shutdown_when_done();
    BOOST_TEST(c.output_shut());

    // Check: the answer, then the shutdown, once; the channel stays open for reading.
    std::string written;
    BOOST_TEST((write_all(c, &written) == step::shutdown));
    BOOST_TEST(written == "answer");
    BOOST_TEST((write_all(c) == step::none));
    BOOST_TEST(c.may_read());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(watermarks)

BOOST_AUTO_TEST_CASE(high_then_low_with_hysteresis)
{
    // Setup
    started c;
    c.set_watermarks(10, 100);
    write_pieces pieces;

    // Event, check: rising above high reports high once.
    c.output.push(std::string(150, 'x'));
    BOOST_TEST((c.watermark() == crossing::high));
    BOOST_TEST((c.watermark() == crossing::none));
    c.output.push(std::string(50, 'y'));
    BOOST_TEST((c.watermark() == crossing::none));

    // Between the marks nothing; at the low mark, low once.
    c.output.prepare(65536, 150, 64, pieces);
    c.output.consume(150);
    BOOST_TEST(c.output.bytes() == 50u);
    BOOST_TEST((c.watermark() == crossing::none));
    c.output.prepare(65536, 40, 64, pieces);
    c.output.consume(40);
    BOOST_TEST((c.watermark() == crossing::low));
    BOOST_TEST((c.watermark() == crossing::none));
}

BOOST_AUTO_TEST_CASE(nothing_before_start)
{
    channel_core c(true);
    c.set_watermarks(0, 1);
    c.output.push("greeting");
    BOOST_TEST((c.watermark() == crossing::none));
    c.start();
    BOOST_TEST((c.watermark() == crossing::high));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timeouts)

BOOST_AUTO_TEST_CASE(idle_timeout_counts_from_the_last_byte_either_way)
{
    // Setup
    started c;
    BOOST_TEST(!c.timing());
    c.set_idle_timeout(100ms, t0);
    BOOST_TEST(c.timing());
    BOOST_TEST((c.deadline() == t0 + 100ms));

    // Event, check: a byte written at +60 moves the deadline; reads do too.
    c.bytes_moved(false, t0 + 60ms);
    BOOST_TEST((c.deadline() == t0 + 160ms));
    BOOST_TEST(!c.timed_out(t0 + 159ms));
    BOOST_TEST(c.timed_out(t0 + 160ms));
    c.bytes_moved(true, t0 + 150ms);
    BOOST_TEST(!c.timed_out(t0 + 160ms));

    // After a timeout the channel survived, the clocks restart.
    c.restart_clocks(t0 + 300ms);
    BOOST_TEST((c.deadline() == t0 + 400ms));
}

BOOST_AUTO_TEST_CASE(read_timeout_ignores_what_we_write)
{
    // A slow-loris peer: we keep writing, it sends nothing.
    started c;
    c.set_read_timeout(50ms, t0);
    for (int i = 1; i < 10; ++i)
        c.bytes_moved(false, t0 + i * 10ms);
    BOOST_TEST(c.timed_out(t0 + 50ms));
    c.bytes_moved(true, t0 + 50ms);
    BOOST_TEST(!c.timed_out(t0 + 99ms));
}

BOOST_AUTO_TEST_CASE(the_nearer_of_both_and_zero_turns_off)
{
    started c;
    c.set_idle_timeout(100ms, t0);
    c.set_read_timeout(30ms, t0);
    BOOST_TEST((c.deadline() == t0 + 30ms));
    c.set_read_timeout(0ms, t0);
    BOOST_TEST((c.deadline() == t0 + 100ms));
    c.set_idle_timeout(0ms, t0);
    BOOST_TEST(!c.timing());
    BOOST_TEST(!c.timed_out(t0 + 1000s));
}

BOOST_AUTO_TEST_CASE(no_timeouts_once_closed)
{
    started c;
    c.set_idle_timeout(10ms, t0);
    c.close();
    BOOST_TEST(!c.timing());
    BOOST_TEST(!c.timed_out(t0 + 1s));
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------
// Files the channel sends itself with sendfile(2).

BOOST_AUTO_TEST_SUITE(files)

BOOST_AUTO_TEST_CASE(a_file_at_the_head_is_sent_by_a_channel_that_may_and_output_behind_waits)
{
    // Setup: a started channel with data, a file and close_when_done() queued.
    started c;
    c.output.push("head\n");
    std::FILE* const f = std::tmpfile();
    BOOST_TEST_REQUIRE(f != nullptr);
    std::fputs("body\n", f);
    std::fflush(f);
    std::rewind(f);
    c.output.push(std::make_unique<asynchat::file_producer>(fileno(f)));
    std::fclose(f);
    c.output.push_close();
    std::exception_ptr error;

    // Check: the data ahead is a write, whether files may be sent or not.
    BOOST_TEST((c.next_write(error, true) == step::write));
    std::string written;
    BOOST_TEST((write_all(c, &written) == step::write)); // stopped with the file due
    BOOST_TEST(written == "head\n");

    // Check: a channel that cannot send files pulls it; one that can sends it.
    BOOST_TEST((c.next_write(error) == step::write));
    BOOST_TEST((c.next_write(error, true) == step::send_file));

    // Event: the send begins. Check: nothing else is due meanwhile; the close mark waits.
    BOOST_TEST_REQUIRE(c.output.begin_file() != nullptr);
    BOOST_TEST(c.writing());
    BOOST_TEST((c.next_write(error, true) == step::none));

    // Event: user code runs. Check: no step.
    c.enter_user_code();
    BOOST_TEST((c.next_write(error, true) == step::none));
    c.leave_user_code();

    // Event: the file ended. Check: the close mark is next.
    BOOST_TEST(static_cast<bool>(c.output.end_file(true)));
    BOOST_TEST((c.next_write(error, true) == step::handle_close));
    BOOST_TEST(!error);
}

BOOST_AUTO_TEST_CASE(no_file_is_sent_before_start_or_once_closed)
{
    // Setup: a file queued on a channel not started.
    channel_core c(true);
    c.output.push(std::make_unique<asynchat::file_producer>("/proc/self/exe"));
    std::exception_ptr error;

    // Check: nothing before start; the send once started; nothing once closed.
    BOOST_TEST((c.next_write(error, true) == step::none));
    BOOST_TEST(c.start());
    BOOST_TEST((c.next_write(error, true) == step::send_file));
    c.close();
    BOOST_TEST((c.next_write(error, true) == step::none));
}

BOOST_AUTO_TEST_SUITE_END()
