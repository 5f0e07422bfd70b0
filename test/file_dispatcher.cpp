// asynchat: tests of file_dispatcher: what its type offers, and its events over real pipes
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/file_dispatcher.hpp>

#define BOOST_TEST_MODULE file_dispatcher
#include <asynchat/dispatcher.hpp>
#include <asynchat/dispatcher_with_send.hpp>
#include <asynchat/loop.hpp>

#include <boost/core/demangle.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <unistd.h>
#include <utility>
#include <vector>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using tcp = asio::ip::tcp;

namespace {

//----------------------------------------------------------------------------
// What each type offers, checked at compile time. Each trait is also checked where it holds, so
// that none of them is false for a reason of its own (a typo, an access rule).

// True if Op<T> is well-formed.
template <class T, template <class> class Op, class = void>
struct detected : std::false_type
{
};
template <class T, template <class> class Op>
struct detected<T, Op, std::void_t<Op<T>>> : std::true_type
{
};

// The public operations of asyncore's socket dispatcher.
template <class T>
using create_socket_op = decltype(std::declval<T&>().create_socket());
template <class T>
using set_reuse_addr_op = decltype(std::declval<T&>().set_reuse_addr());
template <class T>
using bind_op = decltype(std::declval<T&>().bind(std::declval<tcp::endpoint>()));
template <class T>
using listen_op = decltype(std::declval<T&>().listen(5));
template <class T>
using connect_op = decltype(std::declval<T&>().connect(std::declval<tcp::endpoint>()));
template <class T>
using accept_op = decltype(std::declval<T&>().accept());
template <class T>
using socket_op = decltype(std::declval<T&>().socket());
template <class T>
using local_endpoint_op = decltype(std::declval<T&>().local_endpoint());
template <class T>
using addr_op = decltype(std::declval<T&>().addr());
template <class T>
using accepting_op = decltype(std::declval<T&>().accepting());
template <class T>
using connecting_op = decltype(std::declval<T&>().connecting());
template <class T>
using strand_per_socket_op = decltype(std::declval<T&>().strand_per_socket);

// The operations every dispatcher has.
template <class T>
using start_op = decltype(std::declval<T&>().start());
template <class T>
using recv_op = decltype(std::declval<T&>().recv(std::size_t(1)));
template <class T>
using send_op = decltype(std::declval<T&>().send(std::string_view("x")));
template <class T>
using send_literal_op = decltype(std::declval<T&>().send("x"));
template <class T>
using close_op = decltype(std::declval<T&>().close());
template <class T>
using connected_op = decltype(std::declval<T&>().connected());

// file_dispatcher's own.
template <class T>
using descriptor_op = decltype(std::declval<T&>().descriptor());

// Whether T has any, or all, of the operations Ops.
template <class T, template <class> class... Ops>
constexpr bool has_any = std::disjunction_v<detected<T, Ops>...>;
template <class T, template <class> class... Ops>
constexpr bool has_all = std::conjunction_v<detected<T, Ops>...>;

template <class T>
constexpr bool has_any_socket_operation = has_any<
    T,
    create_socket_op,
    set_reuse_addr_op,
    bind_op,
    listen_op,
    connect_op,
    accept_op,
    socket_op,
    local_endpoint_op,
    addr_op,
    accepting_op,
    connecting_op,
    strand_per_socket_op>;

template <class T>
constexpr bool has_every_socket_operation = has_all<
    T,
    create_socket_op,
    set_reuse_addr_op,
    bind_op,
    listen_op,
    connect_op,
    accept_op,
    socket_op,
    local_endpoint_op,
    addr_op,
    accepting_op,
    connecting_op,
    strand_per_socket_op>;

template <class T>
constexpr bool has_dispatcher_operations =
    has_all<T, start_op, recv_op, send_op, send_literal_op, close_op, connected_op>;

// The hooks a subclass of Base can override: protected, so asked from inside a subclass.
template <class Base>
struct subclass_of : Base
{
    template <class T>
    static constexpr auto accept_hook(int) -> decltype(&T::handle_accept, true)
    {
        return true;
    }
    template <class T>
    static constexpr bool accept_hook(...)
    {
        return false;
    }
    template <class T>
    static constexpr auto accepted_hook(int) -> decltype(&T::handle_accepted, true)
    {
        return true;
    }
    template <class T>
    static constexpr bool accepted_hook(...)
    {
        return false;
    }
    template <class T>
    static constexpr auto connect_hook(int) -> decltype(&T::handle_connect, true)
    {
        return true;
    }
    template <class T>
    static constexpr bool connect_hook(...)
    {
        return false;
    }
    template <class T>
    static constexpr auto read_hook(int) -> decltype(&T::handle_read, &T::readable, true)
    {
        return true;
    }
    template <class T>
    static constexpr bool read_hook(...)
    {
        return false;
    }

