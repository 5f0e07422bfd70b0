// asynchat: test kit: feed a handler a byte stream split every way, and compare what it did
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_SPLIT_REPLAY_HPP
#define ASYNCHAT_TESTING_SPLIT_REPLAY_HPP

#include <asynchat/loop.hpp>
#include <asynchat/testing/connected_pair.hpp>
#include <asynchat/testing/escaped.hpp>
#include <asynchat/testing/recorded.hpp>
#include <asynchat/testing/run.hpp>
#include <asynchat/testing/scripted_peer.hpp>
#include <asynchat/testing/split.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace asynchat::testing {

/** What a channel did in one run of a split check: what is compared between runs.

    @par Python
    No equivalent.

    @par Thread safety
    A plain value.
*/
struct run_record
{
    /// Every byte the peer received from the channel (what it pushed), in order.
    std::string received;
    /// Whether the channel was closed at the end of the run.
    bool closed = false;
    /// Whether the peer's connection ended with a reset (or another error) rather than EOF.
    bool reset = false;
    /// The hooks it ran, if the channel is a recorded<Chat> (see hook_log::hooks()).
    std::vector<std::string> hooks;
    /// What the test's observe function returned at the end of the run (printed escaped, each
    /// in quotes).
    std::vector<std::string> observed;
    /// Empty, or why the run did not finish: the channel stopped reading before the end of the
    /// stream, or never settled.
    std::string problem;

    /// Whether two runs did the same.
    friend bool operator==(run_record const& a, run_record const& b)
    {
        return a.received == b.received && a.closed == b.closed && a.reset == b.reset &&
               a.hooks == b.hooks && a.observed == b.observed && a.problem == b.problem;
    }
    /// Whether two runs differ.
    friend bool operator!=(run_record const& a, run_record const& b) { return !(a == b); }

    /// Print describe(), for a test framework's failure message.
    friend std::ostream& operator<<(std::ostream& out, run_record const& r)
    {
        return out << "run_record{\n" << r.describe() << "}";
    }

    /** The record, one field a line, each line indented by `indent`: the bytes and each
        observation escaped (see escaped()), so that control bytes and line breaks show; the
        hooks as recorded<Chat> wrote them down.
    */
    std::string describe(std::string const& indent = "  ") const
    {
        auto list = [](std::vector<std::string> const& v, bool escape)
        {
            std::string out;
            for (auto const& s : v)
                out += (out.empty() ? "" : "; ") + (escape ? escaped(s) : s);
            return out.empty() ? std::string("(none)") : out;
        };
        std::string out = indent + "received " + detail::counted(received.size(), "byte") + ": " +
                          escaped(received) + "\n" + indent + "closed: " + (closed ? "yes" : "no") +
                          (reset ? " (the peer saw a reset)" : "") + "\n";
        if (!hooks.empty())
            out += indent + "hooks: " + list(hooks, false) + "\n";
        if (!observed.empty())
            out += indent + "observed: " + list(observed, true) + "\n";
        if (!problem.empty())
            out += indent + "problem: " + problem + "\n";
        return out;
    }
};

/** How check_splits() and replay() run: which splits, how long to wait, how a run ends.

    @par Python
    No equivalent.
*/
struct split_options
{
    /// The splits tried after the unsplit run, policy after policy.
    std::vector<split_policy> policies = {
        split_policy::every_boundary(), split_policy::one_byte_at_a_time()};

    /// The longest wait of each step of a run (a piece to be read, the run to settle), in real
    /// time: reached only when something is wrong.
    std::chrono::steady_clock::duration deadline = std::chrono::seconds(5);

    /// After the last piece, the peer shuts down its sending side, so that the channel reads
    /// EOF (its handle_close() runs once its output is written); otherwise the connection stays
    /// open and the run ends when the channel has settled.
    bool half_close = false;
};

/** The outcome of check_splits(): whether every split did what the unsplit stream did, and if
    not, the first split that did not, with both records.

    @par Python
    No equivalent.
*/
struct split_report
{
    /// The transport's name (Transport::name()): `tcp_v4`, `tcp_v6` or `unix_stream`.
    std::string transport;
    /// The stream checked.
    std::string stream;
    /// The runs made, the unsplit one included.
    std::size_t runs = 0;
    /// The runs planned in all.
    std::size_t planned = 0;
    /// What the channel did with the stream in one piece: the reference.
    run_record unsplit;
    /// The first split whose record differs from `unsplit`; `{}` if the unsplit run itself
    /// did not finish (see run_record::problem); empty if every split did the same.
    std::optional<split> failed_split;
    /// The policy that made failed_split.
    std::string failed_policy;
    /// The record of failed_split.
    run_record failed;

