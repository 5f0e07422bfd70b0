// asynchat: tests of channels over TLS (tls_chat) and of STARTTLS (starttls_chat), over real
// loopback sockets with throw-away certificates, against Asio's own ssl::stream as the peer
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/tls.hpp>

#define BOOST_TEST_MODULE tls
#include <asynchat/producers.hpp>
#include <asynchat/testing/manual_clock.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback.hpp"
#include "support/tls_certs.hpp"

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asynchat::test;
using namespace std::chrono_literals;

namespace {

// A line channel over any stream: records lines, hooks and errors; answers "echo: <line>".
template <class Stream, class Timer = asio::steady_timer>
class recorder : public asynchat::basic_async_chat<Stream, Timer>
{
    using base = asynchat::basic_async_chat<Stream, Timer>;

public:
    explicit recorder(Stream s) : base(std::move(s)) { this->set_terminator("\r\n"); }

    std::vector<std::string> lines;
    std::vector<std::string> events;
    std::vector<error_code> errors;
    std::string error_text;
    bool echo = true;

    using base::close;
    using base::push;

protected:
    void collect_incoming_data(std::string_view d) override { this->_collect_incoming_data(d); }
    void found_terminator() override
    {
        lines.push_back(this->_get_data());
        if (echo)
            push("echo: " + lines.back() + "\r\n");
    }
    void handle_connect() override { events.push_back("connect"); }
    void handle_read_eof() override
    {
        events.push_back("read_eof");
        base::handle_read_eof();
    }
    void handle_close() override
    {
        events.push_back("close");
        base::handle_close();
    }
    void handle_timeout() override
    {
        events.push_back("timeout");
        base::handle_timeout();
    }
    void handle_error(std::exception_ptr e) override
    {
        events.push_back("error");
        try
        {
            std::rethrow_exception(e);
        }
        catch (boost::system::system_error const& x)
        {
            errors.push_back(x.code());
            error_text = x.what();
        }
        catch (std::exception const& x)
        {
            error_text = x.what();
        }
        base::handle_error(e);
    }
};

using tls_recorder = recorder<asynchat::tls_stream>;

// "a, b, c": for messages.
std::string joined(std::vector<std::string> const& v)
{
    std::string out;
    for (auto const& e : v)
        out += (out.empty() ? "" : ", ") + e;
    return out;
}

// Contexts made once: the certificates of the whole run.
struct contexts
{
    ssl::context server = server_context(shared_tls_certs());
    ssl::context client = client_context(shared_tls_certs(), true);
};

// The peer: Asio's ssl::stream on the other end of a loopback TCP pair.
struct tls_peer
{
    explicit tls_peer(tcp::socket s, ssl::context& ctx) : stream(std::move(s), ctx) {}

    ssl::stream<tcp::socket> stream;

    // Run the client's handshake, driving `io` (the channel's) until it ends.
    error_code handshake(asio::io_context& io)
    {
        std::optional<error_code> result;
        stream.async_handshake(ssl::stream_base::client, [&](error_code ec) { result = ec; });
        BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
        return *result;
    }

    void write(asio::io_context& io, std::string const& data)
    {
        std::optional<error_code> result;
        asio::async_write(
            stream, asio::buffer(data), [&](error_code ec, std::size_t) { result = ec; }
        );
        BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
        BOOST_TEST_REQUIRE(!*result);
    }

    // Read exactly `n` bytes.
    std::string read(asio::io_context& io, std::size_t n)
    {
        std::string data(n, '\0');
        std::optional<error_code> result;
        asio::async_read(
            stream, asio::buffer(data), [&](error_code ec, std::size_t) { result = ec; }
        );
        BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
        BOOST_TEST_REQUIRE(!*result, result->message());
        return data;
    }

    // Read until an error; returns what was read and the error that ended it.
    std::pair<std::string, error_code> read_to_end(asio::io_context& io)
    {
        std::string data;
        std::optional<error_code> result;
        char buf[4096];
        std::function<void()> next = [&]
        {
            stream.async_read_some(
                asio::buffer(buf),
                [&](error_code ec, std::size_t n)
                {
                    data.append(buf, n);
                    if (ec)
                        result = ec;
                    else
                        next();
                }
            );
        };
        next();
        BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
        return {data, *result};
    }
};

// A started TLS server channel and a handshaken peer.
struct tls_session : contexts
{
    asio::io_context io;
    std::shared_ptr<tls_recorder> channel;
    std::unique_ptr<tls_peer> peer;

