// asynchat: bench: the command line every benchmark server shares (--port N, --threads T)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_BENCH_SERVER_ARGS_HPP
#define ASYNCHAT_BENCH_SERVER_ARGS_HPP

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace bench {

struct server_args
{
    unsigned short port = 0;
    int threads = 1;
};

inline server_args parse_server_args(int argc, char** argv)
{
    server_args a;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        std::string const key = argv[i];
        unsigned long const value = std::stoul(argv[i + 1]);
        if (key == "--port" && value <= 65535)
            a.port = static_cast<unsigned short>(value);
        else if (key == "--threads" && value >= 1 && value <= 64)
            a.threads = static_cast<int>(value);
        else
            throw std::invalid_argument("usage: " + std::string(argv[0]) + " [--port N] [--threads T]");
    }
    if (argc % 2 == 0)
        throw std::invalid_argument("usage: " + std::string(argv[0]) + " [--port N] [--threads T]");
    return a;
}

} // namespace bench

#endif
