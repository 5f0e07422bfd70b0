// asynchat: tests of the sans-I/O input scanner: every branch, chunking invariance, CPython traces
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/detail/input_scanner.hpp>

#define BOOST_TEST_MODULE input_scanner
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/golden.hpp"

using asynchat::terminator;
using asynchat::detail::input_scanner;
using asynchat::test::hex;
using asynchat::test::normalise;
using asynchat::test::term_repr;
using asynchat::test::trace_recorder;

namespace {

// The scanner's handler interface over a trace_recorder, with knobs for the re-entrancy tests.
struct recording_handler
{
    explicit recording_handler(input_scanner& s, trace_recorder r = trace_recorder())
        : scanner(s), rec(std::move(r))
    {
    }

    input_scanner& scanner;
    trace_recorder rec;
    std::function<void(std::string_view)> on_collect; // runs after recording
    std::function<void()> on_found;                   // runs after recording
    bool stop = false;

    void collect(std::string_view data)
    {
        BOOST_TEST_REQUIRE(!data.empty()); // CPython never reports the empty string
        rec.on_collect(data);
        if (on_collect)
            on_collect(data);
    }
    void found_terminator()
    {
        if (auto next = rec.on_found(scanner.get_terminator()))
            scanner.set_terminator(*next);
        if (on_found)
            on_found();
    }
    bool proceed() const { return !stop; }
    void message_too_long()
    {
        rec.events.push_back("too long");
        stop = true;
    }
};

void feed(input_scanner& s, recording_handler& h, std::string_view chunk)
{
    char* room = s.prepare(chunk.size());
    if (!chunk.empty())
        std::memcpy(room, chunk.data(), chunk.size());
    s.commit(chunk.size());
    s.process(h);
}

// Feed `stream` in pieces of the given sizes (the last piece takes the rest).
std::vector<std::string>
run(std::string_view stream,
    std::vector<std::size_t> const& sizes,
    terminator initial,
    std::vector<std::optional<terminator>> changes = {},
    std::string* pending = nullptr,
    terminator* final_terminator = nullptr)
{
    input_scanner s;
    s.set_terminator(std::move(initial));
    recording_handler h(s, trace_recorder(std::move(changes)));
    std::size_t pos = 0;
    for (std::size_t n : sizes)
    {
        feed(s, h, stream.substr(pos, n));
        pos += n;
    }
    if (pos < stream.size())
        feed(s, h, stream.substr(pos));
    if (pending)
        *pending = std::string(s.pending());
    if (final_terminator)
        *final_terminator = s.get_terminator();
    return h.rec.events;
}

std::vector<std::string> events(std::initializer_list<std::string> list) { return list; }

std::string C(std::string_view data) { return "C " + hex(data); }

std::string T(terminator const& t) { return "T " + term_repr(t); }

} // namespace

BOOST_AUTO_TEST_SUITE(string_terminator)

