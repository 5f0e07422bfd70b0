// asynchat: drives example/http_server's file serving over loopback: chunked_producer over
// file_producer for HTTP/1.1, file_producer (sendfile) for HTTP/1.0, and curl as a client
// SPDX-License-Identifier: BSL-1.0
#include "http_server/http_server.hpp"

#define BOOST_TEST_MODULE example_http_files
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

namespace {

// A directory of its own under the temporary directory, with two files; removed afterwards.
struct served_dir
{
    std::string path;
    std::string big;   // 3 MiB of random bytes
    std::string small; // a few bytes

    served_dir()
    {
        char const* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp ? tmp : "/tmp") + "/asynchat-http-XXXXXX";
        if (!::mkdtemp(templ.data()))
            throw std::runtime_error("mkdtemp failed");
        path = templ;
        std::mt19937 random(7);
        big.resize(3 << 20);
        for (char& c : big)
            c = static_cast<char>(random());
        small = "hello file\n";
        write("big.bin", big);
        write("small.txt", small);
        write(".hidden", "secret");
    }
    ~served_dir()
    {
        for (char const* name : {"big.bin", "small.txt", ".hidden"})
            std::remove((path + "/" + name).c_str());
        ::rmdir(path.c_str());
    }
    void write(std::string const& name, std::string const& data) const
    {
        std::ofstream(path + "/" + name, std::ios::binary) << data;
    }
};

// Send `request` to a server rooted at `root`, half-close, and return the whole answer.
std::string fetch(std::string const& root, std::string const& request)
{
    asio::io_context io;
    auto s = std::make_shared<http::server>(
        io, http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), root
    );
    s->start();
    http::tcp::socket client(io);
    client.connect(s->local_endpoint());
    std::string answer;
    std::atomic<bool> done{false};
    std::thread peer(
        [&]
        {
            asio::write(client, asio::buffer(request));
            answer = read_to_eof(client);
            done = true;
        }
    );
    BOOST_TEST(run_until(io, [&] { return done && asynchat::channel_count(io) == 1; }));
    peer.join();
    s->close();
    io.poll();
    return answer;
}

std::string head_of(std::string const& answer) { return answer.substr(0, answer.find("\r\n\r\n")); }

std::string body_of(std::string const& answer)
{
    auto const end = answer.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : answer.substr(end + 4);
}

// Decode HTTP/1.1 chunked coding strictly; throws on a malformed stream. `chunks` counts them.
std::string unchunk(std::string const& coded, std::size_t& chunks)
{
    std::string out;
    std::size_t pos = 0;
    chunks = 0;
    for (;;)
    {
        auto const eol = coded.find("\r\n", pos);
        if (eol == std::string::npos)
            throw std::runtime_error("no chunk size line");
        std::size_t const n = std::stoul(coded.substr(pos, eol - pos), nullptr, 16);
        pos = eol + 2;
        if (n == 0)
        {
            if (coded.substr(pos) != "\r\n")
                throw std::runtime_error("bad last chunk");
            return out;
        }
        if (coded.size() < pos + n + 2 || coded.compare(pos + n, 2, "\r\n") != 0)
            throw std::runtime_error("bad chunk");
        out.append(coded, pos, n);
        pos += n + 2;
        ++chunks;
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(http11_gets_the_file_in_chunks)
{
    served_dir dir;
    auto const answer = fetch(dir.path, "GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(head_of(answer).find("HTTP/1.1 200 OK") == 0u);
    BOOST_TEST(head_of(answer).find("Transfer-Encoding: chunked") != std::string::npos);
    std::size_t chunks = 0;
    std::string const body = unchunk(body_of(answer), chunks);
    BOOST_TEST(body.size() == dir.big.size());
    BOOST_TEST((body == dir.big));
    BOOST_TEST(chunks == 48u); // file_producer's 64 KiB reads, one chunk each
}

BOOST_AUTO_TEST_CASE(http10_gets_the_bare_file_with_its_length)
{
    served_dir dir;
    auto const answer = fetch(dir.path, "GET /files/big.bin HTTP/1.0\r\n\r\n");
    BOOST_TEST(head_of(answer).find("HTTP/1.0 200 OK") == 0u);
    BOOST_TEST(
        head_of(answer).find("Content-Length: " + std::to_string(dir.big.size())) !=
        std::string::npos
    );
    BOOST_TEST((body_of(answer) == dir.big));
}

BOOST_AUTO_TEST_CASE(only_plain_file_names_of_the_root_are_served)
{
    served_dir dir;
    for (char const* target :
         {"/files/", "/files/.hidden", "/files/../etc/passwd", "/files/missing", "/files/a/b"})
    {
        auto const answer =
            fetch(dir.path, "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        BOOST_TEST(head_of(answer).find("404 Not Found") != std::string::npos, target);
    }
    // Without a root, no file at all.
    auto const answer = fetch("", "GET /files/small.txt HTTP/1.1\r\n\r\n");
    BOOST_TEST(head_of(answer).find("404 Not Found") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(curl_downloads_it, *boost::unit_test::timeout(60))
{
    // A client nobody here wrote, when the machine has one.
    if (std::system("curl --version > /dev/null 2>&1") != 0)
    {
        BOOST_TEST_MESSAGE("curl not found: skipped");
        return;
    }
    served_dir dir;
    asio::io_context io;
    auto s = std::make_shared<http::server>(
        io, http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), dir.path
    );
    s->start();
    std::string const out = dir.path + "/downloaded";
    std::string const command = "curl -s --max-time 30 --http1.1 -o " + out +
                                " http://127.0.0.1:" + std::to_string(s->local_endpoint().port()) +
                                "/files/big.bin";
    std::atomic<bool> done{false};
    int status = -1;
    std::thread client(
        [&]
        {
            status = std::system(command.c_str());
            done = true;
        }
    );
    BOOST_TEST(run_until(
        io, [&] { return done.load(); }, std::chrono::seconds(40)
    ));
    client.join();
    s->close();
    io.poll();
    BOOST_TEST(status == 0);
    std::ifstream in(out, std::ios::binary);
    std::string const got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::remove(out.c_str());
    BOOST_TEST(got.size() == dir.big.size());
    BOOST_TEST((got == dir.big));
}
