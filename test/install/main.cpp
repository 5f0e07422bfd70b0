// asynchat: a consumer of the installed package: one line over a local socket pair
// SPDX-License-Identifier: BSL-1.0
#include <asynchat.hpp>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>

#include <cctype>
#include <iostream>

namespace asio = boost::asio;
using socket_type = asio::local::stream_protocol::socket;

class upper_chat : public asynchat::basic_async_chat<socket_type>
{
public:
    using basic_async_chat::basic_async_chat;

protected:
    void collect_incoming_data(std::string_view data) override { _collect_incoming_data(data); }
    void found_terminator() override
    {
        std::string line = _get_data();
        for (char& c : line)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        push(line + "\n");
        close_when_done();
    }
};

int main()
{
    asio::io_context io;
    socket_type a(io), b(io);
    asio::local::connect_pair(a, b);
    auto chat = std::make_shared<upper_chat>(std::move(b));
    chat->set_terminator("\n");
    chat->start();
    asio::write(a, asio::buffer(std::string("installed\n")));
    io.run_for(std::chrono::seconds(5));
    std::string answer(10, '\0');
    asio::read(a, asio::buffer(answer));
    std::cout << "consumer got: " << answer;
#ifdef ASYNCHAT_HAS_ZLIB
    // A library built with zlib: this links only if the package config found ZLIB again.
    asynchat::compressed_producer compressed(std::make_unique<asynchat::simple_producer>(answer));
    if (compressed.more().size() < 2)
        return 1;
    std::cout << "compressed_producer linked\n";
#endif
    return answer == "INSTALLED\n" ? 0 : 1;
}
