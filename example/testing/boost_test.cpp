// asynchat: example: testing a handler with the test kit under Boost.Test
// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE testing_boost_test
#include <asynchat/testing.hpp>

#include <boost/asio/error.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>

#include "upper_channel.hpp"

namespace asio = boost::asio;
namespace at = asynchat::testing;
using namespace std::chrono_literals;
using socket_type = at::unix_stream::socket;

BOOST_AUTO_TEST_CASE(answers_the_same_at_every_split)
{
    auto make = [](socket_type s)
    { return std::make_shared<at::recorded<example::upper_channel<socket_type>>>(std::move(s)); };
    auto const report = at::check_splits<at::unix_stream>(make, "hello\r\nQUIT\r\n");
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.unsplit.received == "HELLO\r\nBYE\r\n");
}

BOOST_AUTO_TEST_CASE(a_scripted_client)
{
    asio::io_context io;
    auto [client, server] = at::unix_stream::pair(io);
    auto chat = std::make_shared<example::upper_channel<socket_type>>(std::move(server));
    chat->start();
    at::scripted_peer peer(io, std::move(client));
    peer.watch(chat);
    peer.send("one\r\ntwo\r\n", {4, 5}).expect("ONE\r\nTWO\r\n");
    peer.send("QUIT\r\n").expect("BYE\r\n").expect_eof();
}

BOOST_AUTO_TEST_CASE(an_idle_minute_on_the_manual_clock)
{
    asio::io_context io;
    auto [client, server] = at::unix_stream::pair(io);
    auto chat =
        std::make_shared<example::upper_channel<socket_type, at::manual_timer>>(std::move(server));
    chat->set_idle_timeout(1min);
    chat->start();
    at::scripted_peer peer(io, std::move(client));
    peer.send("hi\r\n").expect("HI\r\n");
    at::advance(io, 59s);
    BOOST_TEST(peer.received().empty());
    at::advance(io, 1s);
    peer.expect("IDLE\r\n").expect_eof();
}

BOOST_AUTO_TEST_CASE(a_failed_write_closes_the_channel)
{
    using faulty = at::faulty_socket<socket_type>;
    asio::io_context io;
    auto [client, server] = at::unix_stream::pair(io);
    auto faults = std::make_shared<at::fail_count>();
    faults->fail_write(1, asio::error::broken_pipe);
    auto chat = std::make_shared<example::upper_channel<faulty>>(faulty(std::move(server), faults));
    chat->start();
    at::scripted_peer peer(io, std::move(client));
    peer.send("lost\r\n").expect_eof(); // a broken pipe is a disconnect: handle_close()
    BOOST_TEST(faults->writes() == 1u);
}