    tls_session()
    {
        auto [client, server] = loopback_tcp::pair(io);
        channel =
            std::make_shared<tls_recorder>(asynchat::tls_stream(std::move(server), this->server));
        peer = std::make_unique<tls_peer>(std::move(client), this->client);
        peer->stream.set_verify_callback(ssl::host_name_verification("localhost"));
        channel->start();
        auto const ec = peer->handshake(io);
        BOOST_TEST_REQUIRE(!ec, ec.message());
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(a_server_channel_handshakes_in_start_then_frames_as_cpython)
{
    tls_session s;

    // Lines split across TLS records, two in one record, and a numeric terminator after.
    s.peer->write(s.io, "HEL");
    s.peer->write(s.io, "O\r");
    s.peer->write(s.io, "\nsecond\r\nthird\r\n");
    std::string const expected = "echo: HELO\r\necho: second\r\necho: third\r\n";
    BOOST_TEST(s.peer->read(s.io, expected.size()) == expected);
    BOOST_TEST(s.channel->lines == (std::vector<std::string>{"HELO", "second", "third"}));
    BOOST_TEST(s.channel->events.empty());
}

BOOST_AUTO_TEST_CASE(close_when_done_sends_a_close_notify_before_the_tcp_close)
{
    tls_session s;
    s.channel->push("bye\r\n");
    s.channel->close_when_done();

    // Check: the peer reads the data, then a clean end (eof), not a truncation.
    auto const [data, ec] = s.peer->read_to_end(s.io);
    BOOST_TEST(data == "bye\r\n");
    BOOST_TEST(ec == asio::error::eof, ec.message());
    BOOST_TEST((s.channel->events == std::vector<std::string>{"close"}), joined(s.channel->events));
}

BOOST_AUTO_TEST_CASE(a_peer_close_notify_reaches_handle_read_eof_then_handle_close)
{
    tls_session s;
    s.peer->write(s.io, "last\r\n");
    std::optional<error_code> shut;
    s.peer->stream.async_shutdown([&](error_code ec) { shut = ec; });

    // Check: the line, then handle_read_eof() and (the default) handle_close(), no error; the
    // channel answers the peer's close_notify with its own, so the peer's shutdown completes.
    BOOST_TEST_REQUIRE(run_until(s.io, [&] { return shut.has_value(); }));
    BOOST_TEST(s.channel->lines == (std::vector<std::string>{"last"}));
    BOOST_TEST(
        (s.channel->events == std::vector<std::string>{"read_eof", "close"}),
        joined(s.channel->events)
    );
    BOOST_TEST(!s.channel->connected());
}

BOOST_AUTO_TEST_CASE(a_truncated_stream_is_handle_error_with_stream_truncated)
{
    // (The peer reads what it was sent, TLS 1.3's session tickets included: closing a socket
    // with unread input sends a reset, which is handle_close().)
    tls_session s;
    s.peer->write(s.io, "partial\r\n");
    BOOST_TEST(s.peer->read(s.io, 15) == "echo: partial\r\n");
    s.peer->stream.lowest_layer().close(); // TCP close without a close_notify

    BOOST_TEST_REQUIRE(run_until(s.io, [&] { return !s.channel->connected(); }));
    BOOST_TEST(
        (s.channel->events == std::vector<std::string>{"error", "close"}), joined(s.channel->events)
    );
    BOOST_TEST_REQUIRE(s.channel->errors.size() == 1u);
    BOOST_TEST((s.channel->errors[0] == ssl::error::stream_truncated));
}

BOOST_AUTO_TEST_CASE(a_failed_handshake_goes_to_handle_error_with_openssl_s_reason)
{
    // Setup: a peer that speaks HTTP in plaintext to the TLS server.
    contexts c;
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto channel =
        std::make_shared<tls_recorder>(asynchat::tls_stream(std::move(server), c.server));
    channel->start();
    asio::write(client, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));

    // Check: handle_error() with OpenSSL's reason, then closed; nothing delivered.
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !channel->connected(); }));
    BOOST_TEST(
        (channel->events == std::vector<std::string>{"error", "close"}), joined(channel->events)
    );
    BOOST_TEST_REQUIRE(channel->errors.size() == 1u);
    BOOST_TEST((channel->errors[0].category() == asio::error::get_ssl_category()));
    BOOST_TEST(channel->error_text.find("TLS handshake") != std::string::npos, channel->error_text);
    BOOST_TEST(channel->error_text.find("http request") != std::string::npos, channel->error_text);
    BOOST_TEST(channel->lines.empty());
}

