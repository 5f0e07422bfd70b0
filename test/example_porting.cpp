// asynchat: drives example/porting's C++ port and expects what the Python original answered
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "porting/kv_server.hpp"

#define BOOST_TEST_MODULE example_porting
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <sstream>
#include <thread>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

BOOST_AUTO_TEST_CASE(answers_as_the_python_original)
{
    // Setup
    asio::io_context io;
    std::ostringstream banner;
    auto* old = std::cout.rdbuf(banner.rdbuf());
    auto server = std::make_shared<kv::kv_server>(io, 0);
    std::cout.rdbuf(old);
    server->start();
    BOOST_TEST(
        banner.str() ==
        "listening on 127.0.0.1:" + std::to_string(server->local_endpoint().port()) + "\n"
    );

    // Event: the session of example/porting/compare.py.
    kv::tcp::socket client(io);
    client.connect(server->local_endpoint());
    asio::write(
        client,
        asio::buffer(std::string("GET a\r\nSET a 7\r\nx\r\ny\r\nzGET a\r\nSET empty 0\r\nGET "
                                 "empty\r\nBOGUS\r\nQUIT\r\nGET a\r\n"))
    );
    std::string answer;
    std::atomic<bool> done{false};
    std::thread reader(
        [&]
        {
            answer = read_to_eof(client);
            done = true;
        }
    );
    bool const finished = run_until(io, [&] { return done.load(); });
    reader.join();

    // Check: recorded from kv_server.py on CPython 3.11.7 (python3 example/porting/compare.py).
    BOOST_TEST_REQUIRE(finished);
    BOOST_TEST(
        answer == "+OK kv ready\r\nNOT_FOUND\r\nSTORED\r\nVALUE 7\r\nx\r\ny\r\nzSTORED\r\nVALUE "
                  "0\r\nERROR\r\nBYE\r\n"
    );
    asynchat::close_all(io);
    io.poll();
}
