// asynchat: test fixtures: a channel that only sends
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_SEND_ONLY_CHAT_HPP
#define ASYNCHAT_TEST_SUPPORT_SEND_ONLY_CHAT_HPP

#include <asynchat/async_chat.hpp>

#include <string_view>

namespace asynchat::test {

/// A channel for tests that push: whatever it reads is dropped.
class send_only_chat : public asynchat::async_chat
{
public:
    using asynchat::async_chat::async_chat;

protected:
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
};

} // namespace asynchat::test

#endif
