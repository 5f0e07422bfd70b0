// asynchat: example: a multi-client chat room (nicks, join/leave notices, QUIT)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_CHAT_ROOM_HPP
#define ASYNCHAT_EXAMPLE_CHAT_ROOM_HPP

#include <asynchat.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace chat {

namespace asio = boost::asio;
using asio::ip::tcp;

class session;

/// The members of the room. Used from the sessions' hooks: run the io_context on one thread.
class room
{
public:
    void join(std::shared_ptr<session> s) { members_.push_back(std::move(s)); }
    void leave(session const* s)
    {
        members_.erase(
            std::remove_if(
                members_.begin(), members_.end(), [s](auto const& m) { return m.get() == s; }
            ),
            members_.end()
        );
    }
    void broadcast(std::string const& line);
    std::size_t size() const noexcept { return members_.size(); }

private:
    std::vector<std::shared_ptr<session>> members_;
};

/** One client. Protocol, one command per line:
    `NICK <name>` joins (or renames); `QUIT` leaves; any other line is said to the room.
*/
class session : public asynchat::async_chat
{
public:
    session(tcp::socket sock, room& r) : asynchat::async_chat(std::move(sock)), room_(r)
    {
        set_terminator("\n");
    }

    void greet() { push("Welcome to the chat room. Set a nick with: NICK <name>\n"); }

protected:
    void collect_incoming_data(std::string_view data) override { _collect_incoming_data(data); }

    void found_terminator() override
    {
        // The line as a view, valid until this hook returns: parsed without a copy.
        std::string_view line = _get_data_view();
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.substr(0, 5) == "NICK ")
            return set_nick(std::string(line.substr(5)));
        if (line == "QUIT")
        {
            push("Bye!\n");
            close_when_done(); // handle_close() once "Bye!" is sent
            return;
        }
        if (nick_.empty())
            push("Please set a nick first: NICK <name>\n");
        else
            room_.broadcast("<" + nick_ + "> " + std::string(line) + "\n");
    }

    void handle_close() override
    {
        if (!nick_.empty())
        {
            room_.leave(this);
            room_.broadcast("* " + nick_ + " has left\n");
            nick_.clear();
        }
        close();
    }

private:
    void set_nick(std::string const& name)
    {
        if (name.empty() || name.find(' ') != std::string::npos)
            return push("Nicks are one word: NICK <name>\n");
        if (nick_.empty())
        {
            nick_ = name;
            room_.join(asynchat::shared_from(this));
            room_.broadcast("* " + nick_ + " has joined\n");
        }
        else
        {
            room_.broadcast("* " + nick_ + " is now known as " + name + "\n");
            nick_ = name;
        }
    }

    room& room_;
    std::string nick_;
};

inline void room::broadcast(std::string const& line)
{
    for (auto const& m : members_)
        m->push(line);
}

/// The listening dispatcher; owns the room.
class server : public asynchat::dispatcher
{
public:
    server(asio::io_context& io, tcp::endpoint const& ep) : dispatcher(io.get_executor())
    {
        create_socket(ep.protocol());
        set_reuse_addr();
        bind(ep);
        listen(64);
    }

    chat::room& members() noexcept { return room_; }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        auto s = std::make_shared<session>(std::move(sock), room_);
        s->start();
        s->greet();
    }

private:
    room room_;
};

} // namespace chat

#endif
