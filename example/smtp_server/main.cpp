// asynchat: example: an SMTP server with STARTTLS on 127.0.0.1 that prints the mail it receives
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_example_smtp_server [--port N] [--host NAME] [--cert FILE --key FILE]
//   --port N     0, the default, picks a free port
//   --host NAME  the name in the greeting and the EHLO reply (default: this machine's name)
//   --cert FILE, --key FILE
//                STARTTLS with this certificate chain and private key (PEM); by default, a
//                certificate for localhost signed by a throw-away CA, both made at startup
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/server_tls.hpp"
#include "smtp_server.hpp"

namespace {

constexpr char const* usage =
    "usage: asynchat_example_smtp_server [--port N] [--host NAME] [--cert FILE --key FILE]";

// Each message as it came, its lines marked off, as smtpd's DebuggingServer prints it.
void print(smtp::message const& m)
{
    std::cout << "---------- mail from <" << m.mail_from << "> to";
    for (auto const& to : m.rcpt_to)
        std::cout << " <" << to << ">";
    std::cout << " (" << m.peer << ", EHLO " << m.helo << (m.tls ? ", TLS" : ", plaintext")
              << ")\n";
    std::string_view text = m.data;
    while (!text.empty())
    {
        std::size_t const end = std::min(text.find('\n'), text.size() - 1);
        std::cout << "| " << text.substr(0, end) << "\n";
        text.remove_prefix(end + 1);
    }
    std::cout << "---------- end of mail" << std::endl;
}

} // namespace

int main(int argc, char** argv)
{
    try
    {
        unsigned long port = 0;
        smtp::settings settings;
        settings.host = boost::asio::ip::host_name();
        server_tls::certificate_files files;
        for (int i = 1; i < argc; ++i)
        {
            std::string const option = argv[i];
            if (i + 1 == argc || (option != "--port" && option != "--host" && option != "--cert" &&
                                  option != "--key"))
                throw std::invalid_argument(usage);
            std::string const value = argv[++i];
            if (option == "--port")
            {
                if (value.empty() || value.size() > 5 ||
                    value.find_first_not_of("0123456789") != std::string::npos)
                    throw std::invalid_argument("--port wants a number, not '" + value + "'");
                port = std::stoul(value);
            }
            else if (option == "--host")
                settings.host = value;
            else
                (option == "--cert" ? files.cert : files.key) = value;
        }
        if (port > 65535)
            throw std::invalid_argument("--port must be 0..65535");

        // The context outlives the io_context, and so every session.
        boost::asio::ssl::context ctx = server_tls::make_context(files);
        boost::asio::io_context io;
        settings.on_mail = print;
        settings.on_error = [](std::string const& what)
        { std::cerr << "smtp_server: " << what << std::endl; };
        auto s = std::make_shared<smtp::server>(
            io,
            smtp::tcp::endpoint(
                boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)
            ),
            ctx,
            std::move(settings)
        );
        s->start();
        auto const p = s->local_endpoint().port();
        std::cout << "listening on 127.0.0.1:" << p << "\n"
                  << "STARTTLS with " << server_tls::describe(files) << "\n"
                  << "try:  openssl s_client -starttls smtp -connect 127.0.0.1:" << p
                  << " -quiet -crlf\n"
                  << "      then EHLO me, MAIL FROM:<a@example.com>, RCPT TO:<b@example.com>, "
                     "DATA, some lines, '.', QUIT\n"
                  << "Ctrl-C stops it." << std::endl;

        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code, int) { asynchat::close_all(io); });
        asynchat::loop(io); // asyncore.loop(): until no channel is left
        return 0;
    }
    catch (std::exception const& e)
    {
        std::cerr << "smtp_server: " << e.what() << "\n";
        return 2;
    }
}