    /// True if every split did what the unsplit stream did.
    bool same() const noexcept { return !failed_split; }
    /// same().
    explicit operator bool() const noexcept { return same(); }

    /// Print message(), for a test framework's failure message.
    friend std::ostream& operator<<(std::ostream& out, split_report const& r)
    {
        return out << r.message();
    }

    /** A report for a test log: the split, the pieces, both records, the first difference, and
        the replay() call that runs the split again, its transport named in full
        (`asynchat::testing::replay<asynchat::testing::tcp_v4>(make, [observe,] stream, {3})`).
    */
    std::string message() const
    {
        std::string const head = "asynchat::testing::check_splits<" + transport + ">: ";
        if (same())
            return head +
                   (runs == 1
                        ? std::string("1 run: the stream in one piece, no split to try")
                        : std::to_string(runs) + " runs, each the same as the stream in one piece");
        if (failed_split->empty())
            return head + "the stream in one piece did not finish: " + unsplit.problem + "\n" +
                   "stream (" + detail::counted(stream.size(), "byte") + "): " + escaped(stream) +
                   "\n" + unsplit.describe();
        std::string out = head + "split " + to_string(*failed_split) + " (" + failed_policy +
                          ", run " + std::to_string(runs) + " of " + std::to_string(planned) +
                          ") differs from the stream in one piece\n";
        out += "stream (" + detail::counted(stream.size(), "byte") + "): " + escaped(stream) + "\n";
        out += "pieces:";
        for (auto piece : pieces(stream, *failed_split))
            out += " " + escaped(piece, 80);
        out += "\nin one piece:\n" + unsplit.describe() + "split " + to_string(*failed_split) +
               ":\n" + failed.describe();
        out += "first difference: " + difference() + "\n";
        out += "replay it: asynchat::testing::replay<asynchat::testing::" + transport +
               ">(make, [observe,] stream, " + to_string(*failed_split) + ")";
        return out;
    }

private:
    std::string difference() const
    {
        auto const& a = unsplit;
        auto const& b = failed;
        if (a.received != b.received)
        {
            std::size_t i = 0;
            while (i < a.received.size() && i < b.received.size() && a.received[i] == b.received[i])
                ++i;
            return "received, from byte " + std::to_string(i) + ": in one piece " +
                   escaped(a.received.substr(i), 80) + ", split " +
                   escaped(b.received.substr(i), 80);
        }
        if (a.closed != b.closed || a.reset != b.reset)
            return "how the connection ended";
        // The hooks are printed as recorded<Chat> wrote them (their messages already escaped),
        // the observations escaped.
        auto first_entry = [](char const* what, auto const& x, auto const& y, bool escape)
        {
            std::size_t i = 0;
            while (i < x.size() && i < y.size() && x[i] == y[i])
                ++i;
            auto entry = [&](auto const& v) {
                return i >= v.size() ? std::string("(none)") : escape ? escaped(v[i]) : v[i];
            };
            return std::string(what) + ", entry " + std::to_string(i + 1) + ": in one piece " +
                   entry(x) + ", split " + entry(y);
        };
        if (a.hooks != b.hooks)
            return first_entry("hooks", a.hooks, b.hooks, false);
        if (a.observed != b.observed)
            return first_entry("observed", a.observed, b.observed, true);
        return "problem: " + b.problem;
    }
};

