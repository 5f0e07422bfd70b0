// asynchat: tests of half-close (shutdown_when_done(), handle_read_eof()) over TCP and Unix
// sockets, and of channels over streams that are not sockets: a pair of pipes, a subprocess's
// stdin and stdout, a pty, and a stream type of the user's own
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/duplex_stream.hpp>

#define BOOST_TEST_MODULE streams
#include <asynchat/async_chat.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/serial_port.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <functional>
#include <memory>
#include <optional>
#include <signal.h>
#include <stdlib.h>
#include <string>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <vector>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using boost::system::error_code;
using namespace asynchat::test;
using namespace std::chrono_literals;

namespace {

// A line channel over any stream that records lines and hooks; `answer_at_eof` answers the
// peer's EOF itself (a request/response-over-shutdown protocol) instead of the default.
template <class Stream>
class recorder : public asynchat::basic_async_chat<Stream>
{
    using base = asynchat::basic_async_chat<Stream>;

public:
    explicit recorder(Stream s) : base(std::move(s)) { this->set_terminator("\n"); }

    std::vector<std::string> lines;
    std::vector<std::string> events;
    bool echo = false;
    std::optional<std::string> answer_at_eof;

    using base::push;

protected:
    void collect_incoming_data(std::string_view d) override { this->_collect_incoming_data(d); }
    void found_terminator() override
    {
        lines.push_back(this->_get_data());
        if (echo)
            push(lines.back() + "\n");
    }
    void handle_read_eof() override
    {
        events.push_back("read_eof");
        if (!answer_at_eof)
            return base::handle_read_eof();
        // Answer later, from another handler: the channel stays open for it.
        asio::post(
            this->get_executor(),
            [self = this->shared_from_this(), this]
            {
                push(*answer_at_eof);
                this->close_when_done();
            }
        );
    }
    void handle_close() override
    {
        events.push_back("close");
        base::handle_close();
    }
    void handle_error(std::exception_ptr e) override
    {
        events.push_back("error: " + what(e));
        base::handle_error(e);
    }
};

template <class Socket>
using socket_recorder = recorder<Socket>;

// Read `s` until EOF or an error, running `io` (the channel's) meanwhile, for at most 10 s.
template <class AsyncStream>
std::string read_until_eof(asio::io_context& io, AsyncStream& s)
{
    std::string data;
    bool done = false;
    char buf[4096];
    std::function<void()> next = [&]
    {
        s.async_read_some(
            asio::buffer(buf),
            [&](error_code ec, std::size_t n)
            {
                data.append(buf, n);
                if (ec)
                    done = true;
                else
                    next();
            }
        );
    };
    next();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return done; }));
    return data;
}

} // namespace

BOOST_AUTO_TEST_SUITE(half_close)

