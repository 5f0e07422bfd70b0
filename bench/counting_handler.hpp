// asynchat: bench: a scanner handler that only counts what it is given
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_BENCH_COUNTING_HANDLER_HPP
#define ASYNCHAT_BENCH_COUNTING_HANDLER_HPP

#include <cstddef>
#include <string_view>

namespace bench {

struct counting_handler
{
    std::size_t bytes = 0;
    std::size_t messages = 0;
    void collect(std::string_view d) { bytes += d.size(); }
    void found_terminator() { ++messages; }
    bool proceed() const { return true; }
    void message_too_long() {}
};

} // namespace bench

#endif
