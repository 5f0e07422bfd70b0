// asynchat: example: an SMTP server (a subset of RFC 5321, as CPython's smtpd) with STARTTLS
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_SMTP_SERVER_HPP
#define ASYNCHAT_EXAMPLE_SMTP_SERVER_HPP

#include <asynchat.hpp>
#include <asynchat/tls.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtp {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

/// The longest command line kept, without its CRLF (smtpd's command_size_limit).
inline constexpr std::size_t max_command = 512;

/// The largest message accepted, as announced by the SIZE extension.
inline constexpr std::size_t max_data = 1 << 20;

/// The most recipients of one message (RFC 5321 4.5.3.1.8: at least 100).
inline constexpr std::size_t max_recipients = 100;

/// A message the server accepted.
struct message
{
    std::string peer;                 ///< The client's address and port.
    std::string helo;                 ///< The name the client gave in EHLO or HELO.
    std::string mail_from;            ///< The reverse path (empty for `MAIL FROM:<>`).
    std::vector<std::string> rcpt_to; ///< The recipients, in order.
    std::string data;                 ///< The text, dot-unstuffed, each line ending in "\n".
    bool tls = false;                 ///< Whether it came under TLS (after STARTTLS).
};

/** What the server does with what happens: given to every session. The callbacks run on the
    session's executor (a strand per session): run the io_context on one thread, or make them
    thread-safe.
*/
struct settings
{
    /// The name in the greeting and the EHLO reply.
    std::string host = "localhost";
    /// Called with each message accepted, before the client is told "250 OK".
    std::function<void(message const&)> on_mail;
    /// Called with the reason a session failed (a refused or failed STARTTLS, a reset).
    std::function<void(std::string const&)> on_error;
};

/// A MAIL FROM or RCPT TO argument: the path and the parameters after it.
struct path_argument
{
    std::string address;             ///< Inside the angle brackets.
    std::vector<std::string> params; ///< "SIZE=1000", "BODY=8BITMIME", as sent.
};

/** Parse the argument of MAIL (`keyword` "FROM:") or RCPT ("TO:"): the keyword in any case,
    then `<address>` (or a bare address, as smtpd takes), then parameters separated by spaces.

    @return nullopt if the keyword or the address is missing, or the address is empty (`<>`)
    and `allow_empty` is false.
*/
inline std::optional<path_argument>
parse_path(std::string_view arg, std::string_view keyword, bool allow_empty)
{
    auto const upper = [](unsigned char c) { return static_cast<char>(std::toupper(c)); };
    if (arg.size() < keyword.size() ||
        !std::equal(
            keyword.begin(),
            keyword.end(),
            arg.begin(),
            [&](char k, char a) { return k == upper(static_cast<unsigned char>(a)); }
        ))
        return std::nullopt;
    arg.remove_prefix(keyword.size());
    while (!arg.empty() && arg.front() == ' ')
        arg.remove_prefix(1);
    path_argument p;
    std::size_t end;
    if (!arg.empty() && arg.front() == '<')
    {
        end = arg.find('>');
        if (end == std::string_view::npos)
            return std::nullopt;
        p.address = arg.substr(1, end - 1);
        ++end;
    }
    else
    {
        end = std::min(arg.find(' '), arg.size());
        p.address = arg.substr(0, end);
        if (p.address.empty())
            return std::nullopt;
    }
    if (p.address.find_first_of(" <>") != std::string::npos || (p.address.empty() && !allow_empty))
        return std::nullopt;
    arg.remove_prefix(end);
    if (!arg.empty() && arg.front() != ' ')
        return std::nullopt;
    while (!arg.empty())
    {
        while (!arg.empty() && arg.front() == ' ')
            arg.remove_prefix(1);
        std::size_t const space = std::min(arg.find(' '), arg.size());
        if (space != 0)
            p.params.emplace_back(arg.substr(0, space));
        arg.remove_prefix(space);
    }
    return p;
}

