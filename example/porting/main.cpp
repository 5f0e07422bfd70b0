// asynchat: example: the C++ port of kv_server.py: its `if __name__ == "__main__":` block
// SPDX-License-Identifier: BSL-1.0
#include <string>

#include "kv_server.hpp"

int main(int argc, char** argv)
{
    boost::asio::io_context io;
    // kv_server(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    auto const port = static_cast<unsigned short>(argc > 1 ? std::stoul(argv[1]) : 0);
    std::make_shared<kv::kv_server>(io, port)->start();
    asynchat::loop(io); // asyncore.loop()
}
