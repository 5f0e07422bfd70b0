// asynchat: tests of the test kit (asynchat/testing.hpp): pairs, runs, the manual clock, split
// replay (and the planted framing bug it catches), the scripted peer, fault injection
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/testing.hpp>

#define BOOST_TEST_MODULE testing
#include <asynchat/async_chat.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/core/demangle.hpp>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>
#include <vector>

namespace asio = boost::asio;
namespace at = asynchat::testing;
using namespace std::chrono_literals;

namespace {

using all_transports = boost::mpl::list<at::tcp_v4, at::tcp_v6, at::unix_stream>;

//----------------------------------------------------------------------------
// Handlers under test.

/// A line protocol done right: "\r\n" lines, each answered in capitals; QUIT says BYE and
/// closes. The lines are kept for observe functions; errors close without a log line.
template <class Stream, class Timer = asio::steady_timer>
class line_echo : public asynchat::basic_async_chat<Stream, Timer>
{
public:
    using base = asynchat::basic_async_chat<Stream, Timer>;
    explicit line_echo(Stream s) : base(std::move(s)) { this->set_terminator("\r\n"); }

    std::vector<std::string> lines;
    std::size_t high_waters = 0;

protected:
    void collect_incoming_data(std::string_view data) override
    {
        this->_collect_incoming_data(data);
    }
    void found_terminator() override
    {
        std::string line = this->_get_data();
        lines.push_back(line);
        if (line == "QUIT")
        {
            this->push("BYE\r\n");
            this->close_when_done();
            return;
        }
        for (char& c : line)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        this->push(line + "\r\n");
    }
    void handle_error(std::exception_ptr) override { this->close(); }
    void handle_write_high_water() override { ++high_waters; }
};

/// The planted bug: the same protocol, but the handler frames the lines itself, read by read
/// (the None terminator), and takes a '\r' at the end of a read for a stray byte. In one piece,
/// or cut anywhere but between a '\r' and its '\n', it answers as line_echo does; cut there, it
/// drops the '\r' and answers the two lines as one.
template <class Stream>
class self_framing_echo : public asynchat::basic_async_chat<Stream>
{
public:
    explicit self_framing_echo(Stream s) : asynchat::basic_async_chat<Stream>(std::move(s))
    {
        this->set_terminator(nullptr);
    }

protected:
    void collect_incoming_data(std::string_view data) override
    {
        std::size_t start = 0;
        for (std::size_t end; (end = data.find("\r\n", start)) != std::string_view::npos;
             start = end + 2)
        {
            line_.append(data.substr(start, end - start));
            for (char& c : line_)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            this->push(line_ + "\r\n");
            line_.clear();
        }
        std::string_view rest = data.substr(start);
        if (!rest.empty() && rest.back() == '\r')
            rest.remove_suffix(1); // the bug: half a terminator taken for noise
        line_.append(rest);
    }
    void found_terminator() override {}

private:
    std::string line_;
};

/// Writes down the size of each read it is given (the None terminator gives one call a read).
template <class Stream>
class read_sizes : public asynchat::basic_async_chat<Stream>
{
public:
    explicit read_sizes(Stream s) : asynchat::basic_async_chat<Stream>(std::move(s))
    {
        this->set_terminator(nullptr);
    }
    std::vector<std::string> sizes;

protected:
    void collect_incoming_data(std::string_view data) override
    {
        sizes.push_back(std::to_string(data.size()));
    }
    void found_terminator() override {}
};

/// line_echo that stops reading after its first line and never resumes: a flow-control bug.
template <class Stream>
class stops_reading : public line_echo<Stream>
{
public:
    using line_echo<Stream>::line_echo;

protected:
    bool readable() override { return this->lines.empty(); }
};

template <class Chat>
auto maker()
{
    return [](auto socket) { return std::make_shared<Chat>(std::move(socket)); };
}

auto const lines_of = [](auto& chat) { return chat.lines; };

std::string const session = "HELO x\r\nMAIL y\r\nQUIT\r\n";

} // namespace

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(connected_pairs)

BOOST_AUTO_TEST_CASE_TEMPLATE(each_pair_carries_bytes_both_ways, Transport, all_transports)
{
    // Setup
    asio::io_context io;
    auto [a, b] = Transport::pair(io);

    // Event: a few bytes each way.
    asio::write(a, asio::buffer(std::string("ping")));
    asio::write(b, asio::buffer(std::string("pong!")));
    std::string at_b(4, '\0');
    std::string at_a(5, '\0');
    asio::read(b, asio::buffer(at_b));
    asio::read(a, asio::buffer(at_a));

    // Check
    BOOST_TEST(at_b == "ping");
    BOOST_TEST(at_a == "pong!");
    BOOST_TEST(std::string(Transport::name()).size() > 0u);
}

