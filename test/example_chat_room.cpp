// asynchat: drives example/chat_room over loopback with three clients
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "chat_room/chat_room.hpp"

#define BOOST_TEST_MODULE example_chat_room
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <deque>
#include <istream>
#include <string>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using chat::tcp;

namespace {

// A client that collects the lines it receives.
struct client
{
    client(asio::io_context& io, tcp::endpoint ep) : socket(io)
    {
        socket.connect(ep);
        read_next();
    }

    void say(std::string const& line) { asio::write(socket, asio::buffer(line + "\n")); }

    // The next line received, waiting for it at most 10 s ("" if none came).
    std::string next(asio::io_context& io)
    {
        if (!run_until(io, [&] { return !lines.empty(); }))
            return {};
        std::string line = lines.front();
        lines.pop_front();
        return line;
    }

    void read_next()
    {
        asio::async_read_until(
            socket,
            buffer,
            '\n',
            [this](boost::system::error_code ec, std::size_t)
            {
                if (ec)
                {
                    eof = true;
                    return;
                }
                std::istream in(&buffer);
                std::string line;
                std::getline(in, line);
                lines.push_back(line);
                read_next();
            }
        );
    }

    tcp::socket socket;
    asio::streambuf buffer;
    std::deque<std::string> lines;
    bool eof = false;
};

} // namespace

BOOST_AUTO_TEST_CASE(nicks_broadcasts_and_quit)
{
    // Setup
    asio::io_context io;
    auto server =
        std::make_shared<chat::server>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    server->start();
    client alice(io, server->local_endpoint());
    client bob(io, server->local_endpoint());
    BOOST_TEST(alice.next(io) == "Welcome to the chat room. Set a nick with: NICK <name>");
    BOOST_TEST(bob.next(io) == "Welcome to the chat room. Set a nick with: NICK <name>");

    // Event, check: talking before a nick is refused.
    alice.say("hello?");
    BOOST_TEST(alice.next(io) == "Please set a nick first: NICK <name>");

    // Joining is announced to everyone in the room.
    alice.say("NICK alice");
    BOOST_TEST(alice.next(io) == "* alice has joined");
    bob.say("NICK bob");
    BOOST_TEST(alice.next(io) == "* bob has joined");
    BOOST_TEST(bob.next(io) == "* bob has joined");

    // Lines go to everyone; a \r\n line ending is accepted.
    bob.say("hi alice\r");
    BOOST_TEST(alice.next(io) == "<bob> hi alice");
    BOOST_TEST(bob.next(io) == "<bob> hi alice");
    alice.say("NICK al");
    BOOST_TEST(bob.next(io) == "* alice is now known as al");
    BOOST_TEST(alice.next(io) == "* alice is now known as al");

    // QUIT: a goodbye, then the connection closes; the others hear of it.
    alice.say("QUIT");
    BOOST_TEST(alice.next(io) == "Bye!");
    BOOST_TEST(run_until(io, [&] { return alice.eof; }));
    BOOST_TEST(bob.next(io) == "* al has left");

    // A peer that vanishes leaves too.
    client carol(io, server->local_endpoint());
    BOOST_TEST(carol.next(io).rfind("Welcome", 0) == 0u);
    carol.say("NICK carol");
    BOOST_TEST(bob.next(io) == "* carol has joined");
    carol.socket.close();
    BOOST_TEST(bob.next(io) == "* carol has left");
    BOOST_TEST(server->members().size() == 1u);

    asynchat::close_all(io);
    io.poll();
}
