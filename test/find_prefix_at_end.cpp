// asynchat: tests of find_prefix_at_end
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/find_prefix_at_end.hpp>

#define BOOST_TEST_MODULE find_prefix_at_end
#include <boost/test/unit_test.hpp>

using asynchat::find_prefix_at_end;

BOOST_AUTO_TEST_CASE(test_find_prefix_at_end)
{
    // CPython's TestHelperFunctions.test_find_prefix_at_end.
    BOOST_TEST(find_prefix_at_end("qwerty\r", "\r\n") == 1u);
    BOOST_TEST(find_prefix_at_end("qwertydkjf", "\r\n") == 0u);
}

BOOST_AUTO_TEST_CASE(returns_the_longest_proper_prefix)
{
    BOOST_TEST(find_prefix_at_end("xx\r\n.\r", "\r\n.\r\n") == 4u);
    BOOST_TEST(find_prefix_at_end("aaa", "aab") == 2u);
    BOOST_TEST(find_prefix_at_end("ab", "abab") == 2u);
    BOOST_TEST(find_prefix_at_end("aba", "abab") == 3u);
}

BOOST_AUTO_TEST_CASE(a_whole_needle_is_not_a_prefix)
{
    BOOST_TEST(find_prefix_at_end("x\r\n", "\r\n") == 0u);
}

BOOST_AUTO_TEST_CASE(short_haystacks_and_empty_inputs)
{
    BOOST_TEST(find_prefix_at_end("", "\r\n") == 0u);
    BOOST_TEST(find_prefix_at_end("\r", "\r\n.\r\n") == 1u);
    BOOST_TEST(find_prefix_at_end("abc", "") == 0u);
    BOOST_TEST(find_prefix_at_end("abc", "c") == 0u);
}