    static constexpr bool socket_hooks = accept_hook<subclass_of>(0) ||
                                         accepted_hook<subclass_of>(0) ||
                                         connect_hook<subclass_of>(0);
    static constexpr bool every_socket_hook = accept_hook<subclass_of>(0) &&
                                              accepted_hook<subclass_of>(0) &&
                                              connect_hook<subclass_of>(0);
    static constexpr bool read_hooks = read_hook<subclass_of>(0);
};

using asynchat::dispatcher;
using asynchat::dispatcher_base;
using asynchat::dispatcher_with_send;
using asynchat::file_dispatcher;

static_assert(
    !has_any_socket_operation<file_dispatcher>,
    "a file_dispatcher has no create_socket(), bind(), listen(), connect(), accept(), socket()"
);
static_assert(
    has_every_socket_operation<dispatcher> && has_every_socket_operation<dispatcher_with_send>,
    "the socket dispatchers keep every socket operation"
);
static_assert(
    !subclass_of<file_dispatcher>::socket_hooks,
    "a file_dispatcher has no handle_accept(), handle_accepted(), handle_connect() to override"
);
static_assert(
    subclass_of<dispatcher>::every_socket_hook,
    "a dispatcher keeps handle_accept(), handle_accepted(), handle_connect()"
);
static_assert(
    subclass_of<file_dispatcher>::read_hooks && subclass_of<dispatcher>::read_hooks,
    "both kinds keep the hooks of the event engine"
);
static_assert(
    has_dispatcher_operations<file_dispatcher> && has_dispatcher_operations<dispatcher>,
    "both kinds keep start(), recv(), send(), close(), connected()"
);
static_assert(
    detected<file_dispatcher, descriptor_op>::value && !detected<dispatcher, descriptor_op>::value,
    "the descriptor is file_dispatcher's"
);

// The hierarchy: one engine, two handles.
static_assert(std::is_abstract_v<dispatcher_base>, "the engine owns no handle");
static_assert(
    std::is_base_of_v<dispatcher_base, file_dispatcher> &&
        std::is_base_of_v<dispatcher_base, dispatcher>,
    "both kinds are dispatcher_base's"
);
static_assert(
    !std::is_base_of_v<dispatcher, file_dispatcher>, "a file_dispatcher is not a socket dispatcher"
);
static_assert(
    std::is_convertible_v<std::shared_ptr<file_dispatcher>, std::shared_ptr<dispatcher_base>>,
    "both kinds are held as a dispatcher_base"
);
static_assert(
    !std::is_convertible_v<std::shared_ptr<file_dispatcher>, std::shared_ptr<dispatcher>>,
    "a file_dispatcher is not held as a socket dispatcher"
);

// What dispatcher's users keep: shared_from_this() still names the dispatcher.
static_assert(
    std::is_same_v<
        decltype(std::declval<dispatcher&>().shared_from_this()),
        std::shared_ptr<dispatcher>>,
    "dispatcher::shared_from_this() gives a std::shared_ptr<dispatcher>, as before the split"
);
static_assert(
    std::is_same_v<
        decltype(std::declval<dispatcher const&>().weak_from_this()),
        std::weak_ptr<dispatcher const>>,
    "and weak_from_this() a std::weak_ptr<dispatcher>"
);

//----------------------------------------------------------------------------
// Fixtures.

// A pipe whose ends the test closes when it is done with them.
struct pipe_fds
{
    pipe_fds() { BOOST_TEST_REQUIRE(::pipe(fds) == 0); }
    ~pipe_fds()
    {
        close_read();
        close_write();
    }
    pipe_fds(pipe_fds const&) = delete;
    pipe_fds& operator=(pipe_fds const&) = delete;