BOOST_AUTO_TEST_CASE(the_idle_timeout_covers_a_handshake_that_never_comes)
{
    // Setup: a channel on the manual clock; the peer connects and sends nothing.
    contexts c;
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    using timed = recorder<asynchat::tls_stream, asynchat::testing::manual_timer>;
    auto channel = std::make_shared<timed>(asynchat::tls_stream(std::move(server), c.server));
    channel->set_idle_timeout(30s);
    channel->start();
    asynchat::testing::settle(io);

    // Check: nothing before 30 s; at 30 s handle_timeout() and the default close().
    asynchat::testing::manual_clock::advance(30s - 1ms);
    asynchat::testing::settle(io);
    BOOST_TEST(channel->connected());
    asynchat::testing::manual_clock::advance(1ms);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !channel->connected(); }));
    BOOST_TEST((channel->events == std::vector<std::string>{"timeout"}), joined(channel->events));
}

BOOST_AUTO_TEST_CASE(a_client_channel_connects_verifies_the_server_then_handle_connect)
{
    // Setup: a listener whose accepted sockets get TLS echo channels.
    contexts c;
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::vector<std::shared_ptr<tls_recorder>> servers;
    std::function<void()> accept = [&]
    {
        acceptor.async_accept(
            [&](error_code ec, tcp::socket s)
            {
                if (ec)
                    return;
                servers.push_back(
                    std::make_shared<tls_recorder>(asynchat::tls_stream(std::move(s), c.server))
                );
                servers.back()->start();
                accept();
            }
        );
    };
    accept();

    // Check: verified against "localhost": connected, greeting pushed before connect() sent.
    auto good = std::make_shared<tls_recorder>(asynchat::tls_stream(io, c.client));
    good->echo = false;
    asynchat::set_server_name(good->stream(), "localhost");
    good->push("pushed before connect\r\n");
    good->connect(acceptor.local_endpoint());
    BOOST_TEST_REQUIRE(run_until(io, [&] { return good->lines.size() == 1; }));
    BOOST_TEST((good->events == std::vector<std::string>{"connect"}), joined(good->events));
    BOOST_TEST(good->lines[0] == "echo: pushed before connect");

    // Check: the wrong name fails the handshake, reported as a connect failure.
    auto wrong = std::make_shared<tls_recorder>(asynchat::tls_stream(io, c.client));
    asynchat::set_server_name(wrong->stream(), "example.com");
    auto done = wrong->async_connect(acceptor.local_endpoint(), asio::use_future);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return done.wait_for(0s) == std::future_status::ready; })
    );
    try
    {
        done.get();
        BOOST_FAIL("the handshake should have failed");
    }
    catch (boost::system::system_error const& e)
    {
        BOOST_TEST((e.code().category() == asio::error::get_ssl_category()));
        BOOST_TEST(
            std::string(e.what()).find("certificate verify failed") != std::string::npos, e.what()
        );
    }
    BOOST_TEST(!wrong->connected());
    BOOST_TEST(wrong->events.empty()); // the handler was told, not handle_error()
    good->close();
    acceptor.close();
    BOOST_TEST(run_to_completion(io));
}

