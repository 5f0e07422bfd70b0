// asynchat: producers that are not ready yet, and Medusa's producer library, over real sockets
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/async_chat.hpp>
#include <asynchat/producers.hpp>

#define BOOST_TEST_MODULE producers
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "support/loopback.hpp"
#include "support/medusa.hpp"
#include "support/send_only_chat.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asynchat::test;

namespace {

// `tail -f`: hands out what the file has beyond what it gave, not_ready() at its end until the
// file ends with "END\n".
class tail_producer : public asynchat::producer
{
public:
    explicit tail_producer(std::string path) : path_(std::move(path)) {}

    std::string more() override
    {
        std::ifstream in(path_, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(offset_));
        std::string piece(4096, '\0');
        in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
        piece.resize(static_cast<std::size_t>(in.gcount()));
        offset_ += piece.size();
        seen_ += piece;
        if (!piece.empty())
            return piece;
        if (seen_.size() >= 4 && seen_.compare(seen_.size() - 4, 4, "END\n") == 0)
            return {};
        ++waits;
        return not_ready();
    }

    int waits = 0;

private:
    std::string path_;
    std::size_t offset_ = 0;
    std::string seen_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(not_ready)

BOOST_AUTO_TEST_CASE(tail_f_of_a_growing_file_resumed_from_another_thread)
{
    // Setup: an empty file; a channel streams it, then a trailer and close_when_done() behind.
    std::string const path = "/tmp/asynchat-tail-" + std::to_string(::getpid());
    std::ofstream(path, std::ios::binary | std::ios::trunc).close();
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    auto tail = std::make_unique<tail_producer>(path);
    std::function<void()> resume = tail->resumer();
    chat->push("begin\n");
    chat->push_with_producer(std::move(tail));
    chat->push("trailer\n");
    chat->close_when_done();
    chat->start();

    // Event: another thread appends 200 lines, resuming the producer after each, while the
    // peer reads; the io_context runs on this thread meanwhile.
    std::string expected = "begin\n";
    for (int i = 0; i < 200; ++i)
        expected += "line " + std::to_string(i) + "\n";
    expected += "END\ntrailer\n";
    std::string received;
    std::thread reader([&, &client = client] { received = read_to_eof(client); });
    std::atomic<bool> written{false};
    std::thread writer(
        [&]
        {
            for (int i = 0; i < 200; ++i)
            {
                std::ofstream(path, std::ios::binary | std::ios::app) << "line " << i << "\n";
                resume();
            }
            std::ofstream(path, std::ios::binary | std::ios::app) << "END\n";
            resume();
            written = true;
        }
    );
    bool const closed = run_until(
        io, [&] { return !chat->connected(); }, 20s
    );
    writer.join();
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));
    std::remove(path.c_str());

    // Check: every byte, in order, the trailer and the close after the producer.
    BOOST_TEST(closed);
    BOOST_TEST(written);
    BOOST_TEST(received == expected);
}

BOOST_AUTO_TEST_CASE(output_behind_a_waiting_producer_waits_and_nothing_polls)
{
    // Setup: a producer that is not ready until told.
    struct gate : asynchat::producer
    {
        bool open = false;
        int calls = 0;
        std::string more() override
        {
            ++calls;
            if (!open)
                return not_ready();
            if (open && !given)
            {
                given = true;
                return "released\n";
            }
            return {};
        }
        bool given = false;
    };
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    auto owned = std::make_unique<gate>();
    gate* g = owned.get();
    std::function<void()> resume = owned->resumer();
    chat->push("a\n");
    chat->push_with_producer(std::move(owned));
    chat->push("b\n");
    chat->close_when_done();
    chat->start();

    // Event: run a while with the gate shut.
    io.run_for(50ms);

    // Check: "a" went out, the producer was asked once, nothing behind it moved.
    BOOST_TEST(g->calls == 1);
    BOOST_TEST(chat->connected());
    std::string first(2, '\0');
    asio::read(client, asio::buffer(first));
    BOOST_TEST(first == "a\n");

    // Event: open the gate and resume.
    g->open = true;
    resume();

    // Check: the rest in order, then EOF.
    std::string received;
    std::thread reader([&, &client = client] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));
    BOOST_TEST(received == "released\nb\n");
}

