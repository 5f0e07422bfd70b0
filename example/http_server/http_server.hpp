// asynchat: example: the seed's http_request_handler, ported (headers, then a POST body)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_HTTP_SERVER_HPP
#define ASYNCHAT_EXAMPLE_HTTP_SERVER_HPP

#include <asynchat.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <fcntl.h>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace http {

namespace asio = boost::asio;
using asio::ip::tcp;

/// The largest body the server accepts.
inline constexpr std::size_t max_body = 1 << 20;

/// The largest request head (request line and headers) the server accepts.
inline constexpr std::size_t max_head = 64 << 10;

/// A parsed request head, and its body once read.
struct request
{
    std::string method;
    std::string target;
    std::string version;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// The value of header `name` (case-insensitive), if present.
    std::optional<std::string> header(std::string_view name) const
    {
        for (auto const& [key, value] : headers)
            if (std::equal(
                    key.begin(),
                    key.end(),
                    name.begin(),
                    name.end(),
                    [](char a, char b)
                    {
                        return std::tolower(static_cast<unsigned char>(a)) ==
                               std::tolower(static_cast<unsigned char>(b));
                    }
                ))
                return value;
        return std::nullopt;
    }
};

/** Parse a request head: the request line and header lines, without the blank line.

    @throws std::invalid_argument naming what is wrong.
*/
inline request parse_head(std::string_view head)
{
    auto next_line = [&head]
    {
        std::size_t const end = head.find("\r\n");
        std::string_view line = head.substr(0, end);
        head.remove_prefix(end == std::string_view::npos ? head.size() : end + 2);
        return line;
    };
    request r;
    std::string_view line = next_line();
    std::size_t const sp1 = line.find(' ');
    std::size_t const sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        throw std::invalid_argument("malformed request line");
    r.method = line.substr(0, sp1);
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    r.version = line.substr(sp2 + 1);
    if (r.method.empty() || r.target.empty() || r.version.rfind("HTTP/", 0) != 0)
        throw std::invalid_argument("malformed request line");
    while (!head.empty())
    {
        line = next_line();
        std::size_t const colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            throw std::invalid_argument("malformed header line");
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
            value.remove_suffix(1);
        r.headers.emplace_back(line.substr(0, colon), value);
    }
    return r;
}

