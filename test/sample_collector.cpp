// asynchat: tests of the sample collector (_collect_incoming_data(), _get_data(),
// _get_data_view()) over real loopback sockets: the views it keeps, the copies it makes, at
// every split of the stream
// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE sample_collector
#include <asynchat/async_chat.hpp>
#include <asynchat/testing.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace at = asynchat::testing;

namespace {

using all_transports = boost::mpl::list<at::tcp_v4, at::tcp_v6, at::unix_stream>;

// Every single cut, a byte a read and 20 random splits (messages cut into 2, into every
// byte, and in between).
at::split_options every_split()
{
    at::split_options options;
    options.policies = {
        at::split_policy::every_boundary(),
        at::split_policy::one_byte_at_a_time(),
        at::split_policy::seeded_random(11, 20)};
    return options;
}

template <class Chat>
auto maker()
{
    return [](auto socket) { return std::make_shared<Chat>(std::move(socket)); };
}
auto const lines_of = [](auto& chat) { return chat.lines; };

/// What every channel below shares: "\n" lines (unless told otherwise), CPython's sample
/// collector, the messages written down for the checks, errors closing without a log line.
template <class Socket>
class collecting_chat : public asynchat::basic_async_chat<Socket>
{
public:
    explicit collecting_chat(Socket s, std::string_view term = "\n")
        : asynchat::basic_async_chat<Socket>(std::move(s))
    {
        this->set_terminator(std::string(term));
    }
    std::vector<std::string> lines;

protected:
    void collect_incoming_data(std::string_view data) override
    {
        this->_collect_incoming_data(data);
    }
    void handle_error(std::exception_ptr) override { this->close(); }
};

/// The README's idiom: the message as a view, pushed back with the terminator. Also writes
/// the message down as found_terminator() saw it, so that a check sees the bytes the view
/// held, not only the bytes the peer got back.
template <class Socket>
class view_echo : public collecting_chat<Socket>
{
public:
    view_echo(Socket s, std::string term) : collecting_chat<Socket>(std::move(s), term)
    {
        term_ = std::move(term);
    }

protected:
    void found_terminator() override
    {
        std::string_view const line = this->_get_data_view();
        this->lines.emplace_back(line);
        // Taken: the collector is empty now, whichever buffer the view is in.
        BOOST_TEST(this->_get_data_view().empty());
        this->push(line);
        this->push(term_);
    }

private:
    std::string term_;
};

template <class Socket>
struct lf_echo : view_echo<Socket>
{
    explicit lf_echo(Socket s) : view_echo<Socket>(std::move(s), "\n") {}
};

template <class Socket>
struct crlf_echo : view_echo<Socket>
{
    explicit crlf_echo(Socket s) : view_echo<Socket>(std::move(s), "\r\n") {}
};

/// A length-prefixed protocol: a "LEN\n" header, then LEN bytes (a numeric terminator); each
/// body is answered "<body>\n". Headers through _get_data(), bodies through _get_data_view().
template <class Socket>
class counted_echo : public collecting_chat<Socket>
{
public:
    using collecting_chat<Socket>::collecting_chat;

protected:
    void found_terminator() override
    {
        if (in_body_)
        {
            std::string_view const body = this->_get_data_view();
            this->lines.emplace_back(body);
            this->push(body);
            this->push("\n");
            this->set_terminator("\n");
            in_body_ = false;
            return;
        }
        std::string const header = this->_get_data();
        this->lines.push_back("header " + header);
        this->set_terminator(static_cast<std::size_t>(std::stoul(header)));
        in_body_ = true;
    }

private:
    bool in_body_ = false;
};

/// Collects its own transformed copy of each piece (a temporary that it scribbles over before
/// it dies): the collector must copy views that are not into the receive buffer.
template <class Socket>
class upper_echo : public collecting_chat<Socket>
{
public:
    using collecting_chat<Socket>::collecting_chat;

protected:
    void collect_incoming_data(std::string_view data) override
    {
        std::string upper(data);
        for (char& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        this->_collect_incoming_data(upper);
        std::fill(upper.begin(), upper.end(), '#');
    }
    void found_terminator() override
    {
        std::string_view const line = this->_get_data_view();
        this->lines.emplace_back(line);
        this->push(line);
        this->push("\n");
    }
};

/// Joins lines until one ends with '!': a line without it is taken as a view and given back to
/// the collector, with a ',' (Python: `self._collect_incoming_data(self._get_data())`).
template <class Socket>
class joining_chat : public collecting_chat<Socket>
{
public:
    using collecting_chat<Socket>::collecting_chat;

protected:
    void found_terminator() override
    {
        std::string_view const line = this->_get_data_view();
        if (line.empty() || line.back() != '!')
        {
            this->_collect_incoming_data(line);
            this->_collect_incoming_data(",");
            return;
        }
        this->lines.emplace_back(line);
        this->push(line);
        this->push("\n");
    }
};

/// "QUIT" takes the message as a view, closes the channel, and then reads the view: the
/// collector must not free what a hook holds (AddressSanitizer would see it).
template <class Socket>
class closing_chat : public collecting_chat<Socket>
{
public:
    using collecting_chat<Socket>::collecting_chat;

protected:
    void found_terminator() override
    {
        std::string_view const line = this->_get_data_view();
        if (line.substr(0, 4) == "QUIT")
            this->close();
        this->lines.emplace_back(line); // after the close
    }
};

/// Messages longer than a read (4 KiB here), so gathered across reads, and long enough for
/// push() to take the collector's buffer into the queue instead of copying it. The
/// view is read again after every push, pushed a second time, and, for "CLOSE", after close()
/// ("CLOSEJOIN": given back to the collector before): the bytes under it must stay
/// (AddressSanitizer would see a freed buffer).
template <class Socket>
class long_echo : public collecting_chat<Socket>
{
public:
    explicit long_echo(Socket s) : collecting_chat<Socket>(std::move(s))
    {
        this->ac_in_buffer_size = 4096;
    }

protected:
    void found_terminator() override
    {
        std::string_view const line = this->_get_data_view();
        std::string const before(line);
        this->push("> ");
        this->push(line);
        this->push("|");
        bool const closing = line.substr(0, 5) == "CLOSE";
        if (closing && line.substr(5, 4) == "JOIN")
            this->_collect_incoming_data(line); // given back (to join it with the next one)
        if (closing)
            this->close();
        this->push(line); // the second time from the queue's copy, or dropped after close()
        this->push("\n");
        this->lines.push_back(line == before ? before.substr(0, 8) : "changed under the view");
    }
};

} // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(long_messages_move_into_the_queue_whole, Transport, all_transports)
{
    // Setup: lines of 5 and 40 KiB around short ones.
    std::string const a = "A" + std::string(5 * 1024, 'a');
    std::string const b = "B" + std::string(40 * 1024, 'b');
    std::string const stream = "hi\n" + a + "\n" + b + "\nshort\n" + a + "\n";

    // Event: cut at random places (a long message always spans the 4 KiB reads).
    at::split_options options;
    options.policies = {at::split_policy::seeded_random(5, 8)};
    auto const report = at::check_splits<Transport>(
        maker<long_echo<typename Transport::socket>>(), lines_of, stream, options
    );

    // Check: each line twice, in order, after what was pushed before it; the views unchanged.
    BOOST_TEST(report.same(), report.message());
    auto const twice = [](std::string const& line) { return "> " + line + "|" + line + "\n"; };
    BOOST_TEST(
        report.unsplit.received == twice("hi") + twice(a) + twice(b) + twice("short") + twice(a)
    );
    BOOST_TEST(
        report.unsplit.observed ==
            (std::vector<std::string>{"hi", a.substr(0, 8), b.substr(0, 8), "short", a.substr(0, 8)}
            ),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_long_message_pushed_then_closed_keeps_its_view, Transport, all_transports
)
{
    // "CLOSEJOIN" gives the view back to the collector before closing: the collector's copy
    // must not be what keeps the view's bytes.
    for (std::string const command : {"CLOSE", "CLOSEJOIN"})
    {
        BOOST_TEST_CONTEXT(command)
        {
            // Setup: a 6 KiB closing line after a short one.
            std::string const closing = command + std::string(6 * 1024, 'c');

            // Event
            at::split_options options;
            options.policies = {at::split_policy::seeded_random(7, 4)};
            auto const report = at::check_splits<Transport>(
                maker<long_echo<typename Transport::socket>>(),
                lines_of,
                "hi\n" + closing + "\nlost\n",
                options
            );

            // Check: the short line's answer went out reads before the close, nothing of the
            // long one's; its view still held its bytes after close(); nothing after it was
            // delivered.
            BOOST_TEST(report.same(), report.message());
            BOOST_TEST(report.unsplit.closed);
            BOOST_TEST(report.unsplit.received == "> hi|hi\n");
            BOOST_TEST(
                report.unsplit.observed == (std::vector<std::string>{"hi", closing.substr(0, 8)}),
                boost::test_tools::per_element()
            );
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_view_echo_is_the_same_at_every_split, Transport, all_transports)
{
    // Setup: lines of 0 to 17 bytes, each answered from the view of the message. Cut inside a
    // line, the message is gathered across reads and copied; in one read, it is a view.
    std::string const stream = "one\n\nthree three three\nfour\n" + std::string(12, 'x') + "\n";

    // Event
    auto const report = at::check_splits<Transport>(
        maker<lf_echo<typename Transport::socket>>(), lines_of, stream, every_split()
    );

    // Check: every split the same, and the one-piece run right.
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.runs == report.planned);
    BOOST_TEST(report.unsplit.received == stream);
    BOOST_TEST(
        report.unsplit.observed ==
            (std::vector<std::string>{"one", "", "three three three", "four", std::string(12, 'x')}
            ),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_view_echo_with_a_partial_terminator_kept_between_reads, Transport, all_transports
)
{
    // Setup: "\r\n" lines; a cut between '\r' and '\n' keeps the '\r' pending, and the part of
    // the message before it is collected in the read before.
    std::string const stream = "HELO x\r\n\r\nMAIL FROM:<a@b>\r\nQ\r\n";

    // Event
    auto const report = at::check_splits<Transport>(
        maker<crlf_echo<typename Transport::socket>>(), lines_of, stream, every_split()
    );

    // Check
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.unsplit.received == stream);
    BOOST_TEST(
        report.unsplit.observed == (std::vector<std::string>{"HELO x", "", "MAIL FROM:<a@b>", "Q"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    numeric_terminators_and_get_data_mixed_with_views, Transport, all_transports
)
{
    // Setup: bodies that contain the line terminator, of 0, 5 and 12 bytes.
    std::string const stream = "5\nab\ncd3\nxyz12\nhello\nworld!0\n";

    // Event
    auto const report = at::check_splits<Transport>(
        maker<counted_echo<typename Transport::socket>>(), lines_of, stream, every_split()
    );

    // Check: a 0-byte numeric terminator collects everything (CPython), so the last header
    // "0" starts a message that never ends.
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.unsplit.received == "ab\ncd\nxyz\nhello\nworld!\n");
    BOOST_TEST(
        report.unsplit.observed ==
            (std::vector<std::string>{
                "header 5", "ab\ncd", "header 3", "xyz", "header 12", "hello\nworld!", "header 0"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(views_of_other_buffers_are_copied, Transport, all_transports)
{
    // Event: the handler collects temporaries it overwrites at once.
    auto const report = at::check_splits<Transport>(
        maker<upper_echo<typename Transport::socket>>(), lines_of, "abc\nde\n", every_split()
    );

    // Check: the collector copied them; no '#' anywhere.
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.unsplit.received == "ABC\nDE\n");
    BOOST_TEST(
        report.unsplit.observed == (std::vector<std::string>{"ABC", "DE"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_taken_view_given_back_to_the_collector, Transport, all_transports)
{
    // Event: the message given back is a view into the receive buffer (one read) or into the
    // collector's own buffer (cut reads, or the second line joined), which the collector then
    // copies into itself.
    auto const report = at::check_splits<Transport>(
        maker<joining_chat<typename Transport::socket>>(),
        lines_of,
        "a\nb\nc!\nd\ne!\n",
        every_split()
    );

    // Check: no byte lost or overwritten at any split.
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.unsplit.received == "a,b,c!\nd,e!\n");
    BOOST_TEST(
        report.unsplit.observed == (std::vector<std::string>{"a,b,c!", "d,e!"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_view_outlives_a_close_in_its_hook, Transport, all_transports)
{
    // Event: QUIT in one read (a view into the receive buffer) and cut (a view into the
    // collector's own buffer); the hook closes the channel before reading its view.
    auto const report = at::check_splits<Transport>(
        maker<closing_chat<typename Transport::socket>>(), lines_of, "hi\nQUIT now\nlost\n"
    );

    // Check: the view read after the close holds the message; nothing after it delivered.
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.unsplit.closed);
    BOOST_TEST(
        report.unsplit.observed == (std::vector<std::string>{"hi", "QUIT now"}),
        boost::test_tools::per_element()
    );
}

BOOST_AUTO_TEST_CASE(get_data_after_a_view_and_views_of_a_message_left_unfinished)
{
    // Setup: a channel whose found_terminator() does nothing, so that the collector keeps
    // gathering; the test then reads the collector from outside the hooks, after each read.
    struct idle_collector : asynchat::basic_async_chat<at::unix_stream::socket>
    {
        using asynchat::basic_async_chat<at::unix_stream::socket>::basic_async_chat;
        std::size_t found = 0;
        void collect_incoming_data(std::string_view d) override { _collect_incoming_data(d); }
        void found_terminator() override { ++found; }
    };
    asio::io_context io;
    auto [peer, server] = at::unix_stream::pair(io);
    auto chat = std::make_shared<idle_collector>(std::move(server));
    chat->set_terminator("\n");
    chat->start();

    // Event: two lines and the start of a third in one read; nobody takes them.
    asio::write(peer, asio::buffer(std::string("ab\ncd\nef")));
    BOOST_TEST_REQUIRE(at::run_until(io, [&] { return chat->found == 2; }));
    at::settle(io);

    // Check: CPython's collector gathers across terminators until someone takes the data; the
    // view is copied out of the receive buffer at the end of the read.
    BOOST_TEST(chat->_get_data() == "abcdef");
    BOOST_TEST(chat->_get_data().empty());
    BOOST_TEST(chat->_get_data_view().empty());

    // Event: more, in a read of its own.
    asio::write(peer, asio::buffer(std::string("gh\nij")));
    BOOST_TEST_REQUIRE(at::run_until(io, [&] { return chat->found == 3; }));
    at::settle(io);

    // Check: taken as a view; a second take and _get_data() find nothing.
    BOOST_TEST(chat->_get_data_view() == "ghij");
    BOOST_TEST(chat->_get_data_view().empty());
    BOOST_TEST(chat->_get_data().empty());
    chat->close();
}
