// asynchat: drives example/smtp_server over loopback: sessions in plaintext and upgraded with
// STARTTLS (Asio's ssl::stream over the same socket), the pipelined injection refused, and
// clients nobody here wrote (openssl s_client -starttls smtp, Python's smtplib) when installed
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "smtp_server/smtp_server.hpp"

#define BOOST_TEST_MODULE example_smtp_server
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/external_program.hpp"
#include "support/loopback.hpp"
#include "support/tls_certs.hpp"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asynchat::test;
using namespace std::chrono_literals;

namespace {

/** The client's end of a session: commands out, replies in, over the plain socket and, after
    starttls(), over TLS on the same socket (Asio's `ssl::stream<tcp::socket&>`). Every wait
    runs the io_context, which the server shares, with a deadline.
*/
class smtp_client
{
public:
    smtp_client(asio::io_context& io, tcp::endpoint const& server) : io_(io), socket_(io)
    {
        socket_.connect(server);
    }

    /// Send `text` as it is: several commands in one write make a pipeline.
    void send(std::string const& text)
    {
        std::optional<error_code> r;
        auto done = [&](error_code ec, std::size_t) { r = ec; };
        if (tls_)
            asio::async_write(*tls_, asio::buffer(text), done);
        else
            asio::async_write(socket_, asio::buffer(text), done);
        BOOST_TEST_REQUIRE(run_until(io_, [&] { return r.has_value(); }));
        BOOST_TEST_REQUIRE(!*r, r->message());
    }

    /// The next reply: its lines (up to one whose code is followed by a space), joined by
    /// "\n", without the CRLFs.
    std::string reply()
    {
        std::string lines;
        for (;;)
        {
            std::string const l = line();
            lines += (lines.empty() ? "" : "\n") + l;
            if (l.size() < 4 || l[3] != '-')
                return lines;
        }
    }

    /// Send `command` and a CRLF, and return the reply.
    std::string ask(std::string const& command)
    {
        send(command + "\r\n");
        return reply();
    }

    /// Shake hands as a client over the same socket, verifying the server as "localhost"
    /// when `ctx` verifies. Nothing may be left unread from the plaintext part.
    void starttls(ssl::context& ctx)
    {
        BOOST_TEST_REQUIRE(buffer_.empty(), "plaintext after the 220: " << buffer_);
        tls_.emplace(socket_, ctx);
        BOOST_TEST_REQUIRE(SSL_set_tlsext_host_name(tls_->native_handle(), "localhost") == 1);
        tls_->set_verify_callback(ssl::host_name_verification("localhost"));
        std::optional<error_code> r;
        tls_->async_handshake(ssl::stream_base::client, [&](error_code ec) { r = ec; });
        BOOST_TEST_REQUIRE(run_until(io_, [&] { return r.has_value(); }));
        BOOST_TEST_REQUIRE(!*r, r->message());
    }

    /// Read until the server ends the stream: what was left, and how it ended (`eof` after a
    /// TLS close_notify or a plain FIN).
    std::pair<std::string, error_code> rest()
    {
        while (!end_)
            read_some();
        return {std::exchange(buffer_, std::string()), *end_};
    }

private:
    std::string line()
    {
        for (;;)
        {
            auto const end = buffer_.find("\r\n");
            if (end != std::string::npos)
            {
                std::string l = buffer_.substr(0, end);
                buffer_.erase(0, end + 2);
                return l;
            }
            // (The message is built even when the check passes.)
            BOOST_TEST_REQUIRE(
                !end_, "the server ended the stream: " << (end_ ? end_->message() : "")
            );
            read_some();
        }
    }

    void read_some()
    {
        char buf[4096];
        std::optional<error_code> r;
        std::size_t got = 0;
        auto done = [&](error_code ec, std::size_t n)
        {
            r = ec;
            got = n;
        };
        if (tls_)
            tls_->async_read_some(asio::buffer(buf), done);
        else
            socket_.async_read_some(asio::buffer(buf), done);
        BOOST_TEST_REQUIRE(run_until(io_, [&] { return r.has_value(); }));
        buffer_.append(buf, got);
        if (*r)
            end_ = *r;
    }