/** One SMTP session, CPython's smtpd.SMTPChannel in C++, plus STARTTLS (RFC 3207).

    Commands: EHLO, HELO, MAIL FROM, RCPT TO, DATA (ended by a line "."; a leading dot is
    removed from the other lines), RSET, NOOP, QUIT and, before TLS only, STARTTLS. Every command
    is a line ending in CRLF; PIPELINING comes free, since the channel answers each line as
    found_terminator() gets it, in order. STARTTLS pushes `220 Ready to start TLS` and calls
    start_tls(): the reply goes out in plaintext, the handshake follows, and the session starts
    afresh (RFC 3207 4.2: the client must say EHLO again). A client that pipelines commands
    after STARTTLS in the same plaintext segment is refused (the connection closes unanswered).
*/
class session : public asynchat::starttls_chat
{
public:
    /** A session on an accepted connection; `ctx` (the server's certificate) must outlive it.
        The greeting is queued at once and sent by start().
    */
    session(asynchat::starttls_stream stream, ssl::context& ctx, std::shared_ptr<settings const> s)
        : asynchat::starttls_chat(std::move(stream)), ctx_(ctx), settings_(std::move(s))
    {
        auto const ep = addr();
        peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
        set_terminator("\r\n");
        // RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for a command.
        set_idle_timeout(std::chrono::minutes(5));
        reply("220 " + settings_->host + " ESMTP");
    }

protected:
    // smtpd's defence: keep at most the limit of the current line (a command, or a line of
    // text), drop the rest and remember that it was too long.
    void collect_incoming_data(std::string_view data) override
    {
        std::size_t const limit = in_data_ ? max_data : max_command;
        std::size_t const room = limit - std::min(limit, line_.size());
        line_.append(data.substr(0, room));
        if (data.size() > room)
            too_long_ = true;
    }

    void found_terminator() override
    {
        std::string const line = std::exchange(line_, std::string());
        bool const too_long = std::exchange(too_long_, false);
        if (in_data_)
            return data_line(line, too_long);
        if (too_long)
            return reply("500 Error: line too long");
        command(line);
    }

    void handle_timeout() override
    {
        reply("421 " + settings_->host + " Error: timeout exceeded");
        close_when_done();
    }

    void handle_error(std::exception_ptr error) override
    {
        if (settings_->on_error)
        {
            std::string what = "unknown error";
            try
            {
                std::rethrow_exception(error);
            }
            catch (std::exception const& e)
            {
                what = e.what();
            }
            catch (...)
            {
            }
            settings_->on_error(peer_ + ": " + what);
        }
        close();
    }

private:
    void reply(std::string const& line) { push(line + "\r\n"); }

    void command(std::string const& line)
    {
        if (line.empty())
            return reply("500 Error: bad syntax");
        std::size_t const space = line.find(' ');
        std::string verb = line.substr(0, space);
        std::transform(
            verb.begin(),
            verb.end(),
            verb.begin(),
            [](unsigned char c) { return static_cast<char>(std::toupper(c)); }
        );
        std::string arg = space == std::string::npos ? std::string() : line.substr(space + 1);
        arg.erase(0, arg.find_first_not_of(' '));
        arg.erase(arg.find_last_not_of(' ') + 1);
        if (verb == "EHLO" || verb == "HELO")
            return greeting(arg, verb == "EHLO");
        if (verb == "MAIL")
            return mail(arg);
        if (verb == "RCPT")
            return rcpt(arg);
        if (verb == "DATA")
            return data(arg);
        if (verb == "RSET")
        {
            if (!arg.empty())
                return reply("501 Syntax: RSET");
            reset_transaction();
            return reply("250 OK");
        }
        if (verb == "NOOP") // RFC 5321 4.1.1.9: an argument is ignored
            return reply("250 OK");
        if (verb == "QUIT")
        {
            reply("221 Bye");
            return close_when_done();
        }
        if (verb == "STARTTLS")
            return starttls(arg);
        reply("500 Error: command \"" + verb + "\" not recognized");
    }

