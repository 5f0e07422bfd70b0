// asynchat: drives example/echo_server over loopback
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "echo_server/echo_server.hpp"

#define BOOST_TEST_MODULE example_echo_server
#include <boost/test/unit_test.hpp>

#include <boost/asio/write.hpp>

#include <string>
#include <thread>
#include <vector>

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
                BOOST_TEST(read_all(c) == lines);
            // Once the server stops accepting and every channel has closed, run() returns.
            server->close();
            work.reset();
            for (auto& t : pool)
                t.join();
            BOOST_TEST(io.stopped());
        }
    }
}
