// asynchat: tests of the Python 2.6 fifo
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/fifo.hpp>

#define BOOST_TEST_MODULE fifo
#include <boost/test/unit_test.hpp>

#include <stdexcept>

BOOST_AUTO_TEST_CASE(pops_in_push_order)
{
    // Setup
    asynchat::fifo f({"a"});
    f.push("b");

    // Event, check
    BOOST_TEST(f.size() == 2u);
    BOOST_TEST(f.first() == "a");
    BOOST_TEST(*f.pop() == "a");
    BOOST_TEST(*f.pop() == "b");
    BOOST_TEST(f.is_empty());
}

BOOST_AUTO_TEST_CASE(empty_fifo_reports_instead_of_failing)
{
    asynchat::fifo f;
    BOOST_TEST(!f.pop().has_value());
    BOOST_CHECK_THROW(f.first(), std::out_of_range);
}
