// asynchat: drives example/coroutine_client over loopback (C++20)
// SPDX-License-Identifier: BSL-1.0
#include "coroutine_client/coroutine_client.hpp"

#define BOOST_TEST_MODULE example_coroutine_client
#include <boost/asio/co_spawn.hpp>
#include <boost/test/unit_test.hpp>

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "echo_server/echo_server.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using coroutine_client::line_client;

namespace {

// Run converse() against `server` in `io`; returns the replies, or the error's message.
struct outcome
{
    std::optional<std::vector<std::string>> replies;
    std::string error;
    bool done = false;
};

outcome
run_dialogue(asio::io_context& io, asio::ip::tcp::endpoint server, std::vector<std::string> lines)
{
    outcome out;
    auto client = std::make_shared<line_client>(io.get_executor());
    asio::co_spawn(
        io,
        coroutine_client::converse(client, server, std::move(lines)),
        [&](std::exception_ptr e, std::vector<std::string> replies)
        {
            out.done = true;
            if (!e)
                out.replies = std::move(replies);
            else
                try
                {
                    std::rethrow_exception(e);
                }
                catch (std::exception const& x)
                {
                    out.error = x.what();
                }
        }
    );
    BOOST_TEST(run_until(io, [&] { return out.done; }));
    BOOST_TEST(!client->connected());
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_dialogue_gets_one_echo_per_line)
{
    asio::io_context io;
    auto server = std::make_shared<echo::server>(
        io, echo::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)
    );
    server->start();
    std::vector<std::string> lines;
    for (int i = 0; i < 200; ++i)
        lines.push_back("line " + std::to_string(i));
    auto const out = run_dialogue(io, server->local_endpoint(), lines);
    BOOST_TEST_REQUIRE(out.replies.has_value(), out.error);
    BOOST_TEST(*out.replies == lines, boost::test_tools::per_element());
    server->close();
    BOOST_TEST(run_to_completion(io));
}

BOOST_AUTO_TEST_CASE(a_refused_connect_throws_into_the_coroutine)
{
    asio::io_context io;
    asio::ip::tcp::acceptor gone(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto const ep = gone.local_endpoint();
    gone.close();
    auto const out = run_dialogue(io, ep, {"x"});
    BOOST_TEST(!out.replies.has_value());
    BOOST_TEST(out.error.find("refused") != std::string::npos, out.error);
}

BOOST_AUTO_TEST_CASE(a_server_that_hangs_up_ends_the_wait)
{
    // Setup: a server that reads nothing and closes each connection at once.
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket accepted(io);
    acceptor.async_accept(
        accepted,
        [&](boost::system::error_code ec)
        {
            if (!ec)
                accepted.close();
        }
    );
    // Check: the coroutine finishes (no reply will come) instead of waiting for ever.
    auto const out = run_dialogue(io, acceptor.local_endpoint(), {"anyone?"});
    BOOST_TEST(out.done);
    if (out.replies)
        BOOST_TEST(out.replies->empty());
}
