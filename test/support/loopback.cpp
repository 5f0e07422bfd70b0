// asynchat: test fixtures
// SPDX-License-Identifier: BSL-1.0
#include "support/loopback.hpp"

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <filesystem>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace asynchat::test {

bool run_until(
    asio::io_context& io,
    std::function<bool()> const& done,
    std::chrono::steady_clock::duration timeout
)
{
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (!done())
    {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        if (io.stopped())
            io.restart();
        io.run_for(5ms);
    }
    return true;
}

bool run_to_completion(asio::io_context& io, std::chrono::steady_clock::duration timeout)
{
    if (io.stopped())
        io.restart();
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
    {
        io.run_for(5ms);
        if (io.stopped())
            return true;
    }
    return false;
}

std::string exchange_once(
    asio::ip::tcp::endpoint const& server,
    std::string const& request,
    std::chrono::steady_clock::duration timeout
)
{
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    std::string answer;
    std::string failure;
    bool done = false;
    std::array<char, 4096> buffer;
    std::function<void()> read_more = [&]
    {
        s.async_read_some(
            asio::buffer(buffer),
            [&](boost::system::error_code ec, std::size_t n)
            {
                answer.append(buffer.data(), n);
                if (ec == asio::error::eof)
                    done = true;
                else if (ec)
                    failure = "read: " + ec.message();
                else
                    read_more();
            }
        );
    };
    s.async_connect(
        server,
        [&](boost::system::error_code ec)
        {
            if (ec)
            {
                failure = "connect: " + ec.message();
                return;
            }
            asio::async_write(
                s,
                asio::buffer(request),
                [&](boost::system::error_code ec, std::size_t)
                {
                    if (ec)
                    {
                        failure = "write: " + ec.message();
                        return;
                    }
                    s.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
                    read_more();
                }
            );
        }
    );
    if (!run_until(
            io, [&] { return done || !failure.empty(); }, timeout
        ))
        return "error: no EOF within the deadline (read so far: \"" + answer + "\")";
    return failure.empty() ? answer : "error: " + failure;
}

std::string what(std::exception_ptr const& error)
{
    try
    {
        std::rethrow_exception(error);
    }
    catch (std::exception const& e)
    {
        return e.what();
    }
    catch (...)
    {
        return "unknown exception";
    }
}

loopback_tcp::listener::listener(asio::io_context& io)
    : acceptor(io, {asio::ip::make_address_v4("127.0.0.1"), 0})
{
}

std::pair<loopback_tcp::socket, loopback_tcp::socket> loopback_tcp::pair(asio::io_context& io)
{
    listener l(io);
    socket client(io);
    client.connect(l.endpoint());
    socket server = l.acceptor.accept();
    return {std::move(client), std::move(server)};
}

namespace {

std::string fresh_socket_path()
{
    static std::atomic<unsigned> counter{0};
    auto const path =
        std::filesystem::temp_directory_path() /
        ("asynchat-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock");
    std::filesystem::remove(path);
    return path.string();
}

} // namespace

loopback_local::listener::listener(asio::io_context& io)
    : path(fresh_socket_path()), acceptor(io, protocol::endpoint(path))
{
}

loopback_local::listener::~listener()
{
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
}

std::pair<loopback_local::socket, loopback_local::socket> loopback_local::pair(asio::io_context& io)
{
    socket a(io);
    socket b(io);
    asio::local::connect_pair(a, b);
    return {std::move(a), std::move(b)};
}

std::string read_to_eof(asio::ip::tcp::socket& s)
{
    timeval tv{10, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return read_all(s);
}

} // namespace asynchat::test