BOOST_AUTO_TEST_CASE_TEMPLATE(
    shutdown_when_done_sends_fin_after_the_output_and_keeps_reading, Loopback, transports
)
{
    channel_pair<Loopback, socket_recorder> p;
    p.channel->push("request\n");
    p.channel->shutdown_when_done();
    p.channel->push("pushed after: dropped\n");
    std::optional<error_code> told;
    p.channel->push_callback([&](error_code ec) { told = ec; });
    p.channel->start();

    // Check: the peer reads the request, then EOF; what was pushed after is not sent.
    BOOST_TEST(read_until_eof(p.io, p.peer) == "request\n");
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return told.has_value(); }));
    BOOST_TEST((*told == asio::error::operation_aborted));

    // Check: the channel still reads the answer; the peer's EOF then closes it by default.
    asio::write(p.peer, asio::buffer(std::string("answer\n")));
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.channel->lines.size() == 1; }));
    BOOST_TEST(p.channel->lines[0] == "answer");
    BOOST_TEST(p.channel->connected());
    p.peer.shutdown(asio::socket_base::shutdown_send);
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.closed(); }));
    BOOST_TEST(p.channel->events == (std::vector<std::string>{"read_eof", "close"}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(handle_read_eof_can_answer_after_the_peer_s_fin, Loopback, transports)
{
    channel_pair<Loopback, socket_recorder> p;
    p.channel->answer_at_eof = "the answer\n";
    p.channel->start();
    asio::write(p.peer, asio::buffer(std::string("question\n")));
    p.peer.shutdown(asio::socket_base::shutdown_send);

    // Check: the question, the EOF, the answer written later, then a clean close.
    BOOST_TEST(read_until_eof(p.io, p.peer) == "the answer\n");
    BOOST_TEST_REQUIRE(run_until(p.io, [&] { return p.closed(); }));
    BOOST_TEST(p.channel->lines == (std::vector<std::string>{"question"}));
    BOOST_TEST(p.channel->events == (std::vector<std::string>{"read_eof", "close"}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    the_default_eof_writes_what_is_queued_then_closes, Loopback, transports
)
{
    channel_pair<Loopback, socket_recorder> p(64 * 1024);
    p.channel->start();
    std::string const big(1024 * 1024, 'z');
    p.channel->push(big);
    p.peer.shutdown(asio::socket_base::shutdown_send);

    // Check: all of it arrives before the EOF (today's behaviour, kept by the default).
    BOOST_TEST(read_until_eof(p.io, p.peer).size() == big.size());
    BOOST_TEST(p.channel->events == (std::vector<std::string>{"read_eof", "close"}));
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------
// Streams that are not sockets.

namespace {

// A pipe: {read end, write end}, non-blocking, close-on-exec.
std::pair<int, int> make_pipe()
{
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    return {fds[0], fds[1]};
}

// A subprocess running `argv` with its stdin and stdout on pipes; killed and reaped at the end.
class subprocess
{
public:
    explicit subprocess(std::vector<char const*> argv)
    {
        auto [to_child_read, to_child_write] = make_pipe();
        auto [from_child_read, from_child_write] = make_pipe();
        argv.push_back(nullptr);
        pid_ = ::fork();
        BOOST_TEST_REQUIRE(pid_ >= 0);
        if (pid_ == 0)
        {
            ::dup2(to_child_read, 0);
            ::dup2(from_child_write, 1);
            ::execvp(argv[0], const_cast<char* const*>(argv.data()));
            ::_exit(127);
        }
        ::close(to_child_read);
        ::close(from_child_write);
        stdin_fd = to_child_write;
        stdout_fd = from_child_read;
    }
    ~subprocess()
    {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    subprocess(subprocess const&) = delete;
    subprocess& operator=(subprocess const&) = delete;

    int stdin_fd = -1;
    int stdout_fd = -1;

private:
    pid_t pid_ = -1;
};

// A stream of the user's own: any AsyncReadStream/AsyncWriteStream with close(); this one wraps
// a Unix socket and counts the bytes each way.
class counting_stream
{
public:
    using executor_type = asio::local::stream_protocol::socket::executor_type;

    explicit counting_stream(asio::local::stream_protocol::socket s) : s_(std::move(s)) {}

    executor_type get_executor() { return s_.get_executor(); }
    bool is_open() const { return s_.is_open(); }
    void close(error_code& ec) { s_.close(ec); }

    template <class Buffers, class Handler>
    void async_read_some(Buffers const& b, Handler&& h)
    {
        s_.async_read_some(
            b,
            [this, h = std::forward<Handler>(h)](error_code ec, std::size_t n) mutable
            {
                read += n;
                h(ec, n);
            }
        );
    }
    template <class Buffers, class Handler>
    void async_write_some(Buffers const& b, Handler&& h)
    {
        s_.async_write_some(
            b,
            [this, h = std::forward<Handler>(h)](error_code ec, std::size_t n) mutable
            {
                written += n;
                h(ec, n);
            }
        );
    }

    std::size_t read = 0;
    std::size_t written = 0;

private:
    asio::local::stream_protocol::socket s_;
};

using pipe_recorder = recorder<asynchat::duplex_stream>;
using descriptor_recorder = recorder<asio::posix::stream_descriptor>;

} // namespace

// What a stream type lacks is said at compile time; a serial port qualifies.
static_assert(std::is_same_v<asynchat::basic_async_chat<asio::serial_port>::socket_type, void>);
static_assert(std::is_same_v<
              asynchat::basic_async_chat<asio::posix::stream_descriptor>::endpoint_type,
              asynchat::detail::no_endpoint>);
static_assert(std::is_same_v<asynchat::async_chat::socket_type, asio::ip::tcp::socket>);

BOOST_AUTO_TEST_SUITE(any_stream)

BOOST_AUTO_TEST_CASE(a_channel_over_a_pair_of_pipes_frames_and_answers)
{
    // Setup: the channel reads pipe A and writes pipe B; the test holds the other ends.
    asio::io_context io;
    auto [a_read, a_write] = make_pipe();
    auto [b_read, b_write] = make_pipe();
    auto channel = std::make_shared<pipe_recorder>(asynchat::duplex_stream(
        asio::posix::stream_descriptor(io, a_read), asio::posix::stream_descriptor(io, b_write)
    ));
    channel->echo = true;
    channel->start();
    asio::posix::stream_descriptor to_channel(io, a_write);
    asio::posix::stream_descriptor from_channel(io, b_read);

    // Check: lines split anywhere come back whole, in order.
    asio::write(to_channel, asio::buffer(std::string("one\ntw")));
    asio::write(to_channel, asio::buffer(std::string("o\nthree\n")));
    std::string got(14, '\0');
    std::optional<error_code> rd;
    asio::async_read(from_channel, asio::buffer(got), [&](error_code ec, std::size_t) { rd = ec; });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return rd.has_value(); }));
    BOOST_TEST(got == "one\ntwo\nthree\n");

    // Check: closing the write end is the peer's EOF: handle_read_eof(), then handle_close().
    to_channel.close();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !channel->connected(); }));
    BOOST_TEST(channel->events == (std::vector<std::string>{"read_eof", "close"}));
}

