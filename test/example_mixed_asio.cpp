// asynchat: runs example/mixed_asio: async_chat, a timer and a coroutine client on 1 and 2 threads
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "mixed_asio/mixed_asio.hpp"

#define BOOST_TEST_MODULE example_mixed_asio
#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_CASE(every_line_is_answered_while_the_timer_ticks)
{
    for (int threads : {1, 2})
    {
        BOOST_TEST_CONTEXT(threads << " thread(s)")
        {
            // Event: run() returns only when the client, the channels and the timer are done.
            auto const r = mixed::run(threads, 200);

            // Check
            BOOST_TEST_REQUIRE(r.answers.size() == 200u);
            for (int i = 0; i < 200; ++i)
                BOOST_TEST(r.answers[i] == "LINE " + std::to_string(i));
            BOOST_TEST(r.heartbeats >= 3); // the timer ran beside the channels, and stopped them
        }
    }
}