    int read_end() const { return fds[0]; }
    int write_end() const { return fds[1]; }
    void close_read() { close_fd(fds[0]); }
    void close_write() { close_fd(fds[1]); }

private:
    static void close_fd(int& fd)
    {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    int fds[2] = {-1, -1};
};

// Reads to EOF, then closes.
class file_reader : public file_dispatcher
{
public:
    using file_dispatcher::file_dispatcher;
    std::string data;
    int closes = 0;

protected:
    void handle_read() override { data += recv(65536); }
    bool writable() override { return false; }
    void handle_close() override
    {
        ++closes;
        close();
    }
};

// Writes `out` as the descriptor takes it, then closes; counts the writes the descriptor cut
// short and what reached handle_close() and handle_error().
class file_writer : public file_dispatcher
{
public:
    file_writer(asio::any_io_executor const& ex, int fd, std::string out)
        : file_dispatcher(ex, fd), out_(std::move(out))
    {
    }
    std::size_t short_writes = 0;
    int closes = 0;
    std::vector<std::string> errors;

protected:
    bool readable() override { return false; }
    bool writable() override { return true; }
    void handle_write() override
    {
        std::size_t const n = send(std::string_view(out_).substr(sent_));
        if (sent_ + n < out_.size())
            ++short_writes;
        sent_ += n;
        if (sent_ == out_.size())
            close();
    }
    void handle_close() override
    {
        ++closes;
        close();
    }
    void handle_error(std::exception_ptr e) override
    {
        errors.push_back(what(e));
        close();
    }

private:
    std::string out_;
    std::size_t sent_ = 0;
};

// Its read hook fails; the default handle_error() logs through log_info().
class failing_reader : public file_dispatcher
{
public:
    using file_dispatcher::file_dispatcher;
    std::vector<std::pair<std::string, std::string>> lines;

    void log_info(std::string_view message, std::string_view type) override
    {
        lines.emplace_back(std::string(type), std::string(message));
    }

protected:
    void handle_read() override { throw std::runtime_error("boom"); }
    bool writable() override { return false; }
};

} // namespace

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(a_megabyte_crosses_a_pipe_between_two_file_dispatchers)
{
    // Setup: 1 MiB, sixteen times what a Linux pipe holds, written by one file_dispatcher and
    // read by another on the same io_context; the test's own ends are closed at once.
    asio::io_context io;
    pipe_fds p;
    std::string payload(1 << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>('a' + i % 26);
    auto writer = std::make_shared<file_writer>(io.get_executor(), p.write_end(), payload);
    auto reader = std::make_shared<file_reader>(io.get_executor(), p.read_end());
    p.close_write();
    p.close_read();

    // Event
    writer->start();
    reader->start();
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return asynchat::channel_count(io) == 0; }, 10s
    ));

    // Check: everything arrived in order; the writer met a full pipe and went on when it
    // drained; the reader saw the EOF once the writer closed.
    BOOST_TEST(reader->data.size() == payload.size());
    BOOST_TEST((reader->data == payload));
    BOOST_TEST(writer->short_writes > 0u);
    BOOST_TEST(writer->errors.empty());
    BOOST_TEST(writer->closes == 0);
    BOOST_TEST(reader->closes == 1);
    BOOST_TEST(!reader->connected());
}

BOOST_AUTO_TEST_CASE(a_regular_file_is_refused_with_a_message)
{
    // A user's file_dispatcher on a regular file failed later with "wait: Operation not
    // supported"; epoll cannot wait for files.
    asio::io_context io;
    char path[] = "/tmp/asynchat-file-dispatcher-XXXXXX";
    int const fd = ::mkstemp(path);
    BOOST_TEST_REQUIRE(fd >= 0);
    ::unlink(path);
    BOOST_CHECK_EXCEPTION(
        std::make_shared<asynchat::file_dispatcher>(io.get_executor(), fd),
        std::invalid_argument,
        [&](std::invalid_argument const& e)
        {
            std::string const what = e.what();
            return what.find("fd " + std::to_string(fd) + " is a regular file") !=
                   std::string::npos;
        }
    );
    ::close(fd);
}

