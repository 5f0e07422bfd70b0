// asynchat: example: a line handler to test with the test kit (see boost_test.cpp, gtest.cpp)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_UPPER_CHANNEL_HPP
#define ASYNCHAT_EXAMPLE_UPPER_CHANNEL_HPP

#include <asynchat.hpp>

#include <boost/asio/steady_timer.hpp>

#include <cctype>
#include <string>
#include <string_view>
#include <utility>

namespace example {

/** Each "\r\n" line comes back in capitals; QUIT is answered BYE and closes; a client idle for
    longer than set_idle_timeout() allows is told IDLE and closed. A template over the socket and
   the timer, like any channel that wants to be tested without a network (a Unix socket pair), with
   a clock the test moves (asynchat::testing::manual_timer) or with failures injected
    (asynchat::testing::faulty_socket).
*/
template <class Stream, class Timer = boost::asio::steady_timer>
class upper_channel : public asynchat::basic_async_chat<Stream, Timer>
{
public:
    explicit upper_channel(Stream s) : asynchat::basic_async_chat<Stream, Timer>(std::move(s))
    {
        this->set_terminator("\r\n");
    }

protected:
    void collect_incoming_data(std::string_view data) override
    {
        this->_collect_incoming_data(data);
    }

    void found_terminator() override
    {
        std::string line = this->_get_data();
        if (line == "QUIT")
        {
            this->push("BYE\r\n");
            this->close_when_done();
            return;
        }
        for (char& c : line)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        this->push(line + "\r\n");
    }

    void handle_timeout() override
    {
        this->push("IDLE\r\n");
        this->close_when_done();
    }
};

} // namespace example

#endif
