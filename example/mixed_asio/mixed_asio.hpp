// asynchat: example: an async_chat server inside an ordinary Asio application
// SPDX-License-Identifier: BSL-1.0
//
// One io_context on two threads runs, side by side: a dispatcher + async_chat "upper-case"
// server, a steady_timer heartbeat, and a client written as a plain Asio stackless coroutine.
#ifndef ASYNCHAT_EXAMPLE_MIXED_ASIO_HPP
#define ASYNCHAT_EXAMPLE_MIXED_ASIO_HPP

#include <asynchat.hpp>

#include <boost/asio/coroutine.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mixed {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Answers each line with the line in upper case.
class upper_chat : public asynchat::async_chat
{
public:
    explicit upper_chat(tcp::socket s) : asynchat::async_chat(std::move(s))
    {
        set_terminator("\n");
    }

protected:
    void collect_incoming_data(std::string_view d) override { _collect_incoming_data(d); }
    void found_terminator() override
    {
        std::string line = _get_data();
        for (char& c : line)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        push(line + "\n");
    }
};

class server : public asynchat::dispatcher
{
public:
    explicit server(asio::io_context& io) : dispatcher(asio::make_strand(io))
    {
        create_socket();
        bind({asio::ip::make_address("127.0.0.1"), 0});
        listen(16);
    }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        std::make_shared<upper_chat>(std::move(sock))->start();
    }
};

/// What a run produced.
struct result
{
    std::vector<std::string> answers;
    int heartbeats = 0;
};

// The client: connect, then for each line write it and read the answer. A stackless coroutine:
// each `yield` starts an operation whose completion re-enters operator().
class client : asio::coroutine
{
public:
    struct state
    {
        explicit state(asio::io_context& io) : socket(asio::make_strand(io)) {}
        tcp::socket socket;
        std::vector<std::string> lines;
        std::vector<std::string> answers;
        std::string buffer;
        std::size_t next = 0;
        std::function<void()> on_done;
    };

    explicit client(std::shared_ptr<state> s) : s_(std::move(s)) {}

#include <boost/asio/yield.hpp>
    void operator()(boost::system::error_code ec = {}, std::size_t n = 0)
    {
        reenter(this)
        {
            yield s_->socket.async_connect(endpoint_, *this);
            while (!ec && s_->next < s_->lines.size())
            {
                yield asio::async_write(s_->socket, asio::buffer(s_->lines[s_->next]), *this);
                if (ec)
                    break;
                yield asio::async_read_until(
                    s_->socket, asio::dynamic_buffer(s_->buffer), '\n', *this
                );
                if (ec)
                    break;
                s_->answers.push_back(s_->buffer.substr(0, n - 1));
                s_->buffer.erase(0, n);
                ++s_->next;
            }
            s_->socket.close(ec);
            s_->on_done();
        }
    }
#include <boost/asio/unyield.hpp>

    tcp::endpoint endpoint_;

private:
    std::shared_ptr<state> s_;
};

/// Run everything on `threads` threads until the client has sent `lines` lines.
inline result run(int threads, int lines)
{
    asio::io_context io(threads);
    auto srv = std::make_shared<server>(io);
    srv->start();

    // The heartbeat: an ordinary timer on its own strand, ticking every millisecond. Once the
    // client is done (and the heart has beaten at least three times), it stops the program:
    // close_all() closes the server and its channels, and run() returns when nothing is left.
    result out;
    std::atomic<bool> client_done{false};
    auto heartbeat_strand = asio::make_strand(io);
    asio::steady_timer heartbeat(heartbeat_strand);
    std::function<void()> beat = [&]
    {
        heartbeat.expires_after(std::chrono::milliseconds(1));
        heartbeat.async_wait(
            [&](boost::system::error_code ec)
            {
                if (ec)
                    return;
                if (++out.heartbeats >= 3 && client_done)
                    return asynchat::close_all(io);
                beat();
            }
        );
    };
    asio::post(heartbeat_strand, beat);

    // The client.
    auto st = std::make_shared<client::state>(io);
    for (int i = 0; i < lines; ++i)
        st->lines.push_back("line " + std::to_string(i) + "\n");
    st->on_done = [&] { client_done = true; };
    client c(st);
    c.endpoint_ = srv->local_endpoint();
    asio::post(st->socket.get_executor(), c);

    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i)
        pool.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : pool)
        t.join();
    out.answers = std::move(st->answers);
    return out;
}

} // namespace mixed

#endif
