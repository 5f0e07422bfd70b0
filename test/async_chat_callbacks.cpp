// asynchat: tests of push_callback() over real loopback sockets (TCP and Unix)
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>

#define BOOST_TEST_MODULE async_chat_callbacks
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

namespace {

// A channel that only sends, and records its errors.
template <class Stream>
class callback_chat : public asynchat::basic_async_chat<Stream>
{
public:
    using asynchat::basic_async_chat<Stream>::basic_async_chat;

    std::vector<std::string> errors;

protected:
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
    void handle_error(std::exception_ptr error) override
    {
        errors.push_back(what(error));
        this->close();
    }
};

// A channel on small socket buffers, so that megabytes of output take many writes, and its peer.
template <class Loopback>
struct fixture : channel_pair<Loopback, callback_chat>
{
    fixture()
    {
        this->channel->stream().set_option(asio::socket_base::send_buffer_size(32 * 1024));
        this->peer.set_option(asio::socket_base::receive_buffer_size(32 * 1024));
        this->channel->lingering_time = {};
    }

    // Start the channel, then call `after_start` (which may post work to follow the start),
    // read until EOF on the test's io_context, and run until nothing is left.
    std::string serve(std::function<void()> const& after_start = {})
    {
        std::string received;
        bool done = false;
        char buffer[65536];
        std::function<void()> read = [&]
        {
            this->peer.async_read_some(
                asio::buffer(buffer),
                [&](boost::system::error_code const& ec, std::size_t n)
                {
                    received.append(buffer, n);
                    if (ec)
                        done = true;
                    else
                        read();
                }
            );
        };
        read();
        this->channel->start();
        if (after_start)
            after_start();
        BOOST_TEST(run_until(
            this->io, [&] { return done && this->closed(); }, 20s
        ));
        this->peer.close();
        BOOST_TEST(run_to_completion(this->io));
        return received;
    }
};

// `n` bytes that differ from one position to the next.
std::string pattern(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(push_callback)

BOOST_AUTO_TEST_CASE_TEMPLATE(
    runs_once_everything_before_it_is_written_and_before_what_follows, Loopback, transports
)
{
    // Setup: 3 MiB, a callback, more data, close_when_done().
    fixture<Loopback> f;
    auto& chat = *f.channel;
    std::string const before = pattern(3u << 20);
    std::uint64_t seen = 0;
    int calls = 0;
    std::thread::id thread;
    chat.push(before);
    chat.push_callback(
        [&]
        {
            ++calls;
            seen = chat.bytes_sent();
            thread = std::this_thread::get_id();
        }
    );
    chat.push("after\n");
    chat.close_when_done();

    // Event
    std::string const received = f.serve();

    // Check: once, on the thread running the io_context, when exactly the bytes before it were
    // out: the data after it was not gathered into their write.
    BOOST_TEST(calls == 1);
    BOOST_TEST(seen == before.size());
    BOOST_TEST((thread == std::this_thread::get_id()));
    BOOST_TEST((received == before + "after\n"));
    BOOST_TEST(chat.errors.empty());
}

BOOST_AUTO_TEST_CASE(callbacks_run_in_order_between_pushes)
{
    // Setup: data and callbacks interleaved.
    fixture<loopback_tcp> f;
    auto& chat = *f.channel;
    std::vector<std::string> order;
    auto mark = [&](std::string name)
    { return [&, name] { order.push_back(name + "@" + std::to_string(chat.bytes_sent())); }; };
    chat.push("a");
    chat.push_callback(mark("one"));
    chat.push("bb");
    chat.push_callback(mark("two"));
    chat.push_callback(mark("three"));
    chat.push("c");
    chat.close_when_done();

    // Event
    std::string const received = f.serve();

    // Check: each in its place, seeing the bytes before it.
    BOOST_TEST(order == (std::vector<std::string>{"one@1", "two@3", "three@3"}));
    BOOST_TEST(received == "abbc");
}

BOOST_AUTO_TEST_CASE(with_nothing_queued_it_runs_once_started)
{
    // Setup: a callback queued before start().
    fixture<loopback_tcp> f;
    auto& chat = *f.channel;
    int calls = 0;
    bool open = false;
    chat.push_callback(
        [&]
        {
            ++calls;
            open = chat.connected();
            chat.close_when_done();
        }
    );
    BOOST_TEST(calls == 0);

    // Event
    std::string const received = f.serve();

    // Check: called on the open channel, whose close_when_done() then took effect.
    BOOST_TEST(calls == 1);
    BOOST_TEST(open);
    BOOST_TEST(received.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    what_the_callback_asks_takes_effect_after_it_returns, Loopback, transports
)
{
    // Setup: the callback pushes and closes when done, behind data queued after it.
    fixture<Loopback> f;
    auto& chat = *f.channel;
    std::string const before = pattern(1u << 20);
    std::size_t queued_in_callback = 0;
    chat.push(before);
    chat.push_callback(
        [&]
        {
            chat.push("from the callback\n");
            chat.close_when_done();
            // Queued at once, not written: writes start once the callback has returned.
            queued_in_callback = chat.outgoing_bytes();
        }
    );
    chat.push("queued after it\n");

    // Event
    std::string const received = f.serve();

    // Check: what it pushed came after what was already queued; its close_when_done() closed.
    BOOST_TEST(queued_in_callback == std::string("queued after it\nfrom the callback\n").size());
    BOOST_TEST((received == before + "queued after it\nfrom the callback\n"));
    BOOST_TEST(f.closed());
}

BOOST_AUTO_TEST_CASE(an_exception_from_the_callback_goes_to_handle_error)
{
    // Setup
    fixture<loopback_tcp> f;
    auto& chat = *f.channel;
    chat.push("sent\n");
    chat.push_callback([] { throw std::runtime_error("callback failed"); });
    chat.push("not sent: handle_error() closes\n");

    // Event
    std::string const received = f.serve();

    // Check
    BOOST_TEST(chat.errors == (std::vector<std::string>{"callback failed"}));
    BOOST_TEST(received == "sent\n");
}

BOOST_AUTO_TEST_CASE(pushed_from_another_thread_it_runs_on_the_executor_in_order)
{
    // Setup: the io_context runs on this thread; another thread queues.
    fixture<loopback_tcp> f;
    auto& chat = *f.channel;
    std::uint64_t seen = 0;
    std::thread::id thread;
    std::thread pusher(
        [&]
        {
            chat.push("1");
            chat.push_callback(
                [&]
                {
                    seen = chat.bytes_sent();
                    thread = std::this_thread::get_id();
                }
            );
            chat.push("2");
            chat.close_when_done();
        }
    );

    // Event
    std::string received;
    bool done = false;
    char buffer[64];
    std::function<void()> read = [&]
    {
        f.peer.async_read_some(
            asio::buffer(buffer),
            [&](boost::system::error_code const& ec, std::size_t n)
            {
                received.append(buffer, n);
                if (ec)
                    done = true;
                else
                    read();
            }
        );
    };
    read();
    chat.start();
    BOOST_TEST(run_until(f.io, [&] { return done && f.closed(); }));
    pusher.join();

    // Check
    BOOST_TEST(seen == 1u);
    BOOST_TEST((thread == std::this_thread::get_id()));
    BOOST_TEST(received == "12");
}

BOOST_AUTO_TEST_CASE(dropped_by_close_a_plain_callback_is_destroyed_and_one_taking_an_error_is_told)
{
    // Setup: megabytes ahead of two callbacks, then close() before they are written.
    fixture<loopback_tcp> f;
    auto& chat = *f.channel;
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> plain_state = token;
    bool plain_called = false;
    std::vector<boost::system::error_code> told;
    bool closed_when_told = false;
    std::thread::id thread;
    chat.push(pattern(8u << 20));
    chat.push_callback([&, token = std::move(token)] { plain_called = true; });
    chat.push_callback(
        [&](boost::system::error_code ec)
        {
            told.push_back(ec);
            closed_when_told = !chat.connected();
            thread = std::this_thread::get_id();
        }
    );
    chat.start();
    chat.close(); // runs after start(), before the first write completes

    // Event
    BOOST_TEST(run_until(f.io, [&] { return !told.empty(); }));
    BOOST_TEST(run_to_completion(f.io));

    // Check: the plain one never called, and destroyed with what it captured; the other told
    // once, with operation_aborted, on the executor, after close() had returned.
    BOOST_TEST(!plain_called);
    BOOST_TEST(plain_state.expired());
    BOOST_TEST_REQUIRE(told.size() == 1u);
    BOOST_TEST((told[0] == asio::error::operation_aborted));
    BOOST_TEST(closed_when_told);
    BOOST_TEST((thread == std::this_thread::get_id()));
    BOOST_TEST(chat.errors.empty());
}

BOOST_AUTO_TEST_CASE(dropped_by_discard_buffers_it_is_told_and_the_channel_goes_on)
{
    // Setup: megabytes ahead of a callback; on the executor, discard_buffers() before they are
    // written, then fresh output.
    fixture<loopback_tcp> f;
    auto& chat = *f.channel;
    std::string const big = pattern(8u << 20);
    std::vector<boost::system::error_code> told;
    int plain_calls = 0;
    chat.push(big);
    chat.push_callback([&] { ++plain_calls; });
    chat.push_callback([&](boost::system::error_code ec) { told.push_back(ec); });

    // Event: the discard runs after start(), while the first write is in flight.
    std::string const received = f.serve(
        [&]
        {
            asio::post(
                f.io,
                [&]
                {
                    chat.discard_buffers();
                    chat.push("fresh\n");
                    chat.push_callback([&](boost::system::error_code ec) { told.push_back(ec); });
                    chat.close_when_done();
                }
            );
        }
    );

    // Check: the dropped callbacks: the plain one not called, the other told; the one queued
    // afterwards called normally. What was in flight, then the fresh output, arrived.
    BOOST_TEST(plain_calls == 0);
    BOOST_TEST_REQUIRE(told.size() == 2u);
    BOOST_TEST((told[0] == asio::error::operation_aborted));
    BOOST_TEST(!told[1]);
    BOOST_TEST(received.size() > 6u); // the write in flight is not discarded
    BOOST_TEST(received.size() < big.size());
    BOOST_TEST((received.substr(0, received.size() - 6) == big.substr(0, received.size() - 6)));
    BOOST_TEST(received.substr(received.size() - 6) == "fresh\n");
}

BOOST_AUTO_TEST_CASE(move_only_callables_are_taken_and_empty_ones_refused)
{
    // Setup
    fixture<loopback_tcp> f;
    auto& chat = *f.channel;
    auto owned = std::make_unique<int>(42);
    int seen = 0;

    // Event, check: an empty std::function and a null function pointer are refused at once.
    BOOST_CHECK_THROW(chat.push_callback(std::function<void()>()), std::invalid_argument);
    void (*none)() = nullptr;
    BOOST_CHECK_THROW(chat.push_callback(none), std::invalid_argument);

    // Event, check: a move-only lambda is queued and called.
    chat.push_callback([&, owned = std::move(owned)] { seen = *owned; });
    chat.close_when_done();
    f.serve();
    BOOST_TEST(seen == 42);
}

BOOST_AUTO_TEST_SUITE_END()