BOOST_AUTO_TEST_CASE(a_composite_waits_for_the_producer_it_wraps)
{
    struct later : asynchat::producer
    {
        int step = 0;
        std::string more() override
        {
            switch (step++)
            {
            case 0:
                return not_ready();
            case 1:
                return "inner\n";
            default:
                return {};
            }
        }
    };
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    auto inner = std::make_unique<later>();
    std::function<void()> resume_inner = inner->resumer(); // the inner's own handle
    chat->push_with_producer(std::make_unique<asynchat::composite_producer>(
        std::make_unique<asynchat::simple_producer>("head\n"), std::move(inner)
    ));
    chat->close_when_done();
    chat->start();
    io.run_for(30ms);
    BOOST_TEST(chat->connected());
    resume_inner(); // wakes the channel through the composite
    std::string received;
    std::thread reader([&, &client = client] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));
    BOOST_TEST(received == "head\ninner\n");
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------------------------
// Medusa's producer library (include/asynchat/producers.hpp)

namespace {

using asynchat::test::medusa_after;
using asynchat::test::medusa_before;

// Where a scripted producer returns not_ready().
constexpr auto not_yet = std::nullopt;

// Hands out its steps in order, a string or not_yet (not_ready()), then "".
class scripted : public asynchat::producer
{
public:
    explicit scripted(std::vector<std::optional<std::string>> steps, bool ahead = true)
        : steps_(std::move(steps)), ahead_(ahead)
    {
    }

    std::string more() override
    {
        if (next_ == steps_.size())
            return {};
        auto const& step = steps_[next_++];
        return step ? *step : not_ready();
    }

    bool read_ahead() const noexcept override { return ahead_; }

private:
    std::vector<std::optional<std::string>> steps_;
    std::size_t next_ = 0;
    bool ahead_;
};

// `text` with every `from` replaced by `to`, scanning from the left: the escaping of the
// joined pieces, which escaping_producer must give whatever the pieces.
std::string replace_all(std::string const& text, std::string const& from, std::string const& to)
{
    std::string out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = text.find(from, pos)) != std::string::npos;
         pos = hit + from.size())
        out.append(text, pos, hit - pos).append(to);
    return out.append(text, pos, std::string::npos);
}

// True if a chunked_producer wraps a globbing_producer, whose pieces depend on when its inner
// waits.
bool has_chunked_globbing(medusa_case const& c)
{
    bool chunked = false;
    for (auto const& layer : c.chain)
    {
        chunked = chunked || layer.kind == "chunked";
        if (chunked && layer.kind == "globbing")
            return true;
    }
    return false;
}

} // namespace

BOOST_AUTO_TEST_SUITE(medusa_byte_for_byte)

BOOST_AUTO_TEST_CASE(more_gives_medusas_pieces)
{
    std::size_t compared = 0;
    for (medusa_case const& c : medusa_cases())
    {
        if (c.compressed() || c.fixed)
            continue; // test/compressed_producer.cpp; deviations_are_the_recorded_fixes
        BOOST_TEST_CONTEXT(c.name)
        {
            // Setup
            auto log = std::make_shared<hook_log>();
            auto p = build_medusa(c, log);

            // Event: more() until it returns "", as a channel does.
            std::vector<std::string> const pieces = drain(*p, log.get());

            // Check: the same pieces, the same hook calls, and it stays exhausted.
            BOOST_TEST(hex(pieces) == hex(c.more), boost::test_tools::per_element());
            BOOST_TEST((log->calls == c.called));
            BOOST_TEST(puller::next(*p).empty());
            BOOST_TEST(log->calls.size() == c.called.size());
            ++compared;
        }
    }
    BOOST_TEST(compared >= 40u);
}

