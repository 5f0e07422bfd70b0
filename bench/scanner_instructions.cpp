// asynchat: a fixed amount of scanning, for `valgrind --tool=callgrind` (instructions per message)
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_bench_scanner_instructions [TERMINATOR_BYTES] [MESSAGE_LENGTH] [MESSAGES]
// Prints the message count; bench/run.sh divides callgrind's instruction total by it.
#include <asynchat/detail/input_scanner.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "counting_handler.hpp"

namespace {

using bench::counting_handler;

} // namespace

int main(int argc, char** argv)
{
    std::string const term =
        std::string("\r\n\r\n").substr(0, argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1);
    std::size_t const length = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 32;
    std::size_t const messages = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1000000;
    std::string const one =
        std::string(length - (term.empty() ? 0 : term.size()), 'x') + (term.empty() ? "\n" : term);
    std::string reads;
    while (reads.size() + one.size() <= 65536)
        reads += one;
    std::size_t const per_read = reads.size() / one.size();

    asynchat::detail::input_scanner s;
    s.set_terminator(term.empty() ? std::string("\n") : term);
    counting_handler h;
    for (std::size_t done = 0; done < messages; done += per_read)
    {
        std::memcpy(s.prepare(reads.size()), reads.data(), reads.size());
        s.commit(reads.size());
        s.process(h);
    }
    std::printf("%zu\n", h.messages);
    return 0;
}
