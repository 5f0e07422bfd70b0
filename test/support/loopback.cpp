// asynchat: test fixtures
// SPDX-License-Identifier: BSL-1.0
#include "support/loopback.hpp"

#include <boost/asio/write.hpp>

#include <array>

namespace asynchat::test {

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

} // namespace asynchat::test
