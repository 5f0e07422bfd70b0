// asynchat: example: async_chat beside a timer and a coroutine client on a 2-thread io_context
// SPDX-License-Identifier: BSL-1.0
#include <iostream>

#include "mixed_asio.hpp"

int main()
{
    auto const r = mixed::run(2, 100);
    std::cout << "answers: " << r.answers.size() << " (first: \""
              << (r.answers.empty() ? "" : r.answers.front()) << "\", last: \""
              << (r.answers.empty() ? "" : r.answers.back()) << "\")\n"
              << "heartbeats while they were exchanged: " << r.heartbeats << "\n";
    return r.answers.size() == 100 ? 0 : 1;
}