    asio::io_context& io_;
    tcp::socket socket_;
    std::optional<ssl::stream<tcp::socket&>> tls_;
    std::string buffer_;
    std::optional<error_code> end_;
};

// The example's server in this process, with the run's certificates: what it delivered and
// the errors it reported, kept.
struct smtp_fixture
{
    ssl::context server_ctx = server_context(shared_tls_certs());
    ssl::context client_ctx = client_context(shared_tls_certs(), true);
    asio::io_context io;
    std::vector<smtp::message> mail;
    std::vector<std::string> errors;
    std::shared_ptr<smtp::server> server;

    smtp_fixture()
    {
        smtp::settings s;
        s.host = "mail.test";
        s.on_mail = [this](smtp::message const& m) { mail.push_back(m); };
        s.on_error = [this](std::string const& e) { errors.push_back(e); };
        server = std::make_shared<smtp::server>(
            io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), server_ctx, std::move(s)
        );
        server->start();
    }
    ~smtp_fixture()
    {
        asynchat::close_all(io);
        run_until(
            io, [&] { return asynchat::channel_count(io) == 0; }, 5s
        );
    }

    std::string port() const { return std::to_string(server->local_endpoint().port()); }

    // True once every session has ended (only the listener is left).
    bool sessions_ended()
    {
        return run_until(io, [&] { return asynchat::channel_count(io) == 1; });
    }
};

std::string const ehlo_before_tls =
    "250-mail.test\n250-SIZE 1048576\n250-8BITMIME\n250-PIPELINING\n250 STARTTLS";
std::string const ehlo_under_tls = "250-mail.test\n250-SIZE 1048576\n250-8BITMIME\n250 PIPELINING";

// Python's smtplib, as a mail program uses it: EHLO, STARTTLS with a context that trusts the
// run's CA (the certificate names 127.0.0.1), EHLO again, sendmail, QUIT.
constexpr char const* python_client = R"(
import smtplib, ssl, sys
cafile, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(cafile=cafile)
s = smtplib.SMTP('127.0.0.1', port, timeout=20)
print('ehlo', s.ehlo()[0], s.has_extn('starttls'), flush=True)
print('starttls', s.starttls(context=ctx)[0], s.sock.version(), flush=True)
print('ehlo', s.ehlo()[0], s.has_extn('starttls'), flush=True)
print('refused', s.sendmail('alice@example.com', ['bob@example.com', 'carol@example.com'],
      'Subject: from smtplib\r\n\r\n.a line that starts with a dot\r\nbye\r\n'), flush=True)
print('quit', s.quit()[0], flush=True)
)";

} // namespace

BOOST_AUTO_TEST_SUITE(parsing)