namespace detail {

// Whether `chat` is in the channel map of `io`: it entered it when start() (or connect()) was
// called, before that call returned, though the start itself waits for `io` to run. The map is
// the one trace a start leaves on the calling thread.
template <class Chat>
bool started(boost::asio::io_context& io, std::shared_ptr<Chat> const& chat)
{
    for (auto const& c : asynchat::channels<Chat>(io))
        if (c == chat)
            return true;
    return false;
}

// The observe function of a check that has none.
struct observe_nothing
{
    template <class Chat>
    std::vector<std::string> operator()(Chat const&) const
    {
        return {};
    }
};

// One run: a fresh io_context and connected pair, a fresh channel from `make`, the stream
// written piece by piece, each once the channel has read the ones before (its bytes_received()
// reached their end), so that no read of the channel spans a cut; then the run settles and is
// recorded.
template <class Transport, class Make, class Observe>
run_record run_once(
    Make& make,
    Observe& observe,
    std::string_view stream,
    split const& cuts,
    split_options const& options
)
{
    auto const parts = pieces(stream, cuts); // refuses a bad split before any socket is made
    boost::asio::io_context io;
    auto [peer_socket, channel_socket] = Transport::pair(io);
    auto chat = make(std::move(channel_socket));
    if (!chat)
        throw std::invalid_argument("asynchat::testing: the factory returned no channel");
    using chat_type = typename std::decay_t<decltype(chat)>::element_type;
    if (started(io, chat))
    {
        // The kit's start() would be the channel's second, an error. Let the factory's start
        // run, then close the channel: destroyed with its start still pending, it would warn
        // (in a debug build) that it was never started.
        chat->close();
        settle(io);
        throw std::invalid_argument(
            "asynchat::testing: the factory returned a channel already started (it called "
            "start() or connect()); return a channel not yet started: check_splits() and "
            "replay() start it themselves"
        );
    }
    scripted_peer<typename Transport::socket> peer(io, std::move(peer_socket), options.deadline);
    peer.watch(chat);
    chat->start();

    run_record record;
    try
    {
        for (std::string_view piece : parts)
        {
            if (!chat->connected())
                break; // what a closed channel would read is not delivered
            peer.send(piece);
        }
    }
    catch (expectation_failed const& e)
    {
        record.problem = std::string(e.what()) + " (the channel read " +
                         std::to_string(chat->bytes_received()) + " of " +
                         detail::counted(stream.size(), "byte") + ")";
    }
    if (options.half_close && chat->connected())
        peer.half_close();

    // Settled: the peer's connection ended; or the channel is open, has nothing queued, the peer
    // has everything it wrote, and no handler is ready. A closed channel always ends the
    // peer's connection (EOF, or a reset), so it is waited for.
    bool const settled = run_until(
        io,
        [&]
        {
            if (peer.ended())
                return true;
            if (!chat->connected() || chat->outgoing_bytes() != 0 ||
                peer.received().size() != chat->bytes_sent())
                return false;
            return io.poll_one() == 0;
        },
        options.deadline
    );
    if (!settled && record.problem.empty())
        record.problem = chat->connected()
                             ? "the channel did not settle (outgoing_bytes() " +
                                   std::to_string(chat->outgoing_bytes()) + ", bytes_sent() " +
                                   std::to_string(chat->bytes_sent()) + ", the peer received " +
                                   std::to_string(peer.received().size()) + ")"
                             : "the channel closed and the peer saw no EOF";

    record.received = peer.received();
    record.closed = !chat->connected();
    record.reset = peer.ended() && peer.ended_with() != boost::asio::error::eof;
    if constexpr (std::is_base_of_v<hook_log, chat_type>)
        record.hooks = chat->hooks();
    record.observed = observe(*chat);

    // Tear down: what is still pending when the io_context goes is destroyed with it.
    chat->close();
    peer.reset();
    settle(io);
    return record;
}

template <class Transport, class Make, class Observe>
split_report
check(Make& make, Observe& observe, std::string_view stream, split_options const& options)
{
    // Every policy's splits first: a refused one (every_pair() over its limit) throws before
    // anything runs.
    std::vector<std::pair<std::string, std::vector<split>>> plan;
    split_report report;
    report.transport = Transport::name();
    report.stream = std::string(stream);
    report.planned = 1;
    for (auto const& policy : options.policies)
    {
        plan.emplace_back(policy.name(), policy.splits(stream.size()));
        report.planned += plan.back().second.size();
    }
    report.unsplit = run_once<Transport>(make, observe, stream, {}, options);
    report.runs = 1;
    if (!report.unsplit.problem.empty())
    {
        report.failed_split = split{};
        report.failed_policy = "in one piece";
        report.failed = report.unsplit;
        return report;
    }
    for (auto const& [name, splits] : plan)
        for (auto const& cuts : splits)
        {
            run_record record = run_once<Transport>(make, observe, stream, cuts, options);
            ++report.runs;
            if (record != report.unsplit)
            {
                report.failed_split = cuts;
                report.failed_policy = name;
                report.failed = std::move(record);
                return report;
            }
        }
    return report;
}

} // namespace detail

