// asynchat: example: testing a handler with the test kit under GoogleTest
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/testing.hpp>

#include <boost/asio/error.hpp>

#include <chrono>
#include <gtest/gtest.h>
#include <memory>

#include "upper_channel.hpp"

namespace asio = boost::asio;
namespace at = asynchat::testing;
using namespace std::chrono_literals;
using socket_type = at::unix_stream::socket;

TEST(UpperChannel, AnswersTheSameAtEverySplit)
{
    auto make = [](socket_type s)
    { return std::make_shared<at::recorded<example::upper_channel<socket_type>>>(std::move(s)); };
    auto const report = at::check_splits<at::unix_stream>(make, "hello\r\nQUIT\r\n");
    EXPECT_TRUE(report.same()) << report;
    EXPECT_EQ(report.unsplit.received, "HELLO\r\nBYE\r\n");
}

TEST(UpperChannel, AScriptedClient)
{
    asio::io_context io;
    auto [client, server] = at::unix_stream::pair(io);
    auto chat = std::make_shared<example::upper_channel<socket_type>>(std::move(server));
    chat->start();
    at::scripted_peer peer(io, std::move(client));
    peer.watch(chat);
    // A failed expectation throws asynchat::testing::expectation_failed, which GoogleTest
    // reports with its message; EXPECT_NO_THROW says which step it was.
    EXPECT_NO_THROW(peer.send("one\r\ntwo\r\n", {4, 5}).expect("ONE\r\nTWO\r\n"));
    EXPECT_NO_THROW(peer.send("QUIT\r\n").expect("BYE\r\n").expect_eof());
}

TEST(UpperChannel, AnIdleMinuteOnTheManualClock)
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
    EXPECT_TRUE(peer.received().empty());
    at::advance(io, 1s);
    EXPECT_NO_THROW(peer.expect("IDLE\r\n").expect_eof());
}

TEST(UpperChannel, AFailedWriteClosesTheChannel)
{
    using faulty = at::faulty_socket<socket_type>;
    asio::io_context io;
    auto [client, server] = at::unix_stream::pair(io);
    auto faults = std::make_shared<at::fail_count>();
    faults->fail_write(1, asio::error::broken_pipe);
    auto chat = std::make_shared<example::upper_channel<faulty>>(faulty(std::move(server), faults));
    chat->start();
    at::scripted_peer peer(io, std::move(client));
    EXPECT_NO_THROW(peer.send("lost\r\n").expect_eof()); // a disconnect: handle_close()
    EXPECT_EQ(faults->writes(), 1u);
}