BOOST_AUTO_TEST_CASE(parses_paths_and_parameters_as_smtpd_accepts_them)
{
    auto const p = smtp::parse_path("from:<a@example.com> SIZE=10  BODY=8BITMIME", "FROM:", true);
    BOOST_TEST_REQUIRE(p.has_value());
    BOOST_TEST(p->address == "a@example.com");
    BOOST_TEST(p->params == (std::vector<std::string>{"SIZE=10", "BODY=8BITMIME"}));
    BOOST_TEST(smtp::parse_path("TO: <b@example.com>", "TO:", false)->address == "b@example.com");
    BOOST_TEST(smtp::parse_path("TO:b@example.com", "TO:", false)->address == "b@example.com");
    BOOST_TEST(smtp::parse_path("FROM:<>", "FROM:", true)->address.empty());
    for (char const* bad :
         {"FROM:<>",
          "TO:",
          "<a@example.com>",
          "FROM:<a@example.com",
          "FROM:<a b@c>",
          "FROM:<a@example.com>x",
          "FRM:<a@example.com>"})
        BOOST_TEST(!smtp::parse_path(bad, "FROM:", false).has_value(), bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(plaintext)

BOOST_AUTO_TEST_CASE(a_full_session_delivers_a_dot_stuffed_message)
{
    // Setup
    smtp_fixture f;
    smtp_client c(f.io, f.server->local_endpoint());
    BOOST_TEST(c.reply() == "220 mail.test ESMTP");

    // Event: a session as RFC 5321 D.1 has it; the text's leading dots are doubled.
    BOOST_TEST(c.ask("EHLO client.test") == ehlo_before_tls);
    BOOST_TEST(c.ask("MAIL FROM:<alice@example.com>") == "250 OK");
    BOOST_TEST(c.ask("RCPT TO:<bob@example.com>") == "250 OK");
    BOOST_TEST(c.ask("RCPT TO:<carol@example.com>") == "250 OK");
    BOOST_TEST(c.ask("DATA") == "354 End data with <CR><LF>.<CR><LF>");
    c.send("Subject: plain\r\n\r\n..one dot\r\n...\r\nlast\r\n");
    BOOST_TEST(c.ask(".") == "250 OK");
    BOOST_TEST(c.ask("QUIT") == "221 Bye");

    // Check: delivered, unstuffed, and the session ended.
    auto const [rest, end] = c.rest();
    BOOST_TEST(rest.empty());
    BOOST_TEST(end == asio::error::eof, end.message());
    BOOST_TEST_REQUIRE(f.mail.size() == 1u);
    BOOST_TEST(f.mail[0].helo == "client.test");
    BOOST_TEST(f.mail[0].mail_from == "alice@example.com");
    BOOST_TEST(
        f.mail[0].rcpt_to == (std::vector<std::string>{"bob@example.com", "carol@example.com"})
    );
    BOOST_TEST(f.mail[0].data == "Subject: plain\n\n.one dot\n..\nlast\n");
    BOOST_TEST(!f.mail[0].tls);
    BOOST_TEST(f.sessions_ended());
    BOOST_TEST(f.errors.empty());
}

BOOST_AUTO_TEST_CASE(pipelined_commands_are_answered_in_order)
{
    // Setup
    smtp_fixture f;
    smtp_client c(f.io, f.server->local_endpoint());
    BOOST_TEST(c.reply() == "220 mail.test ESMTP");
    BOOST_TEST(c.ask("EHLO client.test") == ehlo_before_tls);

    // Event: the transaction in one write (RFC 2920), a bad recipient among them, then the
    // text, its end and QUIT in another.
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<>\r\nDATA\r\n");
    for (char const* expected :
         {"250 OK",
          "250 OK",
          "501 Syntax: RCPT TO:<address>",
          "354 End data with <CR><LF>.<CR><LF>"})
        BOOST_TEST(c.reply() == expected);
    c.send("pipelined\r\n.\r\nQUIT\r\n");

    // Check
    BOOST_TEST(c.reply() == "250 OK");
    BOOST_TEST(c.reply() == "221 Bye");
    BOOST_TEST_REQUIRE(f.mail.size() == 1u);
    BOOST_TEST(f.mail[0].data == "pipelined\n");
}

BOOST_AUTO_TEST_CASE(commands_out_of_order_unknown_or_too_long_are_refused_and_the_session_goes_on)
{
    // Setup
    smtp_fixture f;
    smtp_client c(f.io, f.server->local_endpoint());
    BOOST_TEST(c.reply() == "220 mail.test ESMTP");

    // Event and check: each command and its reply, in order.
    std::vector<std::pair<std::string, std::string>> const dialogue{
        {"MAIL FROM:<a@example.com>", "503 Error: send HELO first"},
        {"EHLO", "501 Syntax: EHLO hostname"},
        {"HELO client.test", "250 mail.test"},
        {"MAIL FROM:<a@example.com> SIZE=10", "501 Syntax: MAIL FROM:<address>"},
        {"RCPT TO:<b@example.com>", "503 Error: need MAIL command"},
        {"MAIL FROM:<a@example.com>", "250 OK"},
        {"DATA", "503 Error: need RCPT command"},
        {"MAIL FROM:<a@example.com>", "503 Error: nested MAIL command"},
        {"FROB", "500 Error: command \"FROB\" not recognized"},
        {"", "500 Error: bad syntax"},
        {"NOOP " + std::string(600, 'x'), "500 Error: line too long"},
        {"RSET now", "501 Syntax: RSET"},
        {"RSET", "250 OK"},
        {"RCPT TO:<b@example.com>", "503 Error: need MAIL command"},
        {"noop", "250 OK"},
        {"EHLO again.test", ehlo_before_tls}, // RFC 5321 4.1.4: a reset, not smtpd's 503
        {"MAIL FROM:<a@example.com> SIZE=2000000",
         "552 Error: message size exceeds fixed maximum message size"},
        {"MAIL FROM:<a@example.com> FROB=1",
         "555 MAIL FROM parameters not recognized or not implemented"},
        {"STARTTLS now", "501 Syntax: STARTTLS"}};
    for (auto const& [command, expected] : dialogue)
        BOOST_TEST(c.ask(command) == expected, command.substr(0, 40));
    BOOST_TEST(f.mail.empty());
}

BOOST_AUTO_TEST_CASE(an_empty_message_is_delivered_and_a_too_big_one_refused)
{
    // Setup
    smtp_fixture f;
    smtp_client c(f.io, f.server->local_endpoint());
    BOOST_TEST(c.reply() == "220 mail.test ESMTP");
    BOOST_TEST(c.ask("EHLO client.test") == ehlo_before_tls);

    // Event: "." right after DATA (which smtpd's "\r\n.\r\n" terminator would miss), from the
    // null reverse path.
    BOOST_TEST(c.ask("MAIL FROM:<>") == "250 OK");
    BOOST_TEST(c.ask("RCPT TO:<postmaster>") == "250 OK");
    BOOST_TEST(c.ask("DATA") == "354 End data with <CR><LF>.<CR><LF>");
    BOOST_TEST(c.ask(".") == "250 OK");

    // Event: more text than SIZE announced, in lines of 1000 bytes.
    BOOST_TEST(c.ask("MAIL FROM:<a@example.com>") == "250 OK");
    BOOST_TEST(c.ask("RCPT TO:<b@example.com>") == "250 OK");
    BOOST_TEST(c.ask("DATA") == "354 End data with <CR><LF>.<CR><LF>");
    std::string const line(998, 'm');
    for (int i = 0; i < 1100; ++i)
        c.send(line + "\r\n");
    BOOST_TEST(c.ask(".") == "552 Error: Too much mail data");

    // Check: the empty message came; the big one did not, and the session goes on.
    BOOST_TEST(c.ask("NOOP") == "250 OK");
    BOOST_TEST_REQUIRE(f.mail.size() == 1u);
    BOOST_TEST(f.mail[0].mail_from.empty());
    BOOST_TEST(f.mail[0].rcpt_to == (std::vector<std::string>{"postmaster"}));
    BOOST_TEST(f.mail[0].data.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(starttls)

BOOST_AUTO_TEST_CASE(upgrades_in_place_resets_the_session_and_delivers_under_tls)
{
    // Setup
    smtp_fixture f;
    smtp_client c(f.io, f.server->local_endpoint());
    BOOST_TEST(c.reply() == "220 mail.test ESMTP");
    BOOST_TEST(c.ask("EHLO client.test") == ehlo_before_tls);
    BOOST_TEST(c.ask("MAIL FROM:<before@example.com>") == "250 OK");

    // Event: the upgrade; the client verifies the server as localhost.
    BOOST_TEST(c.ask("STARTTLS") == "220 Ready to start TLS");
    c.starttls(f.client_ctx);

    // Check: RFC 3207 4.2: the EHLO and the sender given before are forgotten, STARTTLS is no
    // longer offered nor accepted.
    BOOST_TEST(c.ask("MAIL FROM:<a@example.com>") == "503 Error: send HELO first");
    BOOST_TEST(c.ask("EHLO client.test") == ehlo_under_tls);
    BOOST_TEST(c.ask("STARTTLS") == "503 Error: TLS already active");

    // Event: a transaction under TLS, pipelined, then QUIT.
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
    BOOST_TEST(c.reply() == "250 OK");
    BOOST_TEST(c.reply() == "250 OK");
    BOOST_TEST(c.reply() == "354 End data with <CR><LF>.<CR><LF>");
    c.send("Subject: secret\r\n\r\n..hidden\r\n.\r\n");
    BOOST_TEST(c.reply() == "250 OK");
    BOOST_TEST(c.ask("QUIT") == "221 Bye");

    // Check: the session ends with a close_notify (eof, not stream_truncated).
    auto const [rest, end] = c.rest();
    BOOST_TEST(rest.empty());
    BOOST_TEST(end == asio::error::eof, end.message());
    BOOST_TEST_REQUIRE(f.mail.size() == 1u);
    BOOST_TEST(f.mail[0].mail_from == "a@example.com");
    BOOST_TEST(f.mail[0].data == "Subject: secret\n\n.hidden\n");
    BOOST_TEST(f.mail[0].tls);
    BOOST_TEST(f.sessions_ended());
    BOOST_TEST(f.errors.empty());
}

BOOST_AUTO_TEST_CASE(a_command_pipelined_after_starttls_is_refused_and_never_answered)
{
    // Setup
    smtp_fixture f;
    smtp_client c(f.io, f.server->local_endpoint());
    BOOST_TEST(c.reply() == "220 mail.test ESMTP");
    BOOST_TEST(c.ask("EHLO client.test") == ehlo_before_tls);

    // Event: the injection (Postfix's CVE-2011-0411): a command after STARTTLS in the same
    // plaintext segment, which a man in the middle can add before the handshake.
    c.send("STARTTLS\r\nRSET\r\n");

    // Check: the connection closes; RSET is never answered (no "250").
    auto const [rest, end] = c.rest();
    BOOST_TEST(rest.find("250") == std::string::npos, rest);
    BOOST_TEST(end != error_code(), end.message());
    BOOST_TEST(f.sessions_ended());
    BOOST_TEST_REQUIRE(f.errors.size() == 1u);
    BOOST_TEST(
        f.errors[0].find("plaintext received after the STARTTLS command") != std::string::npos,
        f.errors[0]
    );
    BOOST_TEST(f.mail.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(outside_clients)

BOOST_AUTO_TEST_CASE(openssl_s_client_starttls_smtp)
{
    if (!program_available("openssl"))
    {
        BOOST_TEST_MESSAGE("openssl not found: skipped");
        return;
    }
    // Setup: s_client says EHLO and STARTTLS itself, then verifies the server with the CA.
    smtp_fixture f;
    tls_cert_files files(shared_tls_certs());
    external_program client(
        f.io,
        {"openssl",
         "s_client",
         "-starttls",
         "smtp",
         "-connect",
         "127.0.0.1:" + f.port(),
         "-quiet",
         "-CAfile",
         files.ca_file().string(),
         "-verify_return_error"}
    );

    // Event: what the README's user types, under TLS.
    BOOST_TEST_REQUIRE(client.send("EHLO x\r\n"));
    BOOST_TEST_REQUIRE(client.wait_for("250 PIPELINING\r\n"), client.output());
    BOOST_TEST_REQUIRE(client.send("QUIT\r\n"));

    // Check: the 250 lines of the EHLO under TLS (no STARTTLS among them), then 221 and a
    // clean end.
    BOOST_TEST(client.wait_exit().value_or(-1) == 0, client.output());
    std::string const& out = client.output();
    std::string const expected =
        "250-mail.test\r\n250-SIZE 1048576\r\n250-8BITMIME\r\n250 PIPELINING\r\n221 Bye\r\n";
    BOOST_TEST(out.find(expected) != std::string::npos, out);
    BOOST_TEST(out.find("verify return:1") != std::string::npos, out);
    BOOST_TEST(f.sessions_ended());
    BOOST_TEST(f.errors.empty());
}

BOOST_AUTO_TEST_CASE(python_smtplib_upgrades_verifies_and_sends_mail)
{
    if (!program_available("python3"))
    {
        BOOST_TEST_MESSAGE("python3 not found: skipped");
        return;
    }
    // Setup
    smtp_fixture f;
    tls_cert_files files(shared_tls_certs());

    // Event: the script runs to its end; the server runs meanwhile.
    external_program client(
        f.io, {"python3", "-c", python_client, files.ca_file().string(), f.port()}
    );
    auto const status = client.wait_exit();

    // Check: STARTTLS offered, then not; everyone accepted (refused {}); the mail came under
    // TLS, unstuffed.
    BOOST_TEST(status.value_or(-1) == 0, client.output());
    BOOST_TEST(
        client.output() ==
        "ehlo 250 True\nstarttls 220 TLSv1.3\nehlo 250 False\nrefused {}\nquit 221\n"
    );
    BOOST_TEST_REQUIRE(f.mail.size() == 1u);
    BOOST_TEST(f.mail[0].mail_from == "alice@example.com");
    BOOST_TEST(
        f.mail[0].rcpt_to == (std::vector<std::string>{"bob@example.com", "carol@example.com"})
    );
    BOOST_TEST(f.mail[0].data == "Subject: from smtplib\n\n.a line that starts with a dot\nbye\n");
    BOOST_TEST(f.mail[0].tls);
    BOOST_TEST(f.sessions_ended());
    BOOST_TEST(f.errors.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(the_program)

BOOST_AUTO_TEST_CASE(prints_the_openssl_command_and_the_mail_it_receives)
{
    // Setup: the program with the run's certificate as files.
    tls_cert_files files(shared_tls_certs());
    asio::io_context io;
    external_program server(
        io,
        {ASYNCHAT_SMTP_SERVER_PROGRAM,
         "--host",
         "mail.test",
         "--cert",
         files.cert_file().string(),
         "--key",
         files.key_file().string()}
    );
    BOOST_TEST_REQUIRE(server.wait_for("Ctrl-C stops it.\n"), server.output());
    std::string const out = server.output();
    BOOST_TEST_REQUIRE(out.rfind("listening on 127.0.0.1:", 0) == 0u, out);
    std::string const port = out.substr(23, out.find('\n') - 23);
    BOOST_TEST(
        out.find("try:  openssl s_client -starttls smtp -connect 127.0.0.1:" + port) !=
            std::string::npos,
        out
    );
    BOOST_TEST(
        out.find("STARTTLS with certificate " + files.cert_file().string()) != std::string::npos
    );
    tcp::endpoint const ep(
        asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoul(port))
    );

    // Event: a session upgraded and verified against the CA of the files.
    ssl::context verifying = client_context(shared_tls_certs(), true);
    {
        smtp_client c(io, ep);
        BOOST_TEST(c.reply() == "220 mail.test ESMTP");
        BOOST_TEST(c.ask("EHLO client.test") == ehlo_before_tls);
        BOOST_TEST(c.ask("STARTTLS") == "220 Ready to start TLS");
        c.starttls(verifying);
        BOOST_TEST(c.ask("EHLO client.test") == ehlo_under_tls);
        c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        BOOST_TEST(c.reply() == "250 OK");
        BOOST_TEST(c.reply() == "250 OK");
        BOOST_TEST(c.reply() == "354 End data with <CR><LF>.<CR><LF>");
        c.send("Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
        BOOST_TEST(c.reply() == "250 OK");
        BOOST_TEST(c.reply() == "221 Bye");
    }

    // Check: the program printed it.
    BOOST_TEST_REQUIRE(server.wait_for("---------- end of mail\n"), server.output());
    std::string const& printed = server.output();
    auto const from =
        printed.find("---------- mail from <a@example.com> to <b@example.com> (127.0.0.1:");
    BOOST_TEST_REQUIRE(from != std::string::npos, printed);
    BOOST_TEST(
        printed.substr(printed.find(", EHLO", from)) ==
        ", EHLO client.test, TLS)\n| Subject: hi\n| \n| .dot\n---------- end of mail\n"
    );

    // Event: the injection; the program says why it closed that session.
    {
        smtp_client c(io, ep);
        BOOST_TEST(c.reply() == "220 mail.test ESMTP");
        c.send("EHLO x\r\nSTARTTLS\r\nRSET\r\n");
        BOOST_TEST(c.rest().first.find("250 OK") == std::string::npos);
    }
    BOOST_TEST(server.wait_for("plaintext received after the STARTTLS command"), server.output());

    // SIGTERM: it closes everything and exits with 0.
    server.signal(SIGTERM);
    BOOST_TEST(server.wait_exit().value_or(-1) == 0, server.output());
}

BOOST_AUTO_TEST_CASE(makes_a_certificate_up_without_files)
{
    // Setup
    asio::io_context io;
    external_program server(io, {ASYNCHAT_SMTP_SERVER_PROGRAM, "--host", "mail.test"});
    BOOST_TEST_REQUIRE(server.wait_for("Ctrl-C stops it.\n"), server.output());
    std::string const out = server.output();
    BOOST_TEST(
        out.find("STARTTLS with a certificate for localhost made at startup") != std::string::npos,
        out
    );
    tcp::endpoint const ep(
        asio::ip::make_address("127.0.0.1"),
        static_cast<unsigned short>(std::stoul(out.substr(23, out.find('\n') - 23)))
    );

    // Event and check: the upgrade works for a client that does not verify.
    ssl::context unverified = client_context(shared_tls_certs(), false);
    smtp_client c(io, ep);
    BOOST_TEST(c.reply() == "220 mail.test ESMTP");
    BOOST_TEST(c.ask("STARTTLS") == "220 Ready to start TLS");
    c.starttls(unverified);
    BOOST_TEST(c.ask("EHLO client.test") == ehlo_under_tls);
    BOOST_TEST(c.ask("QUIT") == "221 Bye");
    server.signal(SIGTERM);
    BOOST_TEST(server.wait_exit().value_or(-1) == 0, server.output());
}

BOOST_AUTO_TEST_SUITE_END()
