// asynchat: tests of the logging path both kinds of channel share, over loopback TCP
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/channel_logger.hpp>

#define BOOST_TEST_MODULE channel_logger
#include <asynchat/async_chat.hpp>
#include <asynchat/dispatcher.hpp>

#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/core/demangle.hpp>
#include <boost/test/unit_test.hpp>

#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "support/captured.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using tcp = asio::ip::tcp;

namespace {

struct log_line
{
    std::string type;
    std::string message;
};

// A class template channel that records its log lines.
template <class Socket>
class templated_logging_chat : public asynchat::basic_async_chat<Socket>
{
public:
    using asynchat::basic_async_chat<Socket>::basic_async_chat;
    std::vector<log_line> lines;

    void log_info(std::string_view message, std::string_view type) override
    {
        lines.push_back({std::string(type), std::string(message)});
    }

protected:
    void collect_incoming_data(std::string_view) override { throw std::logic_error("bad input"); }
    void found_terminator() override {}
};

// A program's logger: what a channel class that overrides log_info() and nothing else of the
// logging gets.
class logging_chat : public asynchat::async_chat
{
public:
    using asynchat::async_chat::basic_async_chat;
    std::vector<log_line> lines;
    bool throw_from_handle_error = false;

    void log_info(std::string_view message, std::string_view type) override
    {
        lines.push_back({std::string(type), std::string(message)});
    }

protected:
    void collect_incoming_data(std::string_view) override { throw std::logic_error("bad input"); }
    void found_terminator() override {}
    void handle_error(std::exception_ptr error) override
    {
        if (throw_from_handle_error)
            throw std::runtime_error("handler failed");
        asynchat::async_chat::handle_error(error);
    }
};

class logging_dispatcher : public asynchat::dispatcher
{
public:
    using dispatcher::dispatcher;
    std::vector<log_line> lines;
    bool throw_from_handle_error = false;

    void log_info(std::string_view message, std::string_view type) override
    {
        lines.push_back({std::string(type), std::string(message)});
    }

protected:
    void handle_read() override { throw std::runtime_error("boom"); }
    bool writable() override { return false; }
    void handle_error(std::exception_ptr error) override
    {
        if (throw_from_handle_error)
            throw std::runtime_error("handler failed");
        dispatcher::handle_error(error);
    }
};

// The defaults: they print.
class plain_chat : public asynchat::async_chat
{
public:
    using asynchat::async_chat::basic_async_chat;

protected:
    void collect_incoming_data(std::string_view) override { throw std::logic_error("bad input"); }
    void found_terminator() override {}
};

class plain_dispatcher : public asynchat::dispatcher
{
public:
    using dispatcher::dispatcher;

protected:
    void handle_read() override { throw std::runtime_error("boom"); }
    bool writable() override { return false; }
};

// CPython's repr of a connected channel: "<type connected peer at 0x...>", `type` the dynamic
// type of `channel` as the library names it.
template <class Channel>
std::string repr(Channel const& channel, tcp::endpoint const& peer)
{
    std::ostringstream out;
    out << '<' << boost::core::demangle(typeid(channel).name()) << " connected " << peer << " at "
        << static_cast<void const*>(&channel) << '>';
    return out.str();
}

} // namespace

BOOST_AUTO_TEST_SUITE(error_line)

BOOST_AUTO_TEST_CASE(async_chat_routes_the_error_line_through_log_info)
{
    // Setup: a channel that overrides only log_info().
    asio::io_context io;
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<logging_chat>(std::move(server));
    chat->start();

    // Event: collect_incoming_data() throws; the default handle_error() handles it.
    asio::write(peer, asio::buffer(std::string("x")));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !chat->connected(); }, 5s
    ));

    // Check: CPython's line, type "error", naming the subclass and the peer.
    BOOST_TEST_REQUIRE(chat->lines.size() == 1u);
    BOOST_TEST(chat->lines[0].type == "error");
    BOOST_TEST(
        chat->lines[0].message == "uncaptured exception, closing channel " +
                                      repr(*chat, peer.local_endpoint()) +
                                      " (std::logic_error:bad input)"
    );
}

BOOST_AUTO_TEST_CASE(a_class_template_is_named_without_its_arguments_own_arguments)
{
    // Setup: a class template over a socket whose type carries a long executor type.
    using strand_socket =
        tcp::socket::rebind_executor<asio::strand<asio::io_context::executor_type>>::other;
    asio::io_context io;
    auto [peer, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<templated_logging_chat<strand_socket>>(
        strand_socket(asio::make_strand(io), tcp::v4(), server.release())
    );
    chat->start();

    // Event: collect_incoming_data() throws.
    asio::write(peer, asio::buffer(std::string("x")));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !chat->connected(); }, 5s
    ));

    // Check: the template's own arguments are named, theirs elided.
    BOOST_TEST_REQUIRE(chat->lines.size() == 1u);
    std::string const& m = chat->lines[0].message;
    BOOST_TEST(
        m.find("closing channel <(anonymous namespace)::templated_logging_chat<boost::asio::"
               "basic_stream_socket<...> > connected 127.0.0.1:") != std::string::npos,
        m
    );
    BOOST_TEST(m.size() < 200u, m);
}

