// asynchat: example: a line echo server (an acceptor spawning async_chat channels)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_ECHO_SERVER_HPP
#define ASYNCHAT_EXAMPLE_ECHO_SERVER_HPP

#include <asynchat.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <string>
#include <utility>

namespace echo {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Answers every '\n'-terminated line with the same line.
class echo_channel : public asynchat::async_chat
{
public:
    explicit echo_channel(tcp::socket socket) : asynchat::async_chat(std::move(socket))
    {
        set_terminator("\n");
    }

protected:
    void collect_incoming_data(std::string_view data) override { line_.append(data); }

    void found_terminator() override
    {
        line_ += '\n';
        push(std::move(line_));
        line_.clear();
    }

private:
    std::string line_;
};

/// Accepts connections and gives each one an echo_channel.
class server
{
public:
    /// `strands`: give each connection a strand, needed when several threads run `io`.
    server(asio::io_context& io, tcp::endpoint const& ep, bool strands)
        : io_(io), acceptor_(asio::make_strand(io), ep), strands_(strands)
    {
    }

    tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

    void start() { do_accept(); }

    /// Stop accepting; safe from any thread (the acceptor has its own strand, so this cannot
    /// race with the accept handler). Open channels run until their peers leave.
    void stop()
    {
        asio::dispatch(
            acceptor_.get_executor(),
            [this]
            {
                boost::system::error_code ignored;
                acceptor_.close(ignored);
            }
        );
    }

private:
    void do_accept()
    {
        auto on_accept = [this](boost::system::error_code ec, tcp::socket socket)
        {
            if (!ec)
            {
                socket.set_option(tcp::no_delay(true), ec);
                std::make_shared<echo_channel>(std::move(socket))->start();
            }
            if (acceptor_.is_open())
                do_accept();
        };
        if (strands_)
            acceptor_.async_accept(asio::make_strand(io_), on_accept);
        else
            acceptor_.async_accept(on_accept);
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    bool strands_;
};

} // namespace echo

#endif