/** The body length announced by `r`; 0 without a Content-Length header.

    @throws std::invalid_argument if the value is not a number or exceeds max_body.
*/
inline std::size_t content_length(request const& r)
{
    auto const value = r.header("Content-Length");
    if (!value)
        return 0;
    if (value->empty() || value->size() > 9 ||
        !std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw std::invalid_argument("bad Content-Length");
    std::size_t const n = std::stoul(*value);
    if (n > max_body)
        throw std::invalid_argument("Content-Length too large");
    return n;
}

/// The response to `r` (GET /, POST anywhere), as bytes to send.
inline std::string respond(request const& r)
{
    auto make = [](std::string_view status, std::string const& body)
    {
        return "HTTP/1.0 " + std::string(status) +
               "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\nConnection: close\r\n\r\n" + body;
    };
    if (r.method == "GET")
        return r.target == "/" ? make("200 OK", "hello from asynchat\n")
                               : make("404 Not Found", "no such page: " + r.target + "\n");
    if (r.method == "POST")
        return make(
            "200 OK", "received " + std::to_string(r.body.size()) + " bytes: " + r.body + "\n"
        );
    return make("405 Method Not Allowed", "GET or POST only\n");
}

/// An open file: its descriptor (closed on destruction) and its size.
struct open_file
{
    int fd = -1;
    std::size_t size = 0;

    open_file() = default;
    open_file(open_file&& o) noexcept : fd(std::exchange(o.fd, -1)), size(o.size) {}
    open_file& operator=(open_file&&) = delete;
    ~open_file()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

/** Open the file `GET /files/NAME` asks for under `root`: NAME is one file name (no '/', not
    starting with '.'), of a regular file that is not a symbolic link (O_NOFOLLOW: a link must
    not lead out of `root`). Its size is the opened file's, so that Content-Length and the bytes
    sent agree. nullopt when there is no such file to serve.
*/
inline std::optional<open_file> file_to_serve(std::string const& root, std::string_view target)
{
    constexpr std::string_view prefix = "/files/";
    if (root.empty() || target.substr(0, prefix.size()) != prefix)
        return std::nullopt;
    std::string_view const name = target.substr(prefix.size());
    if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos)
        return std::nullopt;
    std::string const path = root + "/" + std::string(name);
    open_file f;
    f.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (f.fd < 0 || ::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return std::nullopt;
    f.size = static_cast<std::size_t>(st.st_size);
    return f;
}

/** One connection: asynchat's http_request_handler, over a stream: `tcp::socket` (HTTP,
    request_handler), or `asynchat::tls_stream` (HTTPS, https_server.hpp).

    @tparam Stream The channel's stream; the handler is the same over any.
*/
template <class Stream>
class basic_request_handler : public asynchat::basic_async_chat<Stream>
{
    using base = asynchat::basic_async_chat<Stream>;

public:
    /// `root`: the directory `GET /files/NAME` serves from (empty: none).
    explicit basic_request_handler(Stream stream, std::string root = {})
        : base(std::move(stream)), root_(std::move(root))
    {
        this->set_terminator("\r\n\r\n");
        // Defences CPython's handler lacks: a head of at most 64 KiB (the body's limit is
        // max_body), and no connection idle for more than 30 s.
        this->set_max_message_size(max_head);
        this->set_idle_timeout(std::chrono::seconds(30));
    }

protected:
    void collect_incoming_data(std::string_view data) override
    {
        if (!handling_)
            this->_collect_incoming_data(data);
    }

    void found_terminator() override
    {
        try
        {
            if (reading_headers_)
            {
                reading_headers_ = false;
                request_ = parse_head(this->_get_data());
                std::size_t const length = content_length(request_);
                if (request_.method == "POST" && length != 0)
                {
                    this->set_max_message_size(length);
                    return this->set_terminator(length); // the body comes next
                }
                handle_request();
            }
            else if (!handling_)
            {
                request_.body = this->_get_data();
                handle_request();
            }
        }
        catch (std::invalid_argument const& e)
        {
            handling_ = true;
            this->set_terminator(std::nullopt);
            this->set_max_message_size(std::numeric_limits<std::size_t>::max());
            std::string const body = std::string("bad request: ") + e.what() + "\n";
            this->push(
                "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body
            );
            this->close_when_done();
        }
    }

private:
    void handle_request()
    {
        handling_ = true;
        this->set_terminator(std::nullopt); // browsers sometimes over-send: ignored, without limit
        this->set_max_message_size(std::numeric_limits<std::size_t>::max());
        if (request_.method == "GET")
            if (auto file = file_to_serve(root_, request_.target))
                return serve_file(*file);
        this->push(respond(request_));
        this->close_when_done();
    }

    // Medusa's way: the head, then the file as producers. HTTP/1.1 clients get it in chunks
    // (chunked_producer over file_producer); HTTP/1.0 clients, who know no chunks, get a
    // Content-Length and the bare file_producer, which a TCP channel sends with sendfile(2)
    // (over TLS, which must encrypt it, the channel reads it in pieces instead).
    void serve_file(open_file const& f)
    {
        auto file = std::make_unique<asynchat::file_producer>(f.fd); // a duplicate of f.fd
        if (request_.version == "HTTP/1.0")
        {
            this->push(
                "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                std::to_string(f.size) + "\r\nConnection: close\r\n\r\n"
            );
            this->push_with_producer(std::move(file));
        }
        else
        {
            this->push("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
            this->push_with_producer(std::make_unique<asynchat::chunked_producer>(std::move(file)));
        }
        this->close_when_done();
    }

    std::string root_;
    bool reading_headers_ = true;
    bool handling_ = false;
    request request_;
};

/// One plain HTTP connection.
using request_handler = basic_request_handler<tcp::socket>;

/// The listening dispatcher: one request_handler per connection.
class server : public asynchat::dispatcher
{
public:
    /// `root`: the directory `GET /files/NAME` serves from (empty: none).
    server(asio::io_context& io, tcp::endpoint const& ep, std::string root = {})
        : dispatcher(asio::make_strand(io)), root_(std::move(root))
    {
        create_socket(ep.protocol());
        set_reuse_addr();
        bind(ep);
        listen(128);
    }

    /// The directory `GET /files/NAME` serves from (empty: none).
    std::string const& root() const { return root_; }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        std::make_shared<request_handler>(std::move(sock), root_)->start();
    }

private:
    std::string root_;
};

} // namespace http

#endif
