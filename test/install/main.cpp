// asynchat: a consumer of the installed package: one line over a local socket pair, through the
// test kit
// SPDX-License-Identifier: BSL-1.0
#include <asynchat.hpp>
#include <asynchat/testing.hpp>
#ifdef ASYNCHAT_CONSUMER_TLS
#include <asynchat/tls.hpp>
#endif

#include <boost/asio/local/stream_protocol.hpp>

#include <cctype>
#include <iostream>

namespace asio = boost::asio;
using socket_type = asio::local::stream_protocol::socket;

class upper_chat : public asynchat::basic_async_chat<socket_type>
{
public:
    explicit upper_chat(socket_type s) : basic_async_chat(std::move(s)) { set_terminator("\n"); }

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
    // The test kit is installed with the library: a channel on a Unix socket pair is sent the
    // line in two pieces, and what it answered is recorded.
    auto const record = asynchat::testing::replay<asynchat::testing::unix_stream>(
        [](socket_type s) { return std::make_shared<upper_chat>(std::move(s)); }, "installed\n", {4}
    );
    std::cout << "consumer got: " << record.received;
#ifdef ASYNCHAT_HAS_ZLIB
    // A library built with zlib: this links only if the package config found ZLIB again.
    asynchat::compressed_producer compressed(
        std::make_unique<asynchat::simple_producer>(record.received)
    );
    if (compressed.more().size() < 2)
        return 1;
    std::cout << "compressed_producer linked\n";
#endif
#ifdef ASYNCHAT_CONSUMER_TLS
    // asynchat::tls links OpenSSL: a context and a client TLS stream are made.
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    asynchat::tls_stream stream(io, ctx);
    asynchat::set_server_name(stream, "localhost");
    std::cout << "asynchat::tls linked\n";
#endif
    return record.received == "INSTALLED\n" && record.closed ? 0 : 1;
}
