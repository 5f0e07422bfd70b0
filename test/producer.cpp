// asynchat: tests of simple_producer
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/producer.hpp>

#define BOOST_TEST_MODULE producer
#include <boost/test/unit_test.hpp>

#include <stdexcept>

BOOST_AUTO_TEST_CASE(hands_out_pieces_of_buffer_size_then_empty)
{
    asynchat::simple_producer p("hello world", 4);
    BOOST_TEST(p.more() == "hell");
    BOOST_TEST(p.more() == "o wo");
    BOOST_TEST(p.more() == "rld");
    BOOST_TEST(p.more() == "");
    BOOST_TEST(p.more() == "");
}

BOOST_AUTO_TEST_CASE(short_data_comes_whole)
{
    asynchat::simple_producer p("abc");
    BOOST_TEST(p.more() == "abc");
    BOOST_TEST(p.more() == "");
}

BOOST_AUTO_TEST_CASE(zero_buffer_size_is_rejected)
{
    BOOST_CHECK_THROW(asynchat::simple_producer("abc", 0), std::invalid_argument);
}