BOOST_AUTO_TEST_CASE(delivers_message_then_terminator)
{
    // Setup, event
    auto const got = run("hello\nworld\n", {}, std::string("\n"));

    // Check
    BOOST_TEST(
        got == events({C("hello"), T("\n"), C("world"), T("\n")}), boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(never_reports_the_empty_string)
{
    auto const got = run("\n\nx\n", {}, std::string("\n"));
    BOOST_TEST(
        got == events({T("\n"), T("\n"), C("x"), T("\n")}), boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(keeps_a_partial_terminator_until_more_arrives)
{
    // Setup
    std::string pending;

    // Event: the read ends inside "\r\n".
    auto got = run("abc\r", {}, std::string("\r\n"), {}, &pending);

    // Check: everything before the prefix is delivered, the prefix is held.
    BOOST_TEST(got == events({C("abc")}), boost::test_tools::per_element());
    BOOST_TEST(pending == "\r");

    // Event: the rest arrives.
    got = run("abc\r\ndef", {4}, std::string("\r\n"), {}, &pending);
    BOOST_TEST(got == events({C("abc"), T("\r\n"), C("def")}), boost::test_tools::per_element());
    BOOST_TEST(pending.empty());
}

BOOST_AUTO_TEST_CASE(holds_a_buffer_that_is_all_prefix)
{
    std::string pending;
    auto const got = run("\r\n.\r", {}, std::string("\r\n.\r\n"), {}, &pending);
    BOOST_TEST(got.empty());
    BOOST_TEST(pending == "\r\n.\r");
}

BOOST_AUTO_TEST_CASE(collects_everything_when_no_prefix_ends_the_buffer)
{
    std::string pending;
    auto const got = run("abcq", {}, std::string("qqq!"), {}, &pending);
    BOOST_TEST(got == events({C("abc")}), boost::test_tools::per_element());
    BOOST_TEST(pending == "q");
    auto const none = run("abcd", {}, std::string("qqq!"), {}, &pending);
    BOOST_TEST(none == events({C("abcd")}), boost::test_tools::per_element());
    BOOST_TEST(pending.empty());
}

BOOST_AUTO_TEST_CASE(finds_a_terminator_split_across_every_read)
{
    // Each byte in its own read, as with ac_in_buffer_size = 1.
    auto const got = run("xqqqy", {1, 1, 1, 1, 1}, std::string("qqq"));
    BOOST_TEST(
        normalise(got) == events({C("x"), T("qqq"), C("y")}), boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(single_and_multi_byte_find)
{
    using asynchat::detail::find_terminator;
    BOOST_TEST(find_terminator("abc", "c") == 2u);
    BOOST_TEST(find_terminator("abc", "d") == std::string_view::npos);
    BOOST_TEST(find_terminator("aaab", "ab") == 2u);
    BOOST_TEST(find_terminator("", "ab") == std::string_view::npos);
    BOOST_TEST(find_terminator("a", "ab") == std::string_view::npos);
    BOOST_TEST(find_terminator(std::string_view("a\0b", 3), std::string_view("\0b", 2)) == 1u);
    // Multi-byte terminators are found by their last byte: hits before the first full match,
    // a last byte at offset 0, the needle at either end, and the needle being the haystack.
    BOOST_TEST(find_terminator("\n\r\n", "\r\n") == 1u);
    BOOST_TEST(find_terminator("x\r\r\n", "\r\n") == 2u);
    BOOST_TEST(find_terminator("\r\n", "\r\n") == 0u);
    BOOST_TEST(find_terminator("ab\nx\n\r\n\r\n", "\r\n\r\n") == 5u);
    BOOST_TEST(find_terminator("aabaab", "aab") == 0u);
    BOOST_TEST(find_terminator("abababb", "abb") == 4u);
    BOOST_TEST(find_terminator("bbbbbbb", "abb") == std::string_view::npos);
    // After a false hit the next bytes are tried directly: a match there, one just past them,
    // and a false hit at the very end.
    BOOST_TEST(find_terminator("ab\r\n\r\ncd", "\r\n\r\n") == 2u);
    BOOST_TEST(find_terminator("\r\nxy\r\n\r\n", "\r\n\r\n") == 4u);
    BOOST_TEST(find_terminator("xxx\r\nzzzz\r\n\r\n", "\r\n\r\n") == 9u);
    BOOST_TEST(find_terminator("abcd\r\n", "\r\n\r\n") == std::string_view::npos);
    BOOST_TEST(find_terminator("abcd\r\n\r", "\r\n\r\n") == std::string_view::npos);
    // Against a plain search, on every string of up to 7 bytes over {a, b}, for several needles.
    for (std::string const needle : {"ab", "ba", "aab", "abab", "bbab"})
        for (unsigned len = 0; len <= 7; ++len)
            for (unsigned bits = 0; bits < (1u << len); ++bits)
            {
                std::string hay;
                for (unsigned i = 0; i < len; ++i)
                    hay += (bits >> i) & 1 ? 'b' : 'a';
                BOOST_TEST_REQUIRE(
                    find_terminator(hay, needle) == hay.find(needle), hay << " / " << needle
                );
            }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(numeric_terminator)

BOOST_AUTO_TEST_CASE(counts_down_across_reads)
{
    // Setup
    terminator left;

    // Event: 4 of 10 bytes arrive.
    auto got = run("abcd", {}, std::size_t(10), {}, nullptr, &left);

    // Check: collected, and get_terminator() holds the remaining count, as in CPython.
    BOOST_TEST(got == events({C("abcd")}), boost::test_tools::per_element());
    BOOST_TEST(std::get<std::size_t>(left) == 6u);

    got = run("abcdefghijXY", {4, 3}, std::size_t(10), {}, nullptr, &left);
    BOOST_TEST(
        got == events({C("abcd"), C("efg"), C("hij"), T(std::size_t(0)), C("XY")}),
        boost::test_tools::per_element()
    );
    BOOST_TEST(std::get<std::size_t>(left) == 0u);
}

BOOST_AUTO_TEST_CASE(reaches_zero_and_then_collects_everything)
{
    // 0 is falsy, so after the count is reached everything is collected (CPython's behaviour).
    auto const got = run("abcdef", {}, std::size_t(2));
    BOOST_TEST(
        got == events({C("ab"), T(std::size_t(0)), C("cdef")}), boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(a_count_near_size_max_never_completes)
{
    terminator left;
    std::size_t const huge = std::numeric_limits<std::size_t>::max();
    auto const got = run("abc", {1}, huge, {}, nullptr, &left);
    BOOST_TEST(got.size() == 2u);
    BOOST_TEST(std::get<std::size_t>(left) == huge - 3);
}

BOOST_AUTO_TEST_CASE(a_terminator_set_while_collecting_is_kept)
{
    // CPython would overwrite it with the countdown; we keep what the collector set.
    input_scanner s;
    s.set_terminator(std::size_t(10));
    recording_handler h(s);
    h.on_collect = [&](std::string_view) { s.set_terminator(std::string("\n")); };
    feed(s, h, "abc");
    BOOST_TEST(term_repr(s.get_terminator()) == term_repr(std::string("\n")));
    h.on_collect = nullptr;
    feed(s, h, "d\ne");
    BOOST_TEST(
        h.rec.events == events({C("abc"), C("d"), T("\n"), C("e")}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(falsy_terminators)

BOOST_AUTO_TEST_CASE(none_empty_string_and_zero_collect_everything)
{
    for (terminator t :
         {terminator(std::monostate{}), terminator(std::string()), terminator(std::size_t(0))})
    {
        std::string pending;
        auto const got = run("a\nb\r\n", {2}, t, {}, &pending);
        BOOST_TEST(got == events({C("a\n"), C("b\r\n")}), boost::test_tools::per_element());
        BOOST_TEST(pending.empty());
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reentrancy)

BOOST_AUTO_TEST_CASE(a_change_in_found_terminator_applies_at_that_position)
{
    // Header line, then a 3-byte body, then lines again, all in one read.
    auto const got =
        run("HEAD\nxyz12\n",
            {},
            std::string("\n"),
            {terminator(std::size_t(3)), terminator(std::string("\n"))});
    BOOST_TEST(
        got == events({C("HEAD"), T("\n"), C("xyz"), T(std::size_t(0)), C("12"), T("\n")}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(the_prefix_break_is_kept_even_if_the_terminator_changes)
{
    // CPython leaves its loop after collecting up to a partial terminator; a terminator changed
    // by that collect only applies to the next read.
    input_scanner s;
    s.set_terminator(std::string("\r\n"));
    recording_handler h(s);
    h.on_collect = [&](std::string_view) { s.set_terminator(std::monostate{}); };
    feed(s, h, "ab\r");
    BOOST_TEST(h.rec.events == events({C("ab")}), boost::test_tools::per_element());
    BOOST_TEST(s.pending() == "\r");
    h.on_collect = nullptr;
    feed(s, h, "x");
    BOOST_TEST(h.rec.events == events({C("ab"), C("\rx")}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(discard_in_a_hook_drops_the_rest)
{
    input_scanner s;
    s.set_terminator(std::string("\n"));
    recording_handler h(s);
    h.on_collect = [&](std::string_view data)
    {
        if (data == "b")
            s.discard();
    };
    feed(s, h, "a\nb\nc\nd");
    // CPython still calls found_terminator() after a discard inside collect_incoming_data.
    BOOST_TEST(
        h.rec.events == events({C("a"), T("\n"), C("b"), T("\n")}), boost::test_tools::per_element()
    );
    BOOST_TEST(s.pending().empty());
}

BOOST_AUTO_TEST_CASE(proceed_false_stops_and_keeps_the_rest)
{
    input_scanner s;
    s.set_terminator(std::string("\n"));
    recording_handler h(s);
    h.on_found = [&] { h.stop = true; };
    feed(s, h, "a\nb\n");
    BOOST_TEST(h.rec.events == events({C("a"), T("\n")}), boost::test_tools::per_element());
    BOOST_TEST(s.pending() == "b\n");
}

BOOST_AUTO_TEST_CASE(proceed_false_in_collect_skips_found_terminator)
{
    // A channel closed inside collect_incoming_data() gets no found_terminator() after it.
    for (auto const& t : {terminator(std::string("\n")), terminator(std::size_t(1))})
    {
        input_scanner s;
        s.set_terminator(t);
        recording_handler h(s);
        h.on_collect = [&](std::string_view) { h.stop = true; };
        feed(s, h, "a\nb\n");
        BOOST_TEST(h.rec.events == events({C("a")}), boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(an_exception_leaves_cpythons_state)
{
    // Setup: the collector throws on the second message.
    input_scanner s;
    s.set_terminator(std::string("\n"));
    recording_handler h(s);
    h.on_collect = [&](std::string_view data)
    {
        if (data == "b")
            throw std::runtime_error("boom");
    };

    // Event
    BOOST_CHECK_THROW(feed(s, h, "a\nb\nc\n"), std::runtime_error);

    // Check: CPython had not yet removed "b\n" from ac_in_buffer.
    BOOST_TEST(s.pending() == "b\nc\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(message_size_limit)

BOOST_AUTO_TEST_CASE(delivers_up_to_the_limit_then_stops)
{
    // Setup: at most 5 bytes per message.
    input_scanner s;
    s.set_terminator(std::string("\n"));
    s.set_max_message_size(5);
    recording_handler h(s);

    // Event: a 5-byte message, then one that grows past 5 across reads.
    feed(s, h, "12345\nabc");
    feed(s, h, "def\n");

    // Check: the first is whole; of the second nothing past the limit is delivered and the
    // bytes stay pending.
    BOOST_TEST(
        h.rec.events == events({C("12345"), T("\n"), C("abc"), "too long"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST(s.pending() == "def\n");
}

BOOST_AUTO_TEST_CASE(applies_to_counts_none_and_held_prefixes)
{
    for (terminator t :
         {terminator(std::size_t(100)),
          terminator(std::monostate{}),
          terminator(std::string("\r\n"))})
    {
        input_scanner s;
        s.set_terminator(t);
        s.set_max_message_size(4);
        recording_handler h(s);
        feed(s, h, "abc");
        feed(s, h, "de\r");
        BOOST_TEST(
            h.rec.events == events({C("abc"), "too long"}), boost::test_tools::per_element()
        );
    }
}

BOOST_AUTO_TEST_CASE(the_count_restarts_at_each_terminator)
{
    input_scanner s;
    s.set_terminator(std::string("\n"));
    s.set_max_message_size(3);
    recording_handler h(s);
    for (int i = 0; i < 100; ++i)
        feed(s, h, "abc\n");
    BOOST_TEST(h.rec.events.size() == 200u);
    BOOST_TEST(s.max_message_size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(buffer)

BOOST_AUTO_TEST_CASE(prepare_keeps_pending_bytes_in_front)
{
    input_scanner s;
    s.set_terminator(std::string("abcd"));
    recording_handler h(s);
    feed(s, h, "xyzab");
    BOOST_TEST(s.pending() == "ab");
    // Growing moves the pending bytes into the new storage.
    char* room = s.prepare(1000);
    BOOST_TEST(s.capacity() >= 1002u);
    std::memcpy(room, "cd", 2);
    s.commit(2);
    s.process(h);
    BOOST_TEST(h.rec.events == events({C("xyz"), T("abcd")}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(release_frees_only_an_empty_buffer)
{
    input_scanner s;
    s.set_terminator(std::string("\r\n"));
    recording_handler h(s);
    asynchat::detail::receive_spare spare;
    feed(s, h, "ab\r");
    BOOST_TEST(!s.release(spare));
    feed(s, h, "\n");
    BOOST_TEST(s.release(spare));
    BOOST_TEST(s.capacity() == 0u);
    BOOST_TEST(spare.capacity != 0u); // the storage went to the spare
    // The next prepare() with the spare takes it back instead of allocating.
    char const* const storage = spare.data.get();
    BOOST_TEST(static_cast<void const*>(s.prepare(1, spare)) == static_cast<void const*>(storage));
    BOOST_TEST(!spare.data);
    feed(s, h, "c\r\n");
    BOOST_TEST(
        h.rec.events == events({C("ab"), T("\r\n"), C("c"), T("\r\n")}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(a_message_past_the_limit_sets_too_long_and_stops)
{
    input_scanner s;
    s.set_terminator(std::string("\n"));
    s.set_max_message_size(3);
    recording_handler h(s);
    feed(s, h, "ab\nabcd\nxy\n");
    BOOST_TEST(s.too_long());
    BOOST_TEST(
        h.rec.events == (std::vector<std::string>{C("ab"), T("\n"), "too long"}),
        boost::test_tools::per_element()
    );
    // Even a handler that would go on gets nothing more.
    h.stop = false;
    s.process(h);
    BOOST_TEST(h.rec.events.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(chunking_invariance)

namespace {

struct program
{
    std::string stream;
    terminator initial;
    std::vector<std::optional<terminator>> changes;
};

std::vector<program> programs()
{
    std::vector<program> out;
    out.push_back({"hello world\r\nI'm not dead yet!\r\n\r\nlast", std::string("\r\n"), {}});
    out.push_back({"aabaabaab", std::string("aab"), {}});
    out.push_back({"qqqqqqqqqq", std::string("qqq"), {}});
    out.push_back(
        {"GET / HTTP/1.0\r\nHost: x\r\n\r\n0123456789tail\r\nmore\r\n",
         std::string("\r\n\r\n"),
         {terminator(std::size_t(10)), terminator(std::string("\r\n")), std::nullopt}}
    );
    out.push_back(
        {"abababababab",
         std::string("abab"),
         {terminator(std::string("ba")), terminator(std::size_t(1))}}
    );
    out.push_back({"x\r\n.\r\ny\r\n.\r\n", std::string("\r\n.\r\n"), {}});
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_two_way_split_gives_the_same_events)
{
    for (auto const& p : programs())
    {
        BOOST_TEST_CONTEXT("stream " << p.stream)
        {
            std::string whole_pending;
            auto const whole = normalise(run(p.stream, {}, p.initial, p.changes, &whole_pending));
            for (std::size_t cut = 0; cut <= p.stream.size(); ++cut)
            {
                std::string pending;
                auto const split = normalise(run(p.stream, {cut}, p.initial, p.changes, &pending));
                BOOST_TEST(split == whole, "cut at " << cut);
                BOOST_TEST(pending == whole_pending);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(every_fixed_chunk_size_gives_the_same_events)
{
    for (auto const& p : programs())
    {
        auto const whole = normalise(run(p.stream, {}, p.initial, p.changes));
        for (std::size_t size = 1; size <= p.stream.size(); ++size)
        {
            std::vector<std::size_t> sizes(p.stream.size() / size, size);
            BOOST_TEST(
                normalise(run(p.stream, sizes, p.initial, p.changes)) == whole,
                "chunk size " << size
            );
        }
    }
}

BOOST_AUTO_TEST_CASE(random_chunkings_give_the_same_events)
{
    std::mt19937 rng(12345);
    for (auto const& p : programs())
    {
        auto const whole = normalise(run(p.stream, {}, p.initial, p.changes));
        for (int round = 0; round < 200; ++round)
        {
            std::vector<std::size_t> sizes;
            for (std::size_t left = p.stream.size(); left > 0;)
            {
                std::size_t n = std::uniform_int_distribution<std::size_t>(0, left)(rng);
                sizes.push_back(n);
                left -= n;
            }
            BOOST_TEST(normalise(run(p.stream, sizes, p.initial, p.changes)) == whole);
        }
    }
}

BOOST_AUTO_TEST_CASE(golden_streams_are_chunking_invariant_too)
{
    // The CPython-recorded scenarios, each fed at every fixed chunk size up to 9 bytes.
    for (auto const& g : asynchat::test::golden_traces())
    {
        auto const expected = normalise(g.events);
        for (std::size_t size = 1; size <= 9; ++size)
        {
            std::vector<std::size_t> sizes(g.stream.size() / size, size);
            BOOST_TEST(
                normalise(run(g.stream, sizes, g.initial, g.changes)) == expected,
                g.name << " size " << size
            );
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cpython_traces)

BOOST_AUTO_TEST_CASE(same_chunks_give_the_very_same_events)
{
    // Setup: the scenarios CPython's own async_chat.handle_read was run on.
    auto const& traces = asynchat::test::golden_traces();
    BOOST_TEST_REQUIRE(traces.size() >= 100u);

    for (auto const& g : traces)
    {
        BOOST_TEST_CONTEXT(g.name)
        {
            // Event: the same bytes in the same reads.
            std::string pending;
            terminator final_terminator;
            auto const got =
                run(g.stream, g.chunks, g.initial, g.changes, &pending, &final_terminator);

            // Check: every call, in order, with the same data; the same state at the end.
            BOOST_TEST(got == g.events, boost::test_tools::per_element());
            BOOST_TEST(pending == g.final_pending);
            BOOST_TEST(term_repr(final_terminator) == term_repr(g.final_terminator));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