BOOST_AUTO_TEST_CASE(a_channel_talks_to_a_subprocess_over_its_stdin_and_stdout)
{
    // Setup: `cat` echoes what the channel writes.
    asio::io_context io;
    subprocess cat({"cat"});
    auto channel = std::make_shared<pipe_recorder>(asynchat::duplex_stream(
        asio::posix::stream_descriptor(io, cat.stdout_fd),
        asio::posix::stream_descriptor(io, cat.stdin_fd)
    ));
    channel->start();
    std::string expected;
    for (int i = 0; i < 1000; ++i)
    {
        channel->push("line " + std::to_string(i) + "\n");
        expected += "line " + std::to_string(i) + "\n";
    }

    // Check: 1,000 lines back, in order.
    BOOST_TEST_REQUIRE(run_until(io, [&] { return channel->lines.size() == 1000; }));
    std::string joined;
    for (auto const& l : channel->lines)
        joined += l + "\n";
    BOOST_TEST(joined == expected);
    channel->close();
    BOOST_TEST(run_to_completion(io));
}

BOOST_AUTO_TEST_CASE(a_channel_over_a_pty_stands_in_for_a_serial_line)
{
    // Setup: the channel on the pty's master; the test plays the instrument on the slave side,
    // in raw mode (no echo, no line editing), as a serial device would be.
    asio::io_context io;
    int const master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(master >= 0);
    BOOST_TEST_REQUIRE(::grantpt(master) == 0);
    BOOST_TEST_REQUIRE(::unlockpt(master) == 0);
    int const slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(slave >= 0);
    termios t{};
    BOOST_TEST_REQUIRE(::tcgetattr(slave, &t) == 0);
    ::cfmakeraw(&t);
    BOOST_TEST_REQUIRE(::tcsetattr(slave, TCSANOW, &t) == 0);
    auto channel =
        std::make_shared<descriptor_recorder>(asio::posix::stream_descriptor(io, master));
    channel->start();
    asio::posix::stream_descriptor instrument(io, slave);

    // Check: a query out, readings in, framed as lines.
    channel->push("*IDN?\n");
    std::string query(6, '\0');
    std::optional<error_code> rd;
    asio::async_read(instrument, asio::buffer(query), [&](error_code ec, std::size_t) { rd = ec; });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return rd.has_value(); }));
    BOOST_TEST(query == "*IDN?\n");
    asio::write(instrument, asio::buffer(std::string("ACME,42\n1.5")));
    asio::write(instrument, asio::buffer(std::string("V\n")));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return channel->lines.size() == 2; }));
    BOOST_TEST(channel->lines == (std::vector<std::string>{"ACME,42", "1.5V"}));
    channel->close();
    BOOST_TEST(run_to_completion(io));
}

BOOST_AUTO_TEST_CASE(a_stream_type_of_the_user_s_own)
{
    asio::io_context io;
    auto [client, server] = loopback_local::pair(io);
    auto channel = std::make_shared<recorder<counting_stream>>(counting_stream(std::move(server)));
    channel->echo = true;
    channel->start();
    asio::write(client, asio::buffer(std::string("a\nbb\n")));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return channel->lines.size() == 2; }));
    client.shutdown(asio::socket_base::shutdown_send);
    BOOST_TEST(read_until_eof(io, client) == "a\nbb\n");
    BOOST_TEST(channel->stream().read == 5u);
    BOOST_TEST(channel->stream().written == 5u);
    BOOST_TEST(channel->events == (std::vector<std::string>{"read_eof", "close"}));
}

BOOST_AUTO_TEST_SUITE_END()