/** Check that a channel does the same with `stream` however the network splits it: feed it to
    fresh channels, first in one piece, then split as each of `options.policies` says, and
    compare what each did (run_record) with the unsplit run; stop at the first difference.

    Each run has its own io_context and its own connected pair of `Transport`, and a channel
    from `make`, which the check starts. The peer writes piece k only once the channel has read
    every byte before it (its bytes_received()), so the channel's reads end exactly at the cuts
    (a piece larger than the socket's buffers may arrive in several reads, never merged with
    the next). The feeding stops once the channel has closed: no piece is sent to it, and the
    wait for a piece ends when it closes (one that called close_when_done() is fed until its
    close, so what comes after a QUIT may be read in one piece and not when cut after the
    QUIT). Once the pieces are sent (and the sending side shut down, if `options.half_close`),
    the run settles: it ends when the peer's connection has ended, or when the channel is open
    with nothing queued, everything it wrote has arrived and no handler is ready. Timers
    (unless on manual_clock and advanced) and other threads are not waited for. Then the record
    is taken: the bytes the peer received, whether the channel is closed, its hooks if it is a
    recorded<Chat>, and `observe(chat)`. The channel is closed and its io_context destroyed.

    @tparam Transport tcp_v4, tcp_v6 or unix_stream (unix_stream runs without a network, for a
    channel whose Stream is a Unix socket, or a template).
    @param make Called once a run with the channel's end, `Transport::socket`, returning the
    channel, not started (the check calls start(); a factory that calls it, or connect(), is
    refused), as a `std::shared_ptr` to a class derived from basic_async_chat (a recorded<Chat>
    to compare the hooks). It is called on this thread; it may reset state it shares with
    `observe`. Whatever else holds the channel must let it go by the end of the run (a chat
    room's member list, say).
    @param observe Called once a run, at its end, with the channel (`Chat&`); returns what the
    test wants compared, convertible to `std::vector<std::string>` (what the handler recorded).
    @param stream The bytes the peer sends.
    @param options The policies, the deadline of each wait, half-close.
    @return The report: same(), or the first split that differs, printable with message().
    @throws std::invalid_argument for a policy that refuses the stream (every_pair() over its
    limit), a factory returning null, or a factory returning a channel already started (by
    start() or connect()); `boost::system::system_error` if no pair can be made.

    @par Python
    No equivalent: CPython's test_asynchat feeds chunk sizes 1, 2 and 3 by hand.

    @par Executor
    Runs each run's io_context on the calling thread; `make` and `observe` are called there too.
*/
template <class Transport, class Make, class Observe>
split_report check_splits(
    Make&& make, Observe&& observe, std::string_view stream, split_options const& options = {}
)
{
    return detail::check<Transport>(make, observe, stream, options);
}

/** check_splits() without an observe function: the records compare the bytes received, the
    channel's closing and, for a recorded<Chat>, its hooks.
*/
template <class Transport, class Make>
split_report check_splits(Make&& make, std::string_view stream, split_options const& options = {})
{
    detail::observe_nothing observe;
    return detail::check<Transport>(make, observe, stream, options);
}

/** One run of check_splits(): `stream` sent cut at `cuts`, recorded; to replay a split a report
    printed, under a debugger or with more observations.

    @param make As for check_splits().
    @param observe As for check_splits().
    @param stream The bytes the peer sends.
    @param cuts Where to cut them (`{}`: in one piece).
    @param options The deadline and half-close (the policies are not used).
    @return The run's record.
    @throws std::invalid_argument if `cuts` does not cut `stream` (see pieces()), or as
    check_splits() for the factory.

    @par Python
    No equivalent.

    @par Executor
    As check_splits().
*/
template <class Transport, class Make, class Observe>
run_record replay(
    Make&& make,
    Observe&& observe,
    std::string_view stream,
    split const& cuts,
    split_options const& options = {}
)
{
    return detail::run_once<Transport>(make, observe, stream, cuts, options);
}

/// replay() without an observe function.
template <class Transport, class Make>
run_record
replay(Make&& make, std::string_view stream, split const& cuts, split_options const& options = {})
{
    detail::observe_nothing observe;
    return detail::run_once<Transport>(make, observe, stream, cuts, options);
}

} // namespace asynchat::testing

#endif