BOOST_AUTO_TEST_CASE(tcp_pairs_send_at_once_and_use_ephemeral_ports)
{
    asio::io_context io;
    auto [client, server] = at::tcp_v4::pair(io);
    asio::ip::tcp::no_delay client_nodelay;
    asio::ip::tcp::no_delay server_nodelay;
    client.get_option(client_nodelay);
    server.get_option(server_nodelay);
    BOOST_TEST(client_nodelay.value());
    BOOST_TEST(server_nodelay.value());
    BOOST_TEST(server.local_endpoint().port() != 0u);
    BOOST_TEST(server.local_endpoint().address().to_string() == "127.0.0.1");
    auto [c6, s6] = at::tcp_v6::pair(io);
    BOOST_TEST(s6.local_endpoint().address().to_string() == "::1");
}

BOOST_AUTO_TEST_CASE(a_unix_listener_removes_its_path)
{
    asio::io_context io;
    std::string path;
    {
        at::unix_stream::listener l(io);
        path = l.path;
        BOOST_TEST(std::filesystem::exists(path));
        at::unix_stream::socket client(io);
        client.connect(l.endpoint());
        auto server = l.acceptor.accept();
        BOOST_TEST(server.is_open());
    }
    BOOST_TEST(!std::filesystem::exists(path));
}

