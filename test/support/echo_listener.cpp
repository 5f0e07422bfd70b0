// asynchat: test fixtures: the echo server
// SPDX-License-Identifier: BSL-1.0
#include "support/echo_listener.hpp"

#include <boost/asio/ip/address.hpp>

#include <memory>
#include <utility>

namespace asynchat::test {

echo_chat::echo_chat(stream_type s) : asynchat::async_chat(std::move(s)) { set_terminator("\n"); }

void echo_chat::collect_incoming_data(std::string_view d) { line_.append(d); }

void echo_chat::found_terminator()
{
    line_ += '\n';
    push(std::move(line_));
    line_.clear();
}

echo_listener::echo_listener(
    executor_type const& ex, int backlog, unsigned short port, bool reuse_port
)
    : dispatcher(ex)
{
    create_socket();
    set_reuse_addr();
    if (reuse_port)
        set_reuse_port();
    bind({boost::asio::ip::make_address("127.0.0.1"), port});
    listen(backlog);
}

void echo_listener::handle_accepted(socket_type sock, endpoint_type)
{
    ++accepted;
    std::make_shared<echo_chat>(std::move(sock))->start();
}

} // namespace asynchat::test