BOOST_AUTO_TEST_CASE(a_reader_gone_calls_handle_close)
{
    // Setup: a writer whose reader is already gone, SIGPIPE at its default action (ending the
    // process; Python ignores it at startup, an Asio program does not): the dispatcher blocks
    // it around the write, which then fails with EPIPE (found by a user: the process died).
    std::signal(SIGPIPE, SIG_DFL);
    asio::io_context io;
    pipe_fds p;
    auto writer = std::make_shared<file_writer>(io.get_executor(), p.write_end(), "never read");
    p.close_read();

    // Event
    writer->start();
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !writer->connected(); }, 5s
    ));

    // Check: a broken pipe is a disconnect (CPython's _DISCONNECTED has EPIPE), not an error;
    // no SIGPIPE left pending for the thread.
    sigset_t pending;
    ::sigpending(&pending);
    BOOST_TEST(!sigismember(&pending, SIGPIPE));
    BOOST_TEST(writer->closes == 1);
    BOOST_TEST(writer->errors.empty());
    BOOST_TEST(asynchat::channel_count(io) == 0u);
}

BOOST_AUTO_TEST_CASE(the_error_line_names_the_file_and_no_address)
{
    // Setup
    asio::io_context io;
    pipe_fds p;
    auto f = std::make_shared<failing_reader>(io.get_executor(), p.read_end());
    f->start();

    // Event: handle_read() throws.
    BOOST_TEST_REQUIRE(::write(p.write_end(), "x", 1) == 1);
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !f->connected(); }, 5s
    ));

    // Check: CPython's line, its repr "<type connected at 0x...>" (a file has no address),
    // then the default handle_close()'s warning.
    failing_reader const& channel = *f;
    std::ostringstream repr;
    repr << '<' << boost::core::demangle(typeid(channel).name()) << " connected at "
         << static_cast<void const*>(f.get()) << '>';
    BOOST_TEST_REQUIRE(f->lines.size() == 2u);
    BOOST_TEST(f->lines[0].first == "error");
    BOOST_TEST(
        f->lines[0].second ==
        "uncaptured exception, closing channel " + repr.str() + " (std::runtime_error:boom)"
    );
    BOOST_TEST(f->lines[1].first == "warning");
    BOOST_TEST(f->lines[1].second == "unhandled close event");
    BOOST_TEST(!f->descriptor().is_open());
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(channel_map)

BOOST_AUTO_TEST_CASE(channels_tells_the_two_kinds_apart)
{
    // Setup: a listening socket dispatcher and a file_dispatcher on one io_context.
    asio::io_context io;
    pipe_fds p;
    auto listener = std::make_shared<dispatcher>(io.get_executor());
    listener->create_socket();
    listener->bind({asio::ip::make_address("127.0.0.1"), 0});
    listener->listen(5);
    auto file = std::make_shared<file_reader>(io.get_executor(), p.read_end());

    // Event
    listener->start();
    file->start();

    // Check: one map for both; each type finds its own, dispatcher_base both.
    BOOST_TEST(asynchat::channel_count(io) == 2u);
    auto const sockets = asynchat::channels<dispatcher>(io);
    BOOST_TEST_REQUIRE(sockets.size() == 1u);
    BOOST_TEST(sockets[0] == listener);
    auto const files = asynchat::channels<file_dispatcher>(io);
    BOOST_TEST_REQUIRE(files.size() == 1u);
    BOOST_TEST(files[0] == file);
    auto const both = asynchat::channels<dispatcher_base>(io);
    BOOST_TEST(both.size() == 2u);
    BOOST_TEST(std::count(both.begin(), both.end(), listener) == 1);
    BOOST_TEST(std::count(both.begin(), both.end(), file) == 1);

    // Event: close_all() closes both, whatever their handle.
    asynchat::close_all(io);
    io.poll();

    // Check
    BOOST_TEST(asynchat::channel_count(io) == 0u);
    BOOST_TEST(!listener->accepting());
    BOOST_TEST(!file->descriptor().is_open());
    BOOST_TEST(file->closes == 0); // close() calls no hook
}

BOOST_AUTO_TEST_SUITE_END()