    // EHLO or HELO. smtpd answers a second one "503 Duplicate HELO/EHLO"; RFC 5321 4.1.4 says
    // it resets the transaction as RSET does, which is what this does.
    void greeting(std::string const& name, bool extended)
    {
        if (name.empty())
            return reply(extended ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname");
        reset_transaction();
        helo_ = name;
        extended_ = extended;
        if (!extended)
            return reply("250 " + settings_->host);
        std::vector<std::string> lines{
            settings_->host, "SIZE " + std::to_string(max_data), "8BITMIME", "PIPELINING"};
        // RFC 3207 4.2: not offered again once the session is under TLS.
        if (!stream().is_tls())
            lines.emplace_back("STARTTLS");
        for (std::size_t i = 0; i < lines.size(); ++i)
            reply((i + 1 < lines.size() ? "250-" : "250 ") + lines[i]);
    }

    void mail(std::string const& arg)
    {
        if (helo_.empty())
            return reply("503 Error: send HELO first");
        if (mail_from_)
            return reply("503 Error: nested MAIL command");
        auto const path = parse_path(arg, "FROM:", true);
        if (!path || (!extended_ && !path->params.empty()))
            return reply("501 Syntax: MAIL FROM:<address>");
        for (std::string param : path->params)
        {
            std::transform(
                param.begin(),
                param.end(),
                param.begin(),
                [](unsigned char c) { return static_cast<char>(std::toupper(c)); }
            );
            if (param.rfind("SIZE=", 0) == 0)
            {
                std::string const size = param.substr(5);
                if (size.empty() || size.size() > 12 ||
                    size.find_first_not_of("0123456789") != std::string::npos)
                    return reply("501 Syntax: MAIL FROM:<address> [SIZE=<size>]");
                if (std::stoull(size) > max_data)
                    return reply("552 Error: message size exceeds fixed maximum message size");
            }
            else if (param != "BODY=7BIT" && param != "BODY=8BITMIME")
                return reply("555 MAIL FROM parameters not recognized or not implemented");
        }
        mail_from_ = path->address;
        reply("250 OK");
    }

    void rcpt(std::string const& arg)
    {
        if (helo_.empty())
            return reply("503 Error: send HELO first");
        if (!mail_from_)
            return reply("503 Error: need MAIL command");
        auto const path = parse_path(arg, "TO:", false);
        if (!path)
            return reply("501 Syntax: RCPT TO:<address>");
        if (!path->params.empty())
            return reply("555 RCPT TO parameters not recognized or not implemented");
        if (rcpt_to_.size() == max_recipients)
            return reply("452 Error: too many recipients");
        rcpt_to_.push_back(path->address);
        reply("250 OK");
    }

    // The text comes line by line, each line one found_terminator(), up to a line ".".
    // (smtpd sets the terminator "\r\n.\r\n" instead, and so never sees the end of an empty
    // message, whose "." comes right after the DATA line.)
    void data(std::string const& arg)
    {
        if (helo_.empty())
            return reply("503 Error: send HELO first");
        if (rcpt_to_.empty())
            return reply("503 Error: need RCPT command");
        if (!arg.empty())
            return reply("501 Syntax: DATA");
        in_data_ = true;
        data_.clear();
        data_too_big_ = false;
        reply("354 End data with <CR><LF>.<CR><LF>");
    }

    void data_line(std::string_view line, bool too_long)
    {
        if (line == "." && !too_long)
            return end_of_data();
        if (!line.empty() && line.front() == '.') // RFC 5321 4.5.2: dot-unstuffing
            line.remove_prefix(1);
        if (too_long || data_.size() + line.size() + 1 > max_data)
            data_too_big_ = true;
        if (!data_too_big_)
            data_.append(line).append("\n");
    }

    void end_of_data()
    {
        in_data_ = false;
        if (data_too_big_)
        {
            reset_transaction();
            return reply("552 Error: Too much mail data");
        }
        message m;
        m.peer = peer_;
        m.helo = helo_;
        m.mail_from = *mail_from_;
        m.rcpt_to = std::move(rcpt_to_);
        m.data = std::move(data_);
        m.tls = stream().is_tls();
        reset_transaction();
        if (settings_->on_mail)
            settings_->on_mail(m);
        reply("250 OK");
    }

    void starttls(std::string const& arg)
    {
        if (!arg.empty())
            return reply("501 Syntax: STARTTLS");
        if (stream().is_tls())
            return reply("503 Error: TLS already active");
        reply("220 Ready to start TLS"); // queued before start_tls(): sent in plaintext
        start_tls(ctx_, ssl::stream_base::server);
        // RFC 3207 4.2: forget what the client said before TLS; it must say EHLO again.
        helo_.clear();
        extended_ = false;
        reset_transaction();
    }

    // RSET: forget the sender, the recipients and the text; keep the EHLO.
    void reset_transaction()
    {
        mail_from_.reset();
        rcpt_to_.clear();
        data_.clear();
        data_too_big_ = false;
    }

    ssl::context& ctx_;
    std::shared_ptr<settings const> settings_;
    std::string peer_;
    std::string line_;      // the line being received
    bool too_long_ = false; // line_ lost bytes past the limit
    std::string helo_;      // the EHLO or HELO name; empty before one
    bool extended_ = false; // EHLO rather than HELO
    std::optional<std::string> mail_from_;
    std::vector<std::string> rcpt_to_;
    bool in_data_ = false; // between DATA's 354 and the line "."
    std::string data_;
    bool data_too_big_ = false;
};

/// The listening dispatcher: one session per connection, each on a strand of its own.
class server : public asynchat::dispatcher
{
public:
    /// Listen on `ep`; `ctx` must outlive the server and every session.
    server(asio::io_context& io, tcp::endpoint const& ep, ssl::context& ctx, settings s)
        : dispatcher(asio::make_strand(io)), ctx_(ctx),
          settings_(std::make_shared<settings const>(std::move(s)))
    {
        create_socket(ep.protocol());
        set_reuse_addr();
        bind(ep);
        listen(128);
    }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        std::make_shared<session>(asynchat::starttls_stream(std::move(sock)), ctx_, settings_)
            ->start();
    }

private:
    ssl::context& ctx_;
    std::shared_ptr<settings const> settings_;
};

} // namespace smtp

#endif
