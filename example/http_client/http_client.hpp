// asynchat: example: the asyncore documentation's HTTP client, as a dispatcher and as an async_chat
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_HTTP_CLIENT_HPP
#define ASYNCHAT_EXAMPLE_HTTP_CLIENT_HPP

#include <asynchat.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace http_client {

namespace asio = boost::asio;
using asio::ip::tcp;

/// The 2.6 asyncore example, line for line: connect, write the request, print what comes back.
class dispatcher_client : public asynchat::dispatcher
{
public:
    dispatcher_client(asio::io_context& io, tcp::endpoint const& server, std::string const& path)
        : dispatcher(io.get_executor()), buffer_("GET " + path + " HTTP/1.0\r\n\r\n")
    {
        create_socket(server.protocol());
        connect(server);
    }

    /// Everything received (the example printed it as it came).
    std::string response;

protected:
    void handle_connect() override {}
    void handle_close() override { close(); }
    void handle_read() override { response += recv(8192); }
    bool writable() override { return !buffer_.empty(); }
    void handle_write() override
    {
        std::size_t const sent = send(buffer_);
        buffer_.erase(0, sent);
    }

private:
    std::string buffer_;
};

/// The same client with async_chat: the head up to "\r\n\r\n", then the body with None.
class chat_client : public asynchat::async_chat
{
public:
    chat_client(asio::io_context& io, std::string path)
        : asynchat::async_chat(io.get_executor()), path_(std::move(path))
    {
        set_terminator("\r\n\r\n");
    }

    std::string head;
    std::string body;
    bool done = false;

protected:
    void handle_connect() override { push("GET " + path_ + " HTTP/1.0\r\n\r\n"); }
    void collect_incoming_data(std::string_view data) override { _collect_incoming_data(data); }
    void found_terminator() override
    {
        head = _get_data();
        set_terminator(std::nullopt); // the body runs to EOF
    }
    void handle_close() override
    {
        // Collected after the head (or everything, if the head never ended).
        (head.empty() ? head : body) = _get_data();
        done = true;
        close();
    }

private:
    std::string path_;
};

} // namespace http_client

#endif
