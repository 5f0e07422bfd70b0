// asynchat: drives example/chat_room with the test kit: scripted clients over loopback, and a
// session's commands at every split point
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "chat_room/chat_room.hpp"

#define BOOST_TEST_MODULE example_chat_room
#include <asynchat/testing.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace asio = boost::asio;
namespace at = asynchat::testing;
using chat::tcp;

namespace {

using client = at::scripted_peer<tcp::socket>;

std::string const welcome = "Welcome to the chat room. Set a nick with: NICK <name>\n";

// A session of its own room, on the channel's end of a pair, greeted as the server does; the
// observe function reports the room's size at the end of the run.
struct session_under_test
{
    chat::room room;

    auto make()
    {
        return [this](tcp::socket s)
        {
            auto session = std::make_shared<at::recorded<chat::session>>(std::move(s), room);
            session->greet();
            return session;
        };
    }
    auto observe()
    {
        return [this](auto&)
        { return std::vector<std::string>{"members " + std::to_string(room.size())}; };
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(clients)

BOOST_AUTO_TEST_CASE(nicks_broadcasts_and_quit)
{
    // Setup
    asio::io_context io;
    auto server =
        std::make_shared<chat::server>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    server->start();
    auto alice = client::connect(io, server->local_endpoint());
    auto bob = client::connect(io, server->local_endpoint());
    alice.expect(welcome);
    bob.expect(welcome);

    // Event, check: talking before a nick is refused.
    alice.send("hello?\n").expect("Please set a nick first: NICK <name>\n");

    // Joining is announced to everyone in the room.
    alice.send("NICK alice\n").expect("* alice has joined\n");
    bob.send("NICK bob\n").expect("* bob has joined\n");
    alice.expect("* bob has joined\n");

    // Lines go to everyone; a \r\n line ending is accepted.
    bob.send("hi alice\r\n").expect("<bob> hi alice\n");
    alice.expect("<bob> hi alice\n");
    alice.send("NICK al\n").expect("* alice is now known as al\n");
    bob.expect("* alice is now known as al\n");

    // QUIT: a goodbye, then the connection closes; the others hear of it.
    alice.send("QUIT\n").expect("Bye!\n").expect_eof();
    bob.expect("* al has left\n");

    // A peer that closes, and one that resets, leave too.
    auto carol = client::connect(io, server->local_endpoint());
    carol.expect(welcome).send("NICK carol\n").expect("* carol has joined\n");
    bob.expect("* carol has joined\n");
    carol.half_close();
    bob.expect("* carol has left\n");
    auto dave = client::connect(io, server->local_endpoint());
    dave.expect(welcome).send("NICK dave\n").expect("* dave has joined\n");
    bob.expect("* dave has joined\n");
    dave.reset();
    bob.expect("* dave has left\n");

    // Check: bob alone is left, and heard nothing else.
    BOOST_TEST(server->members().size() == 1u);
    BOOST_TEST(bob.received().empty());
    asynchat::close_all(io);
    io.poll();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(split_points)

BOOST_AUTO_TEST_CASE(every_command_at_every_split)
{
    // Setup: one session's commands, \n and \r\n endings; every single cut, a byte a read, 50
    // random splits.
    session_under_test t;
    std::string const commands =
        "hello?\nNICK alice\nhi all\r\nNICK al\nNICK two words\nNICK \nQUIT\n";
    at::split_options options;
    options.policies = {
        at::split_policy::every_boundary(),
        at::split_policy::one_byte_at_a_time(),
        at::split_policy::seeded_random(21, 50)};

    // Event
    auto const report = at::check_splits<at::tcp_v4>(t.make(), t.observe(), commands, options);

    // Check: the same everywhere, and right: each command answered, QUIT closes, and the
    // session left the room.
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(
        report.unsplit.received ==
        welcome + "Please set a nick first: NICK <name>\n" + "* alice has joined\n" +
            "<alice> hi all\n" + "* alice is now known as al\n" +
            "Nicks are one word: NICK <name>\n" + "Nicks are one word: NICK <name>\n" + "Bye!\n"
    );
    BOOST_TEST(report.unsplit.closed);
    BOOST_TEST(
        report.unsplit.observed == std::vector<std::string>{"members 0"},
        boost::test_tools::per_element()
    );
    BOOST_TEST_REQUIRE(report.unsplit.hooks.size() == 8u);
    BOOST_TEST(report.unsplit.hooks[2] == "found_terminator \"hi all\\r\"");
    BOOST_TEST(report.unsplit.hooks[7] == "handle_close");
}

BOOST_AUTO_TEST_CASE(a_short_session_at_every_pair_of_splits)
{
    session_under_test t;
    std::string const commands = "NICK al\nhi\nQUIT\n";
    at::split_options options;
    options.policies = {at::split_policy::every_pair(32)};
    auto const report = at::check_splits<at::tcp_v4>(t.make(), t.observe(), commands, options);
    BOOST_TEST(report.same(), report.message());
    BOOST_TEST(report.runs == 1u + 15u * 14u / 2u);
    BOOST_TEST(report.unsplit.received == welcome + "* al has joined\n<al> hi\nBye!\n");
}

BOOST_AUTO_TEST_SUITE_END()
