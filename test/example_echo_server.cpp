// asynchat: drives example/echo_server over loopback
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "echo_server/echo_server.hpp"

#define BOOST_TEST_MODULE example_echo_server
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <iostream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support/child_process.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

BOOST_AUTO_TEST_CASE(echoes_every_line_to_every_client)
{
    for (int threads : {1, 2})
    {
        BOOST_TEST_CONTEXT(threads << " thread(s)")
        {
            // Setup
            asio::io_context io;
            auto server = std::make_shared<echo::server>(
                io, echo::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0), threads
            );
            server->start();
            auto work = asio::make_work_guard(io);
            std::vector<std::thread> pool;
            for (int i = 0; i < threads; ++i)
                pool.emplace_back([&] { io.run_for(30s); });

            // Event: ten clients, each sending 1000 lines (one of them split mid-line).
            std::string lines;
            for (int i = 0; i < 1000; ++i)
                lines += "line number " + std::to_string(i) + "\n";
            asio::io_context client_io;
            std::vector<asio::ip::tcp::socket> clients;
            for (int c = 0; c < 10; ++c)
            {
                clients.emplace_back(client_io);
                clients.back().connect(server->local_endpoint());
                asio::write(clients.back(), asio::buffer(lines.data(), 7));
                asio::write(clients.back(), asio::buffer(lines.data() + 7, lines.size() - 7));
                clients.back().shutdown(asio::ip::tcp::socket::shutdown_send);
            }

            // Check: all of it back, on every connection.
            for (auto& c : clients)
                BOOST_TEST(read_to_eof(c) == lines);
            // Once the server stops accepting and every channel has closed, run() returns.
            server->close();
            work.reset();
            for (auto& t : pool)
                t.join();
            BOOST_TEST(io.stopped());
        }
    }
}

BOOST_AUTO_TEST_CASE(listeners_mode_serves_one_port_from_two_io_contexts)
{
    // Setup: the example program itself, `--listeners 2`: two io_contexts of one thread, each
    // with its own listener on the same port (SO_REUSEPORT).
    child_process child(
        []
        {
            child_process::report_output();
            ::execl(
                ASYNCHAT_ECHO_SERVER_PROGRAM,
                ASYNCHAT_ECHO_SERVER_PROGRAM,
                "--listeners",
                "2",
                static_cast<char*>(nullptr)
            );
            throw std::runtime_error("exec failed");
        }
    );
    std::string const line = child.read_line_with("listening on 127.0.0.1:");
    BOOST_TEST_REQUIRE(!line.empty());
    echo::tcp::endpoint const server(
        asio::ip::make_address_v4("127.0.0.1"),
        static_cast<unsigned short>(std::stoul(line.substr(line.rfind(':') + 1)))
    );

    // Event and check: 32 clients, each answered (the kernel spreads them over the listeners).
    for (int i = 0; i < 32; ++i)
        BOOST_TEST(
            exchange_once(server, "client " + std::to_string(i) + "\n") ==
            "client " + std::to_string(i) + "\n"
        );
}

BOOST_AUTO_TEST_CASE(keeps_listening_through_descriptor_exhaustion)
{
    // Setup: the server in a child process with room for about 30 connections (as under
    // `prlimit --nofile=64`), run as its main() runs it; what it prints comes to us.
    child_process child(
        []
        {
            limit_descriptors(32);
            asio::io_context io;
            auto server = std::make_shared<echo::server>(
                io, echo::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)
            );
            server->start();
            child_process::report_output();
            // One connection served and closed, so that every path has run once before the
            // descriptors run out (UBSan: see exhaust_descriptors()).
            std::cout << "before the burst" << std::endl;
            // The pause is logged through channel_logger::log_info(): UBSan checks that call's
            // type once, opening a file, which it cannot do once descriptors run out.
            static_cast<asynchat::channel_logger&>(*server).log_info("warm-up", "warning");
            asio::ip::tcp::socket warm(io);
            warm.connect(server->local_endpoint());
            asio::write(warm, asio::buffer(std::string("warm\n")));
            run_until(io, [&] { return warm.available() >= 5; });
            warm.close();
            run_until(io, [&] { return asynchat::channel_count(io) == 1; });
            child_process::report("port=" + std::to_string(server->local_endpoint().port()));
            io.run_for(60s); // the parent kills it sooner
        }
    );
    std::string const port = child.read_line_with("port=");
    BOOST_TEST_REQUIRE(!port.empty());
    echo::tcp::endpoint const server(
        asio::ip::make_address_v4("127.0.0.1"),
        static_cast<unsigned short>(std::stoul(port.substr(5)))
    );

    // Event: a burst of 200 connections, held open until the server has run out of
    // descriptors (it says so).
    asio::io_context client_io;
    std::vector<asio::ip::tcp::socket> burst;
    for (int i = 0; i < 200; ++i)
    {
        burst.emplace_back(client_io);
        boost::system::error_code ec;
        burst.back().connect(server, ec);
        BOOST_TEST_REQUIRE(!ec, "connect " << i << " of the burst: " << ec.message());
    }
    std::string const exhausted = child.read_line_with("Too many open files");
    BOOST_TEST_MESSAGE("the server said: " << exhausted);
    BOOST_TEST_REQUIRE(!exhausted.empty());
    // The connections accepted before the descriptors ran out are served all along.
    asio::write(burst.front(), asio::buffer(std::string("during\n")));
    std::string during;
    bool read = false;
    asio::async_read_until(
        burst.front(),
        asio::dynamic_buffer(during),
        '\n',
        [&](boost::system::error_code, std::size_t) { read = true; }
    );
    BOOST_TEST(run_until(client_io, [&] { return read; }));
    BOOST_TEST(during == "during\n");
    burst.clear();

    // Check: the server is still listening, and answers once the burst has ended.
    std::string const answer = exchange_once(server, "after\n");
    BOOST_TEST_MESSAGE("after the burst: " << answer);
    BOOST_TEST(answer == "after\n");
}