BOOST_AUTO_TEST_CASE(dispatcher_routes_the_error_line_through_log_info)
{
    // Setup
    asio::io_context io;
    auto [peer, server] = loopback_tcp::pair(io);
    auto d = std::make_shared<logging_dispatcher>(std::move(server));
    d->start();

    // Event: handle_read() throws.
    asio::write(peer, asio::buffer(std::string("x")));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !d->connected(); }, 5s
    ));

    // Check: the same line, through the same function; then the default handle_close()'s
    // warning, which CPython's log_info() would not print, but an override gets every type.
    BOOST_TEST_REQUIRE(d->lines.size() == 2u);
    BOOST_TEST(d->lines[0].type == "error");
    BOOST_TEST(
        d->lines[0].message == "uncaptured exception, closing channel " +
                                   repr(*d, peer.local_endpoint()) + " (std::runtime_error:boom)"
    );
    BOOST_TEST(d->lines[1].type == "warning");
    BOOST_TEST(d->lines[1].message == "unhandled close event");
}

BOOST_AUTO_TEST_CASE(a_throwing_handle_error_is_logged_through_log_info)
{
    // Setup: handle_error() itself throws, in both kinds of channel.
    asio::io_context io;
    auto [chat_peer, chat_socket] = loopback_tcp::pair(io);
    auto chat = std::make_shared<logging_chat>(std::move(chat_socket));
    chat->throw_from_handle_error = true;
    chat->start();
    auto [d_peer, d_socket] = loopback_tcp::pair(io);
    auto d = std::make_shared<logging_dispatcher>(std::move(d_socket));
    d->throw_from_handle_error = true;
    d->start();

    // Event
    asio::write(chat_peer, asio::buffer(std::string("x")));
    asio::write(d_peer, asio::buffer(std::string("x")));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !chat->connected() && !d->connected(); }, 5s
    ));

    // Check: each channel is closed, and says why through log_info().
    std::string const head = "uncaptured exception in handle_error(), closing channel ";
    std::string const tail = " (std::runtime_error:handler failed)";
    BOOST_TEST_REQUIRE(chat->lines.size() == 1u);
    BOOST_TEST(chat->lines[0].type == "error");
    BOOST_TEST(chat->lines[0].message == head + repr(*chat, chat_peer.local_endpoint()) + tail);
    BOOST_TEST_REQUIRE(d->lines.size() == 1u);
    BOOST_TEST(d->lines[0].type == "error");
    BOOST_TEST(d->lines[0].message == head + repr(*d, d_peer.local_endpoint()) + tail);
}

BOOST_AUTO_TEST_CASE(the_defaults_print_the_line_to_stdout)
{
    // Setup: channels that override nothing of the logging.
    asio::io_context io;
    auto [chat_peer, chat_socket] = loopback_tcp::pair(io);
    auto chat = std::make_shared<plain_chat>(std::move(chat_socket));
    chat->start();
    auto [d_peer, d_socket] = loopback_tcp::pair(io);
    auto d = std::make_shared<plain_dispatcher>(std::move(d_socket));
    d->start();
    captured out(std::cout);

    // Event: one error in each, one after the other.
    asio::write(chat_peer, asio::buffer(std::string("x")));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !chat->connected(); }, 5s
    ));
    asio::write(d_peer, asio::buffer(std::string("x")));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return !d->connected(); }, 5s
    ));

    // Check: CPython prints log_info()'s "error: ..." line to stdout.
    BOOST_TEST(
        out.text() == "error: uncaptured exception, closing channel " +
                          repr(*chat, chat_peer.local_endpoint()) +
                          " (std::logic_error:bad input)\n"
                          "error: uncaptured exception, closing channel " +
                          repr(*d, d_peer.local_endpoint()) + " (std::runtime_error:boom)\n"
    );
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(log_types)

BOOST_AUTO_TEST_CASE(async_chat_ignores_warnings_as_cpython_does)
{
    // Setup
    asio::io_context io;
    auto chat = std::make_shared<plain_chat>(io.get_executor());
    captured out(std::cout);
    captured err(std::cerr);

    // Event: CPython's defaults, then the set changed on this channel only.
    chat->log_info("hidden", "warning");
    chat->log_info("shown");
    chat->log("to stderr");
    auto other = std::make_shared<plain_chat>(io.get_executor());
    chat->ignore_log_types.clear();
    chat->log_info("now shown", "warning");
    chat->ignore_log_types = {"info", "debug"};
    chat->log_info("hidden again");
    chat->log_info("still shown", "warning");
    other->log_info("hidden by the shared default", "warning");

    // Check
    BOOST_TEST(out.text() == "info: shown\nwarning: now shown\nwarning: still shown\n");
    BOOST_TEST(err.text() == "log: to stderr\n");
    BOOST_TEST(other->ignore_log_types.contains("warning"));
    BOOST_TEST(other->ignore_log_types.size() == 1u);
    BOOST_TEST(chat->ignore_log_types.count("debug") == 1u);
}

BOOST_AUTO_TEST_CASE(dispatcher_has_the_same_set)
{
    asio::io_context io;
    asynchat::dispatcher d(io.get_executor());
    captured out(std::cout);
    d.log_info("hidden", "warning");
    d.ignore_log_types.insert("info");
    d.log_info("hidden too");
    d.ignore_log_types.erase("warning");
    d.log_info("shown", "warning");
    asynchat::log_types copy = d.ignore_log_types;
    BOOST_TEST(out.text() == "warning: shown\n");
    BOOST_TEST(copy.contains("info"));
    BOOST_TEST(!copy.contains("warning"));
}

// CPython's default is a class attribute: one frozenset for every channel. Here a channel that
// keeps the default pays one null pointer for it.
static_assert(sizeof(asynchat::log_types) == sizeof(void*));

BOOST_AUTO_TEST_SUITE_END()