BOOST_AUTO_TEST_CASE(producers_max_message_size_and_pushes_from_another_thread_hold_over_tls)
{
    tls_session s;

    // A producer, and 2,000 pushes from another thread, in order.
    std::vector<std::string> lines{"p1", "p2"}; // lines_producer ends each with \r\n
    s.channel->push_with_producer(std::make_unique<asynchat::lines_producer>(lines));
    std::thread pusher(
        [&]
        {
            for (int i = 0; i < 2000; ++i)
                s.channel->push(std::to_string(i) + "\r\n");
        }
    );
    std::string expected = "p1\r\np2\r\n";
    for (int i = 0; i < 2000; ++i)
        expected += std::to_string(i) + "\r\n";
    std::string const got = s.peer->read(s.io, expected.size());
    pusher.join();
    BOOST_TEST(got == expected);

    // max_message_size: a line past the limit is an error, never delivered.
    s.channel->set_max_message_size(16);
    s.peer->write(s.io, std::string(100, 'x'));
    BOOST_TEST_REQUIRE(run_until(s.io, [&] { return !s.channel->connected(); }));
    BOOST_TEST_REQUIRE(s.channel->errors.size() == 1u);
    BOOST_TEST((s.channel->errors[0] == asynchat::error::message_too_long));
    BOOST_TEST(s.channel->lines.empty());
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------
// STARTTLS.

namespace {

// An SMTP-like server: "STARTTLS" upgrades; every other command is answered "250 <cmd> <plain
// or tls>".
class smtp_like : public recorder<asynchat::starttls_stream>
{
public:
    smtp_like(asynchat::starttls_stream s, ssl::context& ctx, asynchat::pipelined_input p)
        : recorder(std::move(s)), ctx_(ctx), pipelined_(p)
    {
        echo = false;
    }

protected:
    void found_terminator() override
    {
        lines.push_back(_get_data());
        if (lines.back() == "STARTTLS")
        {
            push("220 ready\r\n");
            start_tls(ctx_, ssl::stream_base::server, pipelined_);
            push("250 pushed after start_tls\r\n");
            return;
        }
        push("250 " + lines.back() + (stream().is_tls() ? " tls" : " plain") + "\r\n");
    }

private:
    ssl::context& ctx_;
    asynchat::pipelined_input pipelined_;
};

// What the SMTP-like server sends once upgraded, in answer to NOOP.
std::string const after_upgrade = "250 pushed after start_tls\r\n250 NOOP tls\r\n";

struct starttls_session : contexts
{
    asio::io_context io;
    tcp::socket plain{io};
    std::shared_ptr<smtp_like> channel;

    explicit starttls_session(asynchat::pipelined_input p = asynchat::pipelined_input::refuse)
    {
        auto [client, server] = loopback_tcp::pair(io);
        plain = std::move(client);
        channel = std::make_shared<smtp_like>(
            asynchat::starttls_stream(std::move(server)), this->server, p
        );
        channel->start();
    }

    // The peer upgrades its own socket in place (verifying "localhost"), sends `command` under
    // TLS and reads `n` bytes of replies.
    std::string upgrade_and_send(std::string const& command, std::size_t n)
    {
        ssl::stream<tcp::socket&> tls(plain, client);
        tls.set_verify_callback(ssl::host_name_verification("localhost"));
        std::optional<error_code> hs;
        tls.async_handshake(ssl::stream_base::client, [&](error_code ec) { hs = ec; });
        BOOST_TEST_REQUIRE(run_until(io, [&] { return hs.has_value(); }));
        BOOST_TEST_REQUIRE(!*hs, hs->message());
        asio::write(tls, asio::buffer(command));
        std::string got(n, '\0');
        std::optional<error_code> rd;
        asio::async_read(tls, asio::buffer(got), [&](error_code ec, std::size_t) { rd = ec; });
        BOOST_TEST_REQUIRE(run_until(io, [&] { return rd.has_value(); }));
        BOOST_TEST_REQUIRE(!*rd, rd->message());
        return got;
    }

    // Read exactly `n` plaintext bytes.
    std::string read_plain(std::size_t n)
    {
        std::string data(n, '\0');
        std::optional<error_code> result;
        asio::async_read(
            plain, asio::buffer(data), [&](error_code ec, std::size_t) { result = ec; }
        );
        BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
        BOOST_TEST_REQUIRE(!*result, result->message());
        return data;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(starttls)

BOOST_AUTO_TEST_CASE(the_reply_goes_out_in_plaintext_and_what_follows_under_tls_in_order)
{
    starttls_session s;
    asio::write(s.plain, asio::buffer(std::string("EHLO x\r\nSTARTTLS\r\n")));
    std::string const replies = "250 EHLO x plain\r\n220 ready\r\n";
    BOOST_TEST(s.read_plain(replies.size()) == replies);

    // Check: what was pushed after start_tls() comes encrypted, first; then commands under TLS.
    BOOST_TEST(s.upgrade_and_send("NOOP\r\n", after_upgrade.size()) == after_upgrade);
    BOOST_TEST(s.channel->lines == (std::vector<std::string>{"EHLO x", "STARTTLS", "NOOP"}));
    BOOST_TEST(s.channel->events.empty());
}

BOOST_AUTO_TEST_CASE(plaintext_pipelined_after_starttls_is_refused_by_default)
{
    // The injection: the command and one more, in one plaintext segment.
    starttls_session s;
    asio::write(s.plain, asio::buffer(std::string("STARTTLS\r\nRSET\r\n")));

    // Check: the upgrade fails with the library's error, the channel closes, RSET is never seen
    // (and "250 pushed after start_tls" never sent).
    BOOST_TEST_REQUIRE(run_until(s.io, [&] { return !s.channel->connected(); }));
    BOOST_TEST(s.channel->lines == (std::vector<std::string>{"STARTTLS"}));
    BOOST_TEST_REQUIRE(s.channel->errors.size() == 1u);
    BOOST_TEST((s.channel->errors[0] == asynchat::error::plaintext_after_starttls));
    BOOST_TEST(
        s.channel->error_text.find("plaintext received after the STARTTLS command") !=
            std::string::npos,
        s.channel->error_text
    );
    BOOST_TEST(
        (s.channel->events == std::vector<std::string>{"error", "close"}), joined(s.channel->events)
    );
    BOOST_TEST(!s.channel->stream().is_tls());

    // Check: the reply queued before start_tls() went out, then the end; nothing after it.
    BOOST_TEST(read_to_eof(s.plain, 5s) == "220 ready\r\n");
}

BOOST_AUTO_TEST_CASE(the_discard_option_drops_the_pipelined_plaintext_and_upgrades)
{
    starttls_session s(asynchat::pipelined_input::discard);
    asio::write(s.plain, asio::buffer(std::string("STARTTLS\r\nRSET\r\n")));
    BOOST_TEST(s.read_plain(11) == "220 ready\r\n");

    BOOST_TEST(s.upgrade_and_send("NOOP\r\n", after_upgrade.size()) == after_upgrade);
    BOOST_TEST(s.channel->lines == (std::vector<std::string>{"STARTTLS", "NOOP"}));
}

BOOST_AUTO_TEST_CASE(plaintext_sent_after_the_command_in_another_segment_fails_the_handshake)
{
    // The same injection, the second command in its own segment: it reaches the TLS engine as
    // garbage, never the handler.
    starttls_session s;
    asio::write(s.plain, asio::buffer(std::string("STARTTLS\r\n")));
    BOOST_TEST(s.read_plain(11) == "220 ready\r\n");
    asio::write(s.plain, asio::buffer(std::string("RSET\r\n")));

    BOOST_TEST_REQUIRE(run_until(s.io, [&] { return !s.channel->connected(); }));
    BOOST_TEST(s.channel->lines == (std::vector<std::string>{"STARTTLS"}));
    BOOST_TEST(
        (s.channel->events == std::vector<std::string>{"error", "close"}), joined(s.channel->events)
    );
    BOOST_TEST(
        s.channel->error_text.find("start_tls: TLS handshake") != std::string::npos,
        s.channel->error_text
    );
}

BOOST_AUTO_TEST_CASE(start_tls_outside_input_delivery_is_a_clear_error)
{
    starttls_session s;
    ssl::context& ctx = s.server;
    BOOST_CHECK_EXCEPTION(
        s.channel->start_tls(ctx, ssl::stream_base::server),
        std::logic_error,
        [](std::logic_error const& e) {
            return std::string(e.what()).find("call it from found_terminator()") !=
                   std::string::npos;
        }
    );
}

BOOST_AUTO_TEST_CASE(a_client_channel_upgrades_after_the_server_s_reply)
{
    // Setup: the SMTP-like server above, on a listener; a client that sends STARTTLS once
    // connected, upgrades on "220", then sends NOOP under TLS.
    contexts c;
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::shared_ptr<smtp_like> server;
    acceptor.async_accept(
        [&](error_code ec, tcp::socket sock)
        {
            BOOST_TEST_REQUIRE(!ec);
            server = std::make_shared<smtp_like>(
                asynchat::starttls_stream(std::move(sock)),
                c.server,
                asynchat::pipelined_input::refuse
            );
            server->start();
        }
    );

    class client : public recorder<asynchat::starttls_stream>
    {
    public:
        client(asio::io_context& io, ssl::context& ctx)
            : recorder(asynchat::starttls_stream(io)), ctx_(ctx)
        {
            echo = false;
            stream().set_server_name("localhost");
        }

    protected:
        void handle_connect() override
        {
            recorder::handle_connect();
            push("STARTTLS\r\n");
        }
        void found_terminator() override
        {
            lines.push_back(_get_data());
            if (lines.back() == "220 ready")
            {
                start_tls(ctx_, ssl::stream_base::client);
                push("NOOP\r\n");
            }
        }

    private:
        ssl::context& ctx_;
    };
    auto cl = std::make_shared<client>(io, c.client);
    cl->connect(acceptor.local_endpoint());

    BOOST_TEST_REQUIRE(run_until(io, [&] { return cl->lines.size() == 3; }));
    BOOST_TEST(
        cl->lines ==
        (std::vector<std::string>{"220 ready", "250 pushed after start_tls", "250 NOOP tls"})
    );
    BOOST_TEST(cl->stream().is_tls());
    BOOST_TEST((cl->events == std::vector<std::string>{"connect"}), joined(cl->events));
    cl->close_when_done();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return !server->connected(); }));
    BOOST_TEST(
        (server->events == std::vector<std::string>{"read_eof", "close"}), joined(server->events)
    );
}

BOOST_AUTO_TEST_SUITE_END()