BOOST_AUTO_TEST_CASE(deviations_are_the_recorded_fixes)
{
    std::size_t fixes = 0;
    for (medusa_case const& c : medusa_cases())
    {
        if (c.compressed() || !c.fixed)
            continue;
        BOOST_TEST_CONTEXT(c.name << " (" << c.because << ")")
        {
            // Setup
            auto log = std::make_shared<hook_log>();
            auto p = build_medusa(c, log);

            // Event
            std::vector<std::string> const pieces = drain(*p, log.get());

            // Check: the recording says why Medusa differs, and this sends what it says.
            BOOST_TEST(!c.because.empty());
            BOOST_TEST(hex(c.sent) != hex(*c.fixed));
            BOOST_TEST(hex(joined(pieces)) == hex(*c.fixed));
            ++fixes;
        }
    }
    // Dropped held bytes (2), ended early (2), empty buffers (2), the rescan (1).
    BOOST_TEST(fixes == 7u);
}

BOOST_AUTO_TEST_CASE(wrapping_a_producer_that_is_not_ready)
{
    std::size_t wrapped = 0;
    for (medusa_case const& c : medusa_cases())
    {
        if (c.compressed() || !c.inner)
            continue;
        BOOST_TEST_CONTEXT(c.name)
        {
            // Setup: the innermost producer returns not_ready() before each piece and the end.
            auto log = std::make_shared<hook_log>();
            auto p = build_medusa(c, log, true);

            // Event: more() again after each not_ready(), as a channel does after resume().
            auto const [stream, waits] = drain_waiting(*p);

            // Check: the same bytes, a wait seen at least before the first piece, and a hook
            // called once, with the same count. (Chunks are the pieces of what they wrap,
            // which a globbing_producer hands out early when its inner waits: compare the
            // decoded data there.)
            if (has_chunked_globbing(c))
                BOOST_TEST((dechunk(stream) == dechunk(c.expected())));
            else
                BOOST_TEST(hex(stream) == hex(c.expected()));
            BOOST_TEST(waits >= 1u);
            BOOST_TEST_REQUIRE(log->calls.size() == c.called.size());
            for (std::size_t i = 0; i != c.called.size(); ++i)
                BOOST_TEST(log->calls[i].second == c.called[i].second);
            ++wrapped;
        }
    }
    BOOST_TEST(wrapped >= 30u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(medusa_over_sockets)

BOOST_AUTO_TEST_CASE(the_peer_receives_medusas_bytes_in_order)
{
    for (medusa_case const& c : medusa_cases())
    {
        if (c.compressed())
            continue;
        BOOST_TEST_CONTEXT(c.name)
        {
            // Setup, event: data, the producers, data, close_when_done().
            tcp_run const run = run_over_tcp(c, false);

            // Check: every byte in order, then EOF; a hooked_producer around everything calls
            // back once all its bytes were handed to the operating system.
            BOOST_TEST(run.closed);
            BOOST_TEST(run.drained);
            BOOST_TEST(hex(run.received) == hex(medusa_before + c.expected() + medusa_after));
            BOOST_TEST(run.log->calls.size() == c.called.size());
            if (c.chain.front().kind == "hooked")
            {
                BOOST_TEST_REQUIRE(run.log->sent_at_call.size() == 1u);
                BOOST_TEST(run.log->sent_at_call[0] == medusa_before.size() + c.expected().size());
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(the_peer_receives_them_from_a_waiting_inner)
{
    for (medusa_case const& c : medusa_cases())
    {
        if (c.compressed() || !c.inner)
            continue;
        BOOST_TEST_CONTEXT(c.name)
        {
            // Setup, event: the innermost producer waits before each piece; resume() comes
            // through the producers wrapping it.
            tcp_run const run = run_over_tcp(c, true);

            // Check
            BOOST_TEST(run.closed);
            BOOST_TEST(run.drained);
            if (has_chunked_globbing(c))
            {
                std::string const& r = run.received;
                std::size_t const size = r.size() - medusa_before.size() - medusa_after.size();
                BOOST_TEST(r.substr(0, medusa_before.size()) == medusa_before);
                BOOST_TEST((dechunk(r.substr(medusa_before.size(), size)) == dechunk(c.expected()))
                );
                BOOST_TEST(r.substr(r.size() - medusa_after.size()) == medusa_after);
            }
            else
                BOOST_TEST(hex(run.received) == hex(medusa_before + c.expected() + medusa_after));
            BOOST_TEST(run.log->calls.size() == c.called.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_chain_fed_and_resumed_from_another_thread)
{
    // Setup: hooked(chunked(escaping(feed))): `feed` hands out what another thread queued,
    // not_ready() when nothing is queued, "" once the thread is done.
    struct shared_feed
    {
        std::mutex mutex;
        std::deque<std::string> pieces;
        bool done = false;
    };
    class feed_producer : public asynchat::producer
    {
    public:
        explicit feed_producer(std::shared_ptr<shared_feed> feed) : feed_(std::move(feed)) {}
        std::string more() override
        {
            std::lock_guard<std::mutex> lock(feed_->mutex);
            if (feed_->pieces.empty())
                return feed_->done ? std::string() : not_ready();
            std::string piece = std::move(feed_->pieces.front());
            feed_->pieces.pop_front();
            return piece;
        }

    private:
        std::shared_ptr<shared_feed> feed_;
    };
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    auto feed = std::make_shared<shared_feed>();
    auto inner = std::make_unique<feed_producer>(feed);
    std::function<void()> resume = inner->resumer();
    std::atomic<std::size_t> hooked_bytes{0};
    std::atomic<int> hooked_calls{0};
    chat->push_with_producer(std::make_unique<asynchat::hooked_producer>(
        std::make_unique<asynchat::chunked_producer>(
            std::make_unique<asynchat::escaping_producer>(std::move(inner)),
            std::vector<std::string>{"X-Lines: 300"}
        ),
        [&](std::size_t n)
        {
            hooked_bytes = n;
            ++hooked_calls;
        }
    ));
    chat->close_when_done();
    chat->start();

    // Event: the thread queues 300 lines, each split in two at a different place (so CR, LF
    // and dots fall on piece boundaries), resuming after each piece, while the peer reads.
    std::string text;
    std::thread writer(
        [&]
        {
            for (int i = 0; i < 300; ++i)
            {
                std::string const line = (i % 3 == 0 ? "." : "") + std::to_string(i) + "\r\n";
                std::size_t const cut = static_cast<std::size_t>(i) % (line.size() + 1);
                text += line;
                for (auto const& piece : {line.substr(0, cut), line.substr(cut)})
                {
                    if (piece.empty())
                        continue;
                    {
                        std::lock_guard<std::mutex> lock(feed->mutex);
                        feed->pieces.push_back(piece);
                    }
                    resume();
                }
            }
            {
                std::lock_guard<std::mutex> lock(feed->mutex);
                feed->done = true;
            }
            resume();
        }
    );
    std::string received;
    std::thread reader([&, &client = client] { received = read_to_eof(client); });
    bool const closed = run_until(
        io, [&] { return !chat->connected(); }, 20s
    );
    writer.join();
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));

    // Check: valid chunked coding of the escaped text, the footer, and one hook call counting
    // every byte sent.
    BOOST_TEST(closed);
    auto const [data, trailer] = dechunk(received);
    BOOST_TEST(hex(data) == hex(replace_all(text, "\r\n.", "\r\n..")));
    BOOST_TEST(trailer == std::vector<std::string>{"X-Lines: 300"});
    BOOST_TEST(hooked_calls == 1);
    BOOST_TEST(hooked_bytes == received.size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lines)

BOOST_AUTO_TEST_CASE(fifty_lines_a_piece_each_ended_by_crlf)
{
    // Setup
    std::vector<std::string> lines;
    for (int i = 0; i < 120; ++i)
        lines.push_back("line " + std::to_string(i));
    auto piece = [&](std::size_t first, std::size_t last)
    {
        std::string out;
        for (std::size_t i = first; i != last; ++i)
            out += lines[i] + "\r\n";
        return out;
    };
    asynchat::lines_producer p(lines);

    // Event, check
    BOOST_TEST(p.more() == piece(0, 50));
    BOOST_TEST(p.more() == piece(50, 100));
    BOOST_TEST(p.more() == piece(100, 120));
    BOOST_TEST(p.more() == "");
    BOOST_TEST(p.more() == "");
    BOOST_TEST(p.read_ahead());
}

BOOST_AUTO_TEST_CASE(an_empty_line_is_a_crlf_not_the_end)
{
    asynchat::lines_producer p({"", "", "x"});
    BOOST_TEST(p.more() == "\r\n\r\nx\r\n");
    BOOST_TEST(p.more() == "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(buffer_list)

BOOST_AUTO_TEST_CASE(skips_the_empty_buffers_medusa_ends_on)
{
    asynchat::buffer_list_producer p({"", "a", "", "", "bc", ""});
    BOOST_TEST(p.more() == "a");
    BOOST_TEST(p.more() == "bc");
    BOOST_TEST(p.more() == "");
    BOOST_TEST(p.more() == "");
    BOOST_TEST(p.read_ahead());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(globbing)

BOOST_AUTO_TEST_CASE(hands_out_what_it_has_when_the_inner_waits)
{
    // Setup
    asynchat::globbing_producer p(
        std::make_unique<scripted>(std::vector<std::optional<std::string>>{
            "ab", not_yet, not_yet, "cd"}),
        16
    );

    // Event, check: "ab" when the inner waits, without waiting for more; then the second wait;
    // then the rest.
    BOOST_TEST(puller::next(p) == "ab");
    BOOST_TEST(!p.waiting());
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(p.waiting());
    BOOST_TEST(puller::next(p) == "cd");
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(!p.waiting());
}

BOOST_AUTO_TEST_CASE(rejects_a_null_producer_and_a_size_of_0)
{
    BOOST_CHECK_THROW(asynchat::globbing_producer(nullptr), std::invalid_argument);
    BOOST_CHECK_THROW(
        asynchat::globbing_producer(std::make_unique<asynchat::simple_producer>("x"), 0),
        std::invalid_argument
    );
}

BOOST_AUTO_TEST_CASE(read_ahead_is_the_inner_ones)
{
    // Setup: one over a read-ahead producer, one over a hooked one.
    asynchat::globbing_producer ahead(std::make_unique<asynchat::simple_producer>("x"));
    asynchat::globbing_producer hooked(std::make_unique<asynchat::hooked_producer>(
        std::make_unique<asynchat::simple_producer>("x"), [](std::size_t) {}
    ));

    // Check
    BOOST_TEST(ahead.read_ahead());
    BOOST_TEST(!hooked.read_ahead());
    BOOST_TEST(hooked.more() == "x");
    BOOST_TEST(hooked.read_ahead()); // exhausted: nothing left to call back
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hooked)

BOOST_AUTO_TEST_CASE(calls_back_once_with_the_byte_count_when_exhausted)
{
    // Setup
    std::vector<std::size_t> calls;
    asynchat::hooked_producer p(
        std::make_unique<asynchat::buffer_list_producer>(std::vector<std::string>{"ab", "cde"}),
        [&](std::size_t n) { calls.push_back(n); }
    );

    // Event, check: no call while pieces come; one, with 5, at the end.
    BOOST_TEST(p.more() == "ab");
    BOOST_TEST(p.more() == "cde");
    BOOST_TEST(calls.empty());
    BOOST_TEST(p.more() == "");
    BOOST_TEST(calls == std::vector<std::size_t>{5});
    BOOST_TEST(p.more() == "");
    BOOST_TEST(calls.size() == 1u);
}

BOOST_AUTO_TEST_CASE(does_not_call_back_while_the_inner_waits)
{
    // Setup
    int calls = 0;
    asynchat::hooked_producer p(
        std::make_unique<scripted>(std::vector<std::optional<std::string>>{"x", not_yet}),
        [&](std::size_t) { ++calls; }
    );

    // Event, check
    BOOST_TEST(puller::next(p) == "x");
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(p.waiting());
    BOOST_TEST(calls == 0);
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(!p.waiting());
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(is_never_read_ahead_and_rejects_nulls)
{
    asynchat::hooked_producer p(
        std::make_unique<asynchat::simple_producer>("x"), [](std::size_t) {}
    );
    BOOST_TEST(!p.read_ahead());
    BOOST_CHECK_THROW(
        asynchat::hooked_producer(nullptr, [](std::size_t) {}), std::invalid_argument
    );
    BOOST_CHECK_THROW(
        asynchat::hooked_producer(std::make_unique<asynchat::simple_producer>("x"), nullptr),
        std::invalid_argument
    );
}

BOOST_AUTO_TEST_CASE(its_function_may_push_after_the_bytes_are_written)
{
    // Setup: Medusa's use: log the response once sent; here the function also pushes.
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    std::uint64_t sent_then = 0;
    chat->push("head\n");
    chat->push_with_producer(std::make_unique<asynchat::hooked_producer>(
        std::make_unique<asynchat::simple_producer>(std::string(100000, 'b'), 4096),
        [&, c = chat.get()](std::size_t n)
        {
            sent_then = c->bytes_sent();
            c->push("logged " + std::to_string(n) + "\n");
            c->close_when_done();
        }
    ));
    chat->start();

    // Event
    std::string received;
    std::thread reader([&, &client = client] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));

    // Check: the function ran once every byte before it was written, and its push came last.
    BOOST_TEST(sent_then == 5u + 100000u);
    BOOST_TEST(received == "head\n" + std::string(100000, 'b') + "logged 100000\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(chunked)

BOOST_AUTO_TEST_CASE(waits_with_its_inner_and_ends_once)
{
    // Setup
    asynchat::chunked_producer p(
        std::make_unique<scripted>(std::vector<std::optional<std::string>>{"abc", not_yet}),
        {"A: b"}
    );

    // Event, check
    BOOST_TEST(puller::next(p) == "3\r\nabc\r\n");
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(p.waiting());
    BOOST_TEST(puller::next(p) == "0\r\nA: b\r\n\r\n");
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(!p.waiting());
}

BOOST_AUTO_TEST_CASE(a_large_piece_has_a_lowercase_hex_size)
{
    asynchat::chunked_producer p(
        std::make_unique<asynchat::simple_producer>(std::string(0xabcde, 'z'), 0xabcde)
    );
    std::string const chunk = p.more();
    BOOST_TEST(chunk.substr(0, 7) == "abcde\r\n");
    BOOST_TEST(chunk.size() == 7u + 0xabcde + 2);
    BOOST_TEST(p.more() == "0\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(rejects_footers_that_are_not_one_line)
{
    auto inner = [] { return std::make_unique<asynchat::simple_producer>("x"); };
    using footers = std::vector<std::string>;
    BOOST_CHECK_THROW(asynchat::chunked_producer(nullptr), std::invalid_argument);
    BOOST_CHECK_THROW(
        asynchat::chunked_producer(inner(), footers{"A: b\r\nC: d"}), std::invalid_argument
    );
    BOOST_CHECK_THROW(
        asynchat::chunked_producer(inner(), footers{"A: b\n"}), std::invalid_argument
    );
    BOOST_CHECK_THROW(asynchat::chunked_producer(inner(), footers{""}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(escaping)

BOOST_AUTO_TEST_CASE(every_split_point_gives_the_escaping_of_the_whole)
{
    struct pair_and_text
    {
        std::string from, to, text;
    };
    std::vector<pair_and_text> const cases{
        {"\r\n.", "\r\n..", "\r\n.\r\n..\r\r\n.x\r\n\r\n.\r\n"},
        {"\r\n.", "\r\n..", ".a\r\n.\r\nb\r\r\n"},
        {"ab", "a", "xabbyabab"},
        {"aab", "X", "aaabaabaab"},
        {"aa", "b", "aaaaa"},
        {"\xff",
         "\xff\xff",
         "a\xff\xff"
         "b\xff"},
    };
    for (auto const& c : cases)
    {
        std::string const want = replace_all(c.text, c.from, c.to);
        auto escaped = [&](std::vector<std::string> pieces)
        {
            asynchat::escaping_producer p(
                std::make_unique<asynchat::buffer_list_producer>(std::move(pieces)), c.from, c.to
            );
            return joined(drain(p));
        };
        std::size_t const n = c.text.size();
        // Two pieces and three pieces, at every split point.
        for (std::size_t i = 0; i <= n; ++i)
        {
            for (std::size_t j = i; j <= n; ++j)
            {
                BOOST_TEST_CONTEXT(hex(c.text) << " split at " << i << " and " << j)
                {
                    std::string const a = c.text.substr(0, i), b = c.text.substr(i, j - i);
                    BOOST_TEST(hex(escaped({a, c.text.substr(i)})) == hex(want));
                    BOOST_TEST(hex(escaped({a, b, c.text.substr(j)})) == hex(want));
                }
            }
        }
        // One byte at a time.
        std::vector<std::string> bytes;
        for (char ch : c.text)
            bytes.emplace_back(1, ch);
        BOOST_TEST(hex(escaped(bytes)) == hex(want));
    }
}

BOOST_AUTO_TEST_CASE(keeps_a_partial_sequence_until_the_next_piece)
{
    asynchat::escaping_producer p(
        std::make_unique<asynchat::buffer_list_producer>(std::vector<std::string>{"a\r", "\n.b"})
    );
    BOOST_TEST(p.more() == "a");
    BOOST_TEST(p.more() == "\r\n..b");
    BOOST_TEST(p.more() == "");
}

BOOST_AUTO_TEST_CASE(sends_the_final_partial_sequence_medusa_drops)
{
    asynchat::escaping_producer p(std::make_unique<asynchat::simple_producer>("abc\r\n"));
    BOOST_TEST(p.more() == "abc");
    BOOST_TEST(p.more() == "\r\n");
    BOOST_TEST(p.more() == "");
}

BOOST_AUTO_TEST_CASE(pulls_again_when_a_whole_piece_is_kept)
{
    asynchat::escaping_producer p(std::make_unique<asynchat::buffer_list_producer>(
        std::vector<std::string>{"a", "\r", "\n", ".", "b"}
    ));
    BOOST_TEST(p.more() == "a");
    BOOST_TEST(p.more() == "\r\n..");
    BOOST_TEST(p.more() == "b");
    BOOST_TEST(p.more() == "");
}

BOOST_AUTO_TEST_CASE(waits_with_what_it_keeps)
{
    // Setup
    asynchat::escaping_producer p(
        std::make_unique<scripted>(std::vector<std::optional<std::string>>{"a\r", not_yet, "\n."})
    );

    // Event, check: "\r" stays until the next piece says what it is.
    BOOST_TEST(puller::next(p) == "a");
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(p.waiting());
    BOOST_TEST(puller::next(p) == "\r\n..");
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(!p.waiting());
}

BOOST_AUTO_TEST_CASE(rejects_an_empty_esc_from_and_a_null_producer)
{
    BOOST_CHECK_THROW(asynchat::escaping_producer(nullptr), std::invalid_argument);
    BOOST_CHECK_THROW(
        asynchat::escaping_producer(std::make_unique<asynchat::simple_producer>("x"), "", "y"),
        std::invalid_argument
    );
}

BOOST_AUTO_TEST_CASE(read_ahead_is_the_inner_ones)
{
    asynchat::escaping_producer ahead(
        std::make_unique<scripted>(std::vector<std::optional<std::string>>{"x"}, true)
    );
    asynchat::escaping_producer not_ahead(
        std::make_unique<scripted>(std::vector<std::optional<std::string>>{"x"}, false)
    );
    asynchat::chunked_producer chunked_not_ahead(
        std::make_unique<scripted>(std::vector<std::optional<std::string>>{"x"}, false)
    );
    BOOST_TEST(ahead.read_ahead());
    BOOST_TEST(!not_ahead.read_ahead());
    BOOST_TEST(!chunked_not_ahead.read_ahead());
}

BOOST_AUTO_TEST_SUITE_END()
