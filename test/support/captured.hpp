// asynchat: test fixtures: what a program writes to std::cout or std::cerr
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_CAPTURED_HPP
#define ASYNCHAT_TEST_SUPPORT_CAPTURED_HPP

#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>

namespace asynchat::test {

/// Captures std::cout or std::cerr for the lifetime of the object.
struct captured
{
    explicit captured(std::ostream& s) : stream(s), old(s.rdbuf(buffer.rdbuf())) {}
    ~captured() { stream.rdbuf(old); }
    captured(captured const&) = delete;
    captured& operator=(captured const&) = delete;
    std::string text() const { return buffer.str(); }

    std::ostream& stream;
    std::ostringstream buffer;
    std::streambuf* old;
};

} // namespace asynchat::test

#endif
