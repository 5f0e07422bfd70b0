// asynchat: producers that are not ready yet, over real sockets
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE producers
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include "support/loopback.hpp"
#include "support/send_only_chat.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asynchat::test;

namespace {

// `tail -f`: hands out what the file has beyond what it gave, not_ready() at its end until the
// file ends with "END\n".
class tail_producer : public asynchat::producer
{
public:
    explicit tail_producer(std::string path) : path_(std::move(path)) {}

    std::string more() override
    {
        std::ifstream in(path_, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(offset_));
        std::string piece(4096, '\0');
        in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
        piece.resize(static_cast<std::size_t>(in.gcount()));
        offset_ += piece.size();
        seen_ += piece;
        if (!piece.empty())
            return piece;
        if (seen_.size() >= 4 && seen_.compare(seen_.size() - 4, 4, "END\n") == 0)
            return {};
        ++waits;
        return not_ready();
    }

    int waits = 0;

private:
    std::string path_;
    std::size_t offset_ = 0;
    std::string seen_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(not_ready)

BOOST_AUTO_TEST_CASE(tail_f_of_a_growing_file_resumed_from_another_thread)
{
    // Setup: an empty file; a channel streams it, then a trailer and close_when_done() behind.
    std::string const path = "/tmp/asynchat-tail-" + std::to_string(::getpid());
    std::ofstream(path, std::ios::binary | std::ios::trunc).close();
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    auto tail = std::make_unique<tail_producer>(path);
    std::function<void()> resume = tail->resumer();
    chat->push("begin\n");
    chat->push_with_producer(std::move(tail));
    chat->push("trailer\n");
    chat->close_when_done();
    chat->start();

    // Event: another thread appends 200 lines, resuming the producer after each, while the
    // peer reads; the io_context runs on this thread meanwhile.
    std::string expected = "begin\n";
    for (int i = 0; i < 200; ++i)
        expected += "line " + std::to_string(i) + "\n";
    expected += "END\ntrailer\n";
    std::string received;
    std::thread reader([&] { received = read_to_eof(client); });
    std::atomic<bool> written{false};
    std::thread writer(
        [&]
        {
            for (int i = 0; i < 200; ++i)
            {
                std::ofstream(path, std::ios::binary | std::ios::app) << "line " << i << "\n";
                resume();
            }
            std::ofstream(path, std::ios::binary | std::ios::app) << "END\n";
            resume();
            written = true;
        }
    );
    bool const closed = run_until(
        io, [&] { return !chat->connected(); }, 20s
    );
    writer.join();
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));
    std::remove(path.c_str());

    // Check: every byte, in order, the trailer and the close after the producer.
    BOOST_TEST(closed);
    BOOST_TEST(written);
    BOOST_TEST(received == expected);
}

BOOST_AUTO_TEST_CASE(output_behind_a_waiting_producer_waits_and_nothing_polls)
{
    // Setup: a producer that is not ready until told.
    struct gate : asynchat::producer
    {
        bool open = false;
        int calls = 0;
        std::string more() override
        {
            ++calls;
            if (!open)
                return not_ready();
            if (open && !given)
            {
                given = true;
                return "released\n";
            }
            return {};
        }
        bool given = false;
    };
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    auto owned = std::make_unique<gate>();
    gate* g = owned.get();
    std::function<void()> resume = owned->resumer();
    chat->push("a\n");
    chat->push_with_producer(std::move(owned));
    chat->push("b\n");
    chat->close_when_done();
    chat->start();

    // Event: run a while with the gate shut.
    io.run_for(50ms);

    // Check: "a" went out, the producer was asked once, nothing behind it moved.
    BOOST_TEST(g->calls == 1);
    BOOST_TEST(chat->connected());
    std::string first(2, '\0');
    asio::read(client, asio::buffer(first));
    BOOST_TEST(first == "a\n");

    // Event: open the gate and resume.
    g->open = true;
    resume();

    // Check: the rest in order, then EOF.
    std::string received;
    std::thread reader([&] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));
    BOOST_TEST(received == "released\nb\n");
}

BOOST_AUTO_TEST_CASE(a_composite_waits_for_the_producer_it_wraps)
{
    struct later : asynchat::producer
    {
        int step = 0;
        std::string more() override
        {
            switch (step++)
            {
            case 0:
                return not_ready();
            case 1:
                return "inner\n";
            default:
                return {};
            }
        }
    };
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    auto inner = std::make_unique<later>();
    std::function<void()> resume_inner = inner->resumer(); // the inner's own handle
    chat->push_with_producer(std::make_unique<asynchat::composite_producer>(
        std::make_unique<asynchat::simple_producer>("head\n"), std::move(inner)
    ));
    chat->close_when_done();
    chat->start();
    io.run_for(30ms);
    BOOST_TEST(chat->connected());
    resume_inner(); // wakes the channel through the composite
    std::string received;
    std::thread reader([&] { received = read_to_eof(client); });
    BOOST_TEST(run_until(io, [&] { return !chat->connected(); }));
    reader.join();
    client.close();
    BOOST_TEST(run_to_completion(io));
    BOOST_TEST(received == "head\ninner\n");
}

BOOST_AUTO_TEST_SUITE_END()