BOOST_AUTO_TEST_CASE(read_to_eof_reads_until_eof_or_an_idle_deadline)
{
    asio::io_context io;
    auto [a, b] = at::unix_stream::pair(io);
    asio::write(a, asio::buffer(std::string("all of it")));
    a.shutdown(at::unix_stream::socket::shutdown_send);
    BOOST_TEST(at::read_to_eof(b) == "all of it");

    // A peer that stays open: what came, once nothing more comes for the idle time.
    auto [c, d] = at::unix_stream::pair(io);
    asio::write(c, asio::buffer(std::string("part")));
    auto const started = std::chrono::steady_clock::now();
    BOOST_TEST(at::read_to_eof(d, 30ms) == "part");
    auto const waited = std::chrono::steady_clock::now() - started;
    BOOST_TEST((waited >= 30ms && waited < 5s));
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(running)

BOOST_AUTO_TEST_CASE(run_until_returns_after_the_handler_that_made_it_true)
{
    // Setup: three handlers ready at once.
    asio::io_context io;
    int ran = 0;
    for (int i = 0; i < 3; ++i)
        asio::post(io, [&] { ++ran; });

    // Event, check: the predicate is asked after each handler.
    BOOST_TEST(at::run_until(io, [&] { return ran == 1; }));
    BOOST_TEST(ran == 1);
    BOOST_TEST(at::run_until(io, [&] { return ran == 3; }));
}

BOOST_AUTO_TEST_CASE(run_until_gives_up_at_the_deadline)
{
    asio::io_context io;
    asio::steady_timer never(io, 1h);
    never.async_wait([](boost::system::error_code) {});
    auto const started = std::chrono::steady_clock::now();
    BOOST_TEST(!at::run_until(
        io, [] { return false; }, 20ms
    ));
    auto const waited = std::chrono::steady_clock::now() - started;
    BOOST_TEST((waited >= 20ms && waited < 5s));
}

BOOST_AUTO_TEST_CASE(settle_runs_what_is_ready_and_waits_for_nothing)
{
    // Setup: a chain of three handlers, each posting the next, and a timer an hour away.
    asio::io_context io;
    int chain = 0;
    asio::post(
        io,
        [&]
        {
            ++chain;
            asio::post(
                io,
                [&]
                {
                    ++chain;
                    asio::post(io, [&] { ++chain; });
                }
            );
        }
    );
    bool fired = false;
    asio::steady_timer later(io, 1h);
    later.async_wait([&](boost::system::error_code ec) { fired = !ec; });

    // Event
    auto const started = std::chrono::steady_clock::now();
    std::size_t const ran = at::settle(io);

    // Check: the chain ran, the timer did not, and nothing was waited for.
    BOOST_TEST(ran == 3u);
    BOOST_TEST(chain == 3);
    BOOST_TEST(!fired);
    BOOST_TEST((std::chrono::steady_clock::now() - started < 1s));
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(manual_time)

BOOST_AUTO_TEST_CASE(a_manual_timer_fires_when_the_clock_reaches_it)
{
    // Setup
    asio::io_context io;
    at::manual_timer timer(io);
    timer.expires_at(at::manual_clock::now() + 30s);
    bool fired = false;
    timer.async_wait([&](boost::system::error_code ec) { fired = !ec; });

    // Event, check: not a tick early, at once when due; no real time waited.
    auto const started = std::chrono::steady_clock::now();
    at::advance(io, 30s - 1ns);
    BOOST_TEST(!fired);
    at::advance(io, 1ns);
    BOOST_TEST(fired);
    BOOST_TEST((std::chrono::steady_clock::now() - started < 1s));
}

BOOST_AUTO_TEST_CASE(advance_right_after_start_counts_from_the_start)
{
    // Setup: start() from the test's thread is posted; the clock moves before it has run.
    asio::io_context io;
    auto [peer_socket, socket] = at::tcp_v4::pair(io);
    using chat_type = at::recorded<line_echo<at::tcp_v4::socket, at::manual_timer>>;
    auto chat = std::make_shared<chat_type>(std::move(socket));
    chat->set_idle_timeout(1min);
    chat->start();

    // Event, check: one minute is the timeout (the start ran first, then the time moved).
    at::advance(io, 1min);
    BOOST_TEST(!chat->connected());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_hour_of_idle_timeout_in_microseconds, Transport, all_transports)
{
    // Setup: a channel whose idle timeout is an hour on the manual clock.
    asio::io_context io;
    auto [peer_socket, socket] = Transport::pair(io);
    using chat_type = at::recorded<line_echo<typename Transport::socket, at::manual_timer>>;
    auto chat = std::make_shared<chat_type>(std::move(socket));
    chat->set_idle_timeout(1h);
    chat->start();
    at::scripted_peer peer(io, std::move(peer_socket));
    peer.send("hi\r\n").expect("HI\r\n");

    // Event: the hour, less a nanosecond, then the nanosecond.
    auto const started = std::chrono::steady_clock::now();
    at::advance(io, 1h - 1ns);
    bool const open_before = chat->connected();
    at::advance(io, 1ns);
    peer.expect_eof();
    auto const took = std::chrono::steady_clock::now() - started;

    // Check: open until the hour was up, then handle_timeout() closed it.
    BOOST_TEST(open_before);
    BOOST_TEST(!chat->connected());
    BOOST_TEST(
        chat->hooks() == (std::vector<std::string>{"found_terminator \"hi\"", "handle_timeout"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST_MESSAGE(
        Transport::name() << ": an hour's idle timeout took "
                          << std::chrono::duration_cast<std::chrono::microseconds>(took).count()
                          << " us of real time"
    );
    BOOST_TEST((took < 1s));
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(split_policies)

BOOST_AUTO_TEST_CASE(each_policy_lists_its_splits)
{
    using splits = std::vector<at::split>;
    BOOST_TEST((at::split_policy::every_boundary().splits(4) == splits{{1}, {2}, {3}}));
    BOOST_TEST((at::split_policy::every_pair(4).splits(4) == splits{{1, 2}, {1, 3}, {2, 3}}));
    BOOST_TEST((at::split_policy::every_pair(64).splits(64).size() == 63u * 62u / 2u));
    BOOST_TEST((at::split_policy::one_byte_at_a_time().splits(4) == splits{{1, 2, 3}}));
    for (std::size_t n : {0, 1})
    {
        BOOST_TEST(at::split_policy::every_boundary().splits(n).empty());
        BOOST_TEST(at::split_policy::one_byte_at_a_time().splits(n).empty());
        BOOST_TEST(at::split_policy::seeded_random(1, 5).splits(n).empty());
    }
    BOOST_TEST(at::split_policy::every_pair(64).name() == "every_pair(64)");
    BOOST_TEST(at::split_policy::seeded_random(7, 20, 3).name() == "seeded_random(7, 20, 3)");
}

BOOST_AUTO_TEST_CASE(every_pair_refuses_a_stream_over_its_limit)
{
    BOOST_CHECK_THROW(at::split_policy::every_pair(10).splits(11), std::invalid_argument);
    BOOST_CHECK_NO_THROW(at::split_policy::every_pair(10).splits(10));
}

BOOST_AUTO_TEST_CASE(seeded_random_is_reproducible_and_valid)
{
    // Setup
    auto const a = at::split_policy::seeded_random(7, 200, 3).splits(10);
    auto const b = at::split_policy::seeded_random(7, 200, 3).splits(10);
    auto const c = at::split_policy::seeded_random(8, 200, 3).splits(10);

    // Check: the same seed, the same splits; another seed, others; each a valid split of 1 to
    // 3 cuts, and between them every place is cut at least once.
    BOOST_TEST((a == b));
    BOOST_TEST((a != c));
    BOOST_TEST(a.size() == 200u);
    std::set<std::size_t> places;
    for (auto const& cuts : a)
    {
        BOOST_TEST((cuts.size() >= 1u && cuts.size() <= 3u));
        BOOST_TEST(std::is_sorted(cuts.begin(), cuts.end()));
        BOOST_TEST((std::adjacent_find(cuts.begin(), cuts.end()) == cuts.end()));
        BOOST_CHECK_NO_THROW(at::pieces("0123456789", cuts));
        places.insert(cuts.begin(), cuts.end());
    }
    BOOST_TEST(places.size() == 9u);
}

BOOST_AUTO_TEST_CASE(pieces_cut_where_told_and_refuse_bad_splits)
{
    BOOST_TEST(
        (at::pieces("abcd", {1, 3}) == std::vector<std::string_view>{"a", "bc", "d"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST((at::pieces("abcd", {}) == std::vector<std::string_view>{"abcd"}));
    for (at::split const& bad : {at::split{0}, at::split{4}, at::split{2, 1}, at::split{2, 2}})
        BOOST_CHECK_THROW(at::pieces("abcd", bad), std::invalid_argument);
    BOOST_TEST(at::to_string({3, 17}) == "{3, 17}");
    BOOST_TEST(at::to_string({}) == "{}");
}

BOOST_AUTO_TEST_CASE(escaped_writes_bytes_readably)
{
    BOOST_TEST(
        at::escaped(std::string("a\r\n\t\"\\\0\x7f\xff", 9)) == R"("a\r\n\t\"\\\0\x7f\xff")"
    );
    std::string const long_one = std::string(300, 'x') + std::string(300, 'y');
    BOOST_TEST(at::escaped(long_one, 10) == R"("xxxxx"... (590 bytes left out) ..."yyyyy")");
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(split_replay)

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_correct_handler_is_the_same_at_every_split, Transport, all_transports
)
{
    // Setup: every single cut, every pair, a byte a read and 20 random splits of a 22-byte
    // session, on a channel whose hooks are recorded.
    using chat_type = at::recorded<line_echo<typename Transport::socket>>;
    at::split_options options;
    options.policies = {
        at::split_policy::every_boundary(),
        at::split_policy::every_pair(32),
        at::split_policy::one_byte_at_a_time(),
        at::split_policy::seeded_random(7, 20)};

    // Event
    auto const report = at::check_splits<Transport>(maker<chat_type>(), lines_of, session, options);

    // Check: all the same; and the reference itself is right: the answers, the close after
    // QUIT, the hooks, the lines.
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.runs == 1u + 21u + 210u + 1u + 20u);
    BOOST_TEST(report.runs == report.planned);
    BOOST_TEST(report.unsplit.received == "HELO X\r\nMAIL Y\r\nBYE\r\n");
    BOOST_TEST(report.unsplit.closed);
    BOOST_TEST(!report.unsplit.reset);
    BOOST_TEST(
        report.unsplit.hooks == (std::vector<std::string>{
                                    "found_terminator \"HELO x\"",
                                    "found_terminator \"MAIL y\"",
                                    "found_terminator \"QUIT\"",
                                    "handle_close"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST(
        report.unsplit.observed == (std::vector<std::string>{"HELO x", "MAIL y", "QUIT"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST_MESSAGE(report.message());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(the_channel_reads_exactly_the_pieces, Transport, all_transports)
{
    // Setup: a channel that writes down the size of each read.
    auto make = maker<read_sizes<typename Transport::socket>>();
    auto sizes = [](auto& chat) { return chat.sizes; };

    // Event, check: each piece is one read, never merged with the next.
    auto const split = at::replay<Transport>(make, sizes, "0123456789", {3, 5});
    BOOST_TEST(
        split.observed == (std::vector<std::string>{"3", "2", "5"}),
        boost::test_tools::per_element()
    );
    auto const bytes =
        at::replay<Transport>(make, sizes, "0123456789", {1, 2, 3, 4, 5, 6, 7, 8, 9});
    BOOST_TEST(
        bytes.observed == std::vector<std::string>(10, "1"), boost::test_tools::per_element()
    );
    auto const whole = at::replay<Transport>(make, sizes, "0123456789", {});
    BOOST_TEST(whole.observed == std::vector<std::string>{"10"}, boost::test_tools::per_element());
    BOOST_TEST(!whole.closed);
    BOOST_TEST(whole.problem.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(catches_a_terminator_split_across_reads, Transport, all_transports)
{
    // Setup: the handler with the planted bug, and what a right one answers.
    auto make = maker<self_framing_echo<typename Transport::socket>>();
    std::string const stream = "ab\r\ncd\r\n";

    // Event, check: the one-piece test passes, and so does a test in two pieces cut elsewhere.
    auto const one_piece = at::replay<Transport>(make, stream, {});
    BOOST_TEST(one_piece.received == "AB\r\nCD\r\n");
    BOOST_TEST(at::replay<Transport>(make, stream, {4}).received == "AB\r\nCD\r\n");

    // Event: every split point.
    auto const report = at::check_splits<Transport>(make, stream);

    // Check: caught at the first cut between '\r' and '\n', {3}; the report shows the split,
    // the answers and how to replay it; the replay gives the same wrong answer.
    BOOST_TEST_REQUIRE(!report.same());
    BOOST_TEST((*report.failed_split == at::split{3}));
    BOOST_TEST(report.failed.received == "AB\nCD\r\n");
    std::string const message = report.message();
    BOOST_TEST(message.find("split {3} (every_boundary(), run 4 of 9)") != std::string::npos);
    BOOST_TEST(message.find(R"(pieces: "ab\r" "\ncd\r\n")") != std::string::npos);
    BOOST_TEST(
        message.find(R"(received, from byte 2: in one piece "\r\nCD\r\n", split "\nCD\r\n")") !=
        std::string::npos
    );
    BOOST_TEST(
        message.find(
            "replay<asynchat::testing::" + std::string(Transport::name()) +
            ">(make, [observe,] stream, {3})"
        ) != std::string::npos
    );
    BOOST_TEST(at::replay<Transport>(make, stream, *report.failed_split) == report.failed);
    BOOST_TEST_MESSAGE(message);
}

BOOST_AUTO_TEST_CASE(reports_a_channel_that_stops_reading)
{
    // Setup: a handler that stops reading after its first line; a short deadline.
    at::split_options options;
    options.deadline = 200ms;
    auto make = maker<stops_reading<at::unix_stream::socket>>();

    // Event
    auto const report = at::check_splits<at::unix_stream>(make, lines_of, session, options);

    // Check: in one piece it reads everything in one read; cut after the first line, the rest
    // is never read, which the record says.
    BOOST_TEST_REQUIRE(!report.same());
    BOOST_TEST((*report.failed_split == at::split{8}));
    BOOST_TEST(report.unsplit.problem.empty());
    BOOST_TEST(
        report.failed.problem.find("the channel did not read it within 200 ms") != std::string::npos
    );
    BOOST_TEST(report.failed.problem.find("(the channel read 8 of 22 bytes)") != std::string::npos);
    BOOST_TEST_MESSAGE(report.message());
}

BOOST_AUTO_TEST_CASE(half_close_lets_the_channel_see_eof)
{
    // Setup: a session without QUIT.
    using chat_type = at::recorded<line_echo<at::unix_stream::socket>>;
    std::string const stream = "HELO x\r\n";
    at::split_options options;

    // Event, check: left open, the channel stays open; half-closed, it reads EOF and closes.
    auto const open = at::check_splits<at::unix_stream>(maker<chat_type>(), stream, options);
    BOOST_TEST(open.same(), open.message());
    BOOST_TEST(!open.unsplit.closed);
    options.half_close = true;
    auto const closed = at::check_splits<at::unix_stream>(maker<chat_type>(), stream, options);
    BOOST_TEST(closed.same(), closed.message());
    BOOST_TEST(closed.unsplit.closed);
    BOOST_TEST(closed.unsplit.received == "HELO X\r\n");
    BOOST_TEST_REQUIRE(!closed.unsplit.hooks.empty());
    BOOST_TEST(closed.unsplit.hooks.back() == "handle_close");
}

BOOST_AUTO_TEST_CASE(refuses_bad_arguments_before_running)
{
    auto make = maker<line_echo<at::unix_stream::socket>>();
    at::split_options options;
    options.policies = {at::split_policy::every_pair(8)};
    BOOST_CHECK_THROW(
        at::check_splits<at::unix_stream>(make, session, options), std::invalid_argument
    );
    BOOST_CHECK_THROW(at::replay<at::unix_stream>(make, "abc", {3}), std::invalid_argument);
    auto null_maker = [](at::unix_stream::socket)
    { return std::shared_ptr<line_echo<at::unix_stream::socket>>(); };
    BOOST_CHECK_THROW(at::replay<at::unix_stream>(null_maker, "abc", {}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    the_report_names_the_transport_as_code_spells_it, Transport, all_transports
)
{
    // Setup: the transport's type as the compiler names it, e.g. "asynchat::testing::tcp_v4".
    std::string const type = boost::core::demangle(typeid(Transport).name());
    auto make = maker<self_framing_echo<typename Transport::socket>>();

    // Event: a report of a split that differs.
    auto const report = at::check_splits<Transport>(make, "ab\r\ncd\r\n");

    // Check: name() is the type's own name, and the line to replay the split names the type
    // in full, so that it compiles where it is pasted.
    BOOST_TEST_REQUIRE(!report.same());
    BOOST_TEST("asynchat::testing::" + std::string(Transport::name()) == type);
    BOOST_TEST(report.transport == Transport::name());
    std::string const message = report.message();
    BOOST_TEST(
        message.rfind("asynchat::testing::check_splits<" + report.transport + ">: ", 0) == 0u
    );
    BOOST_TEST(
        message.find("replay it: asynchat::testing::replay<" + type + ">(make, ") !=
        std::string::npos
    );
}

BOOST_AUTO_TEST_CASE(refuses_a_factory_that_starts_the_channel)
{
    // Setup: a factory that starts the channel it returns, as a program's acceptor would.
    using chat_type = at::recorded<line_echo<at::unix_stream::socket>>;
    auto starts = [](at::unix_stream::socket s)
    {
        auto chat = std::make_shared<chat_type>(std::move(s));
        chat->start();
        return chat;
    };
    auto const says_so = [](std::invalid_argument const& e)
    { return std::string(e.what()).find("return a channel not yet started") != std::string::npos; };

    // Event, check: replay() and check_splits() refuse it with a message, and do not abort.
    BOOST_CHECK_EXCEPTION(
        at::replay<at::unix_stream>(starts, session, {}), std::invalid_argument, says_so
    );
    BOOST_CHECK_EXCEPTION(
        at::check_splits<at::unix_stream>(starts, lines_of, session), std::invalid_argument, says_so
    );
}

BOOST_AUTO_TEST_CASE(a_record_escapes_what_observe_returned)
{
    // Setup: observations with a line break, a NUL and a control byte, and an empty one.
    at::run_record r;
    r.observed = {"a\r\nb", std::string("\0x\x01", 3), ""};

    // Event, check: each is printed escaped, as the bytes are.
    BOOST_TEST(r.describe().find(R"(observed: "a\r\nb"; "\0x\x01"; "")") != std::string::npos);

    // The first difference names the entries escaped too.
    at::split_report report;
    report.transport = "unix_stream";
    report.stream = "ab";
    report.unsplit.observed = {"x\n"};
    report.failed.observed = {"y\n"};
    report.failed_split = at::split{1};
    BOOST_TEST(
        report.message().find(
            R"(first difference: observed, entry 1: in one piece "x\n", split "y\n")"
        ) != std::string::npos
    );
}

BOOST_AUTO_TEST_CASE(one_run_and_one_byte_are_singular)
{
    // Setup: a stream of one byte has no place to cut: one run.
    auto make = maker<read_sizes<at::unix_stream::socket>>();

    // Event
    auto const report = at::check_splits<at::unix_stream>(make, "x");

    // Check
    BOOST_TEST_REQUIRE(report.same());
    BOOST_TEST(report.runs == 1u);
    std::string const message = report.message();
    BOOST_TEST(message.find("1 runs") == std::string::npos, message);
    BOOST_TEST(message.find(": 1 run") != std::string::npos, message);
    at::run_record r;
    r.received = "x";
    BOOST_TEST(r.describe().find(R"(received 1 byte: "x")") != std::string::npos, r.describe());
    BOOST_TEST(at::escaped("abcde", 4) == R"("ab"... (1 byte left out) ..."de")");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pipelining_after_quit, Transport, all_transports)
{
    // Setup: a client that sends a line after QUIT, in the same write.
    using chat_type = at::recorded<line_echo<typename Transport::socket>>;
    std::string const stream = "a\r\nQUIT\r\nb\r\n";

    // Event, check: in one piece the channel reads "b" with QUIT and handles it (what it
    // pushes after close_when_done() is not sent); cut after QUIT, it has written BYE and
    // closed before it reads "b". So the hooks differ by split.
    auto const whole = at::replay<Transport>(maker<chat_type>(), stream, {});
    auto const cut = at::replay<Transport>(maker<chat_type>(), stream, {9});
    BOOST_TEST(whole.received == "A\r\nBYE\r\n");
    BOOST_TEST(cut.received == whole.received);
    BOOST_TEST(whole.closed);
    BOOST_TEST(cut.closed);
    BOOST_TEST(
        whole.hooks == (std::vector<std::string>{
                           "found_terminator \"a\"",
                           "found_terminator \"QUIT\"",
                           "found_terminator \"b\"",
                           "handle_close"}),
        boost::test_tools::per_element()
    );
    BOOST_TEST(
        cut.hooks == (std::vector<std::string>{
                         "found_terminator \"a\"", "found_terminator \"QUIT\"", "handle_close"}),
        boost::test_tools::per_element()
    );
    auto const recorded = at::check_splits<Transport>(maker<chat_type>(), stream);
    BOOST_TEST_REQUIRE(!recorded.same());
    BOOST_TEST(at::to_string(*recorded.failed_split) == "{9}");

    // What the client sees does not depend on the split: checked without the hooks, and
    // without observing the lines, the channel is the same at every split.
    at::split_options options;
    options.policies = {
        at::split_policy::every_boundary(),
        at::split_policy::every_pair(16),
        at::split_policy::one_byte_at_a_time()};
    auto const answers = at::check_splits<Transport>(
        maker<line_echo<typename Transport::socket>>(), stream, options
    );
    BOOST_TEST(answers.same(), answers.message());
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(channel_start)

BOOST_AUTO_TEST_CASE_TEMPLATE(a_second_start_goes_to_handle_error, Transport, all_transports)
{
    // Setup: a started channel, answering.
    asio::io_context io;
    auto [peer_socket, socket] = Transport::pair(io);
    auto chat =
        std::make_shared<at::recorded<line_echo<typename Transport::socket>>>(std::move(socket));
    chat->start();
    at::scripted_peer peer(io, std::move(peer_socket), 2s);
    peer.send("x\r\n").expect("X\r\n");

    // Event: start() again.
    chat->start();
    at::settle(io);

    // Check: no assertion; handle_error() is told with a std::logic_error (line_echo's closes).
    peer.expect_eof();
    BOOST_TEST(
        chat->hooks() == (std::vector<std::string>{
                             "found_terminator \"x\"",
                             "handle_error asynchat::async_chat::start: already started"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(twice_before_the_io_context_runs)
{
    // Setup: a channel on an io_context that does not run yet.
    asio::io_context io;
    auto [peer_socket, socket] = at::unix_stream::pair(io);
    auto chat =
        std::make_shared<at::recorded<line_echo<at::unix_stream::socket>>>(std::move(socket));

    // Event: two start() calls, both carried out once the io_context runs.
    chat->start();
    chat->start();
    at::settle(io);

    // Check: the first started it, the second went to handle_error() (which closed it).
    BOOST_TEST(
        chat->hooks() ==
            std::vector<std::string>{"handle_error asynchat::async_chat::start: already started"},
        boost::test_tools::per_element()
    );
    BOOST_TEST(!chat->connected());
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(scripted_peer)

template <class Transport>
struct peer_fixture
{
    using socket = typename Transport::socket;
    using chat_type = at::recorded<line_echo<socket>>;

    peer_fixture()
    {
        auto [a, b] = Transport::pair(io);
        chat = std::make_shared<chat_type>(std::move(b));
        chat->start();
        peer.emplace(io, std::move(a), 2s);
    }

    asio::io_context io;
    std::shared_ptr<chat_type> chat;
    std::optional<at::scripted_peer<socket>> peer;
};

BOOST_AUTO_TEST_CASE_TEMPLATE(sends_in_pieces_and_expects_answers, Transport, all_transports)
{
    // Setup
    peer_fixture<Transport> f;
    f.peer->watch(f.chat);

    // Event: two lines in four pieces, the second terminator cut in two.
    f.peer->send("ab\r\ncd\r\n", {1, 3, 7});

    // Check: both answered; the channel read exactly those pieces.
    f.peer->expect("AB\r\n").expect("CD\r\n");
    BOOST_TEST(f.chat->bytes_received() == 8u);
    BOOST_TEST(f.peer->received().empty());
    f.peer->send("QUIT\r\n").expect("BYE\r\n").expect_eof();
    BOOST_TEST(!f.chat->connected());
}

BOOST_AUTO_TEST_CASE(a_failed_expectation_says_what_came)
{
    // Setup
    peer_fixture<at::unix_stream> f;
    f.peer->send("hello\r\n");

    // Event, check: a wrong answer fails at once (not at the deadline), saying what came.
    auto const started = std::chrono::steady_clock::now();
    try
    {
        f.peer->expect("HELP\r\n");
        BOOST_FAIL("expect() accepted the wrong bytes");
    }
    catch (at::expectation_failed const& e)
    {
        BOOST_TEST(
            std::string(e.what()) ==
            R"(asynchat::testing::scripted_peer: expected "HELP\r\n" within 2000 ms; got "HELLO\r\n" (they differ from byte 3), and nothing more yet)"
        );
    }
    BOOST_TEST((std::chrono::steady_clock::now() - started < 1s));

    // Nothing more comes: it fails at the deadline.
    f.peer->take();
    BOOST_CHECK_EXCEPTION(
        f.peer->expect("more", 20ms),
        at::expectation_failed,
        [](auto const& e)
        {
            return std::string(e.what()).find(
                       R"(expected "more" within 20 ms; got "", and nothing more yet)"
                   ) != std::string::npos;
        }
    );

    // EOF expected, bytes came.
    f.peer->send("x\r\n");
    BOOST_CHECK_EXCEPTION(
        f.peer->expect_eof(),
        at::expectation_failed,
        [](auto const& e)
        {
            return std::string(e.what()).find(R"(expected EOF within 2000 ms; got "X\r\n")") !=
                   std::string::npos;
        }
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(half_close_then_the_channel_closes, Transport, all_transports)
{
    // Setup
    peer_fixture<Transport> f;

    // Event: a line, then EOF from the peer.
    f.peer->send("last\r\n").half_close();

    // Check: the answer comes first, then the channel's close.
    f.peer->expect("LAST\r\n").expect_eof();
    BOOST_TEST(
        f.chat->hooks() == (std::vector<std::string>{"found_terminator \"last\"", "handle_close"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_reset_is_a_close_not_an_error, Transport, all_transports)
{
    // Setup
    peer_fixture<Transport> f;
    f.peer->send("x\r\n").expect("X\r\n");

    // Event
    f.peer->reset();

    // Check
    BOOST_TEST_REQUIRE(at::run_until(f.io, [&] { return !f.chat->connected(); }));
    BOOST_TEST(
        f.chat->hooks() == (std::vector<std::string>{"found_terminator \"x\"", "handle_close"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_stalled_peer_backs_up_the_output, Transport, all_transports)
{
    // Setup: a channel with a high watermark of 64 KiB; the peer stops reading.
    peer_fixture<Transport> f;
    f.chat->set_write_watermarks(0, 64 << 10);
    f.peer->stall();

    // Event: 8 MiB pushed.
    std::string const big(8 << 20, 'z');
    f.chat->push(big);
    at::settle(f.io);

    // Check: the output stays queued while the peer stalls, and drains once it reads.
    BOOST_TEST(f.chat->outgoing_bytes() > 0u);
    BOOST_TEST(f.chat->high_waters == 1u);
    BOOST_TEST(f.peer->received().size() < big.size());
    f.peer->expect(big);
    BOOST_TEST(at::run_until(f.io, [&] { return f.chat->outgoing_bytes() == 0; }));
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(fault_injection)

template <class Transport>
struct faulty_fixture
{
    using socket = at::faulty_socket<typename Transport::socket>;
    using chat_type = at::recorded<line_echo<socket>>;

    faulty_fixture()
    {
        auto [a, b] = Transport::pair(io);
        chat = std::make_shared<chat_type>(socket(std::move(b), faults));
        chat->start();
        peer.emplace(io, std::move(a), 2s);
        peer->watch(chat);
    }

    asio::io_context io;
    std::shared_ptr<at::fail_count> faults = std::make_shared<at::fail_count>();
    std::shared_ptr<chat_type> chat;
    std::optional<at::scripted_peer<typename Transport::socket>> peer;
};

BOOST_AUTO_TEST_CASE_TEMPLATE(the_nth_read_fails_with_the_error_given, Transport, all_transports)
{
    // Setup: the second read fails with EIO.
    faulty_fixture<Transport> f;
    f.faults->fail_read(2, make_error_code(boost::system::errc::io_error));

    // Event: a line a read.
    f.peer->send("a\r\n").expect("A\r\n");
    f.peer->send("b\r\n");

    // Check: the first was answered; the second read went to handle_error() (which closes).
    f.peer->expect_eof();
    BOOST_TEST(f.faults->reads() == 2u);
    BOOST_TEST(
        f.chat->hooks() == (std::vector<std::string>{
                               "found_terminator \"a\"", "handle_error read: Input/output error"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_reset_read_is_a_close_not_an_error, Transport, all_transports)
{
    faulty_fixture<Transport> f;
    f.faults->fail_read(1, asio::error::connection_reset);
    f.peer->send("a\r\n").expect_eof();
    BOOST_TEST(
        f.chat->hooks() == std::vector<std::string>{"handle_close"},
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(the_nth_write_fails_with_the_error_given, Transport, all_transports)
{
    // Setup: the second write fails with ENOSPC.
    faulty_fixture<Transport> f;
    f.faults->fail_write(2, make_error_code(boost::system::errc::no_space_on_device));

    // Event: two lines, each answered in a write of its own.
    f.peer->send("a\r\n").expect("A\r\n");
    f.peer->send("b\r\n");

    // Check: the second answer was not written; handle_error() was told, and closed.
    f.peer->expect_eof();
    BOOST_TEST(f.faults->writes() == 2u);
    BOOST_TEST(
        f.chat->hooks() == (std::vector<std::string>{
                               "found_terminator \"a\"",
                               "found_terminator \"b\"",
                               "handle_error write: No space left on device"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(async_read_some_and_write_some_fail_too)
{
    // Setup: a faulty socket used directly, with Asio's composed operations.
    asio::io_context io;
    auto [a, b] = at::unix_stream::pair(io);
    auto faults = std::make_shared<at::fail_count>();
    at::faulty_socket<at::unix_stream::socket> s(std::move(b), faults);
    faults->fail_read(1, asio::error::eof);
    faults->fail_write(1, asio::error::broken_pipe);
    asio::write(a, asio::buffer(std::string("xy")));

    // Event, check: the first read and the first write fail, the next succeed.
    char c[2];
    boost::system::error_code ec;
    std::size_t n = 9;
    s.async_read_some(
        asio::buffer(c, 1),
        [&](boost::system::error_code e, std::size_t k)
        {
            ec = e;
            n = k;
        }
    );
    at::settle(io);
    BOOST_TEST((ec == asio::error::eof));
    BOOST_TEST(n == 0u);
    BOOST_TEST(s.read_some(asio::buffer(c, 1)) == 1u);
    BOOST_TEST(c[0] == 'y'); // the failed read took the 'x' with it
    asio::async_write(
        s,
        asio::buffer("!", 1),
        [&](boost::system::error_code e, std::size_t k)
        {
            ec = e;
            n = k;
        }
    );
    at::settle(io);
    BOOST_TEST((ec == asio::error::broken_pipe));
    BOOST_TEST(s.write_some(asio::buffer("!", 1)) == 1u);
    BOOST_TEST(faults->reads() == 2u);
    BOOST_TEST(faults->writes() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
