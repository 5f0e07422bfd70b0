// asynchat: test fixtures: asyncore's classic echo server, a listening dispatcher that spawns
// async_chat channels echoing each line
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_ECHO_LISTENER_HPP
#define ASYNCHAT_TEST_SUPPORT_ECHO_LISTENER_HPP

#include <asynchat/async_chat.hpp>
#include <asynchat/dispatcher.hpp>

#include <string>
#include <string_view>

namespace asynchat::test {

/// A channel that sends back every line it reads, "\n" included.
class echo_chat : public asynchat::async_chat
{
public:
    explicit echo_chat(stream_type s);

protected:
    void collect_incoming_data(std::string_view d) override;
    void found_terminator() override;

private:
    std::string line_;
};

/** A dispatcher listening on 127.0.0.1, port 0, that starts an echo_chat for each connection.

    @param ex Where the listener runs (a strand for a multi-threaded io_context).
    @param backlog listen()'s backlog.
    @param port The port (0: the system picks one).
    @param reuse_port Set SO_REUSEPORT before binding.
*/
class echo_listener : public asynchat::dispatcher
{
public:
    explicit echo_listener(
        executor_type const& ex, int backlog = 64, unsigned short port = 0, bool reuse_port = false
    );

    /// The connections accepted so far.
    int accepted = 0;

protected:
    void handle_accepted(socket_type sock, endpoint_type) override;
};

} // namespace asynchat::test

#endif
