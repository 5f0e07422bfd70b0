// asynchat: tests of file_producer: Medusa's reads on their own, and files served over real
// loopback sockets, with sendfile(2) on TCP and with reads elsewhere
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/async_chat.hpp>
#include <asynchat/file_producer.hpp>

#define BOOST_TEST_MODULE file_producer
#include <boost/asio/read.hpp>
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

#include "support/loopback.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace asynchat::test;
using asynchat::file_producer;

namespace {

// A fresh directory under the temporary directory, removed with everything in it.
struct temp_dir
{
    temp_dir()
    {
        std::string pattern = (fs::temp_directory_path() / "asynchat-file-XXXXXX").string();
        BOOST_TEST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir()
    {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;

    // Write a file of `size` bytes that differ from one position to the next (so a lost, doubled
    // or reordered piece shows), returning its contents.
    std::string make_file(std::string const& name, std::size_t size, unsigned seed = 1) const
    {
        std::string bytes(size, '\0');
        std::mt19937 random(seed);
        for (char& c : bytes)
            c = static_cast<char>(random());
        std::ofstream(path / name, std::ios::binary)
            .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return bytes;
    }

    std::string operator/(std::string const& name) const { return (path / name).string(); }

    fs::path path;
};

// The descriptors this process has open now.
std::size_t open_descriptors()
{
    std::size_t n = 0;
    for ([[maybe_unused]] auto const& entry : fs::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

// True if a descriptor of this process refers to `file`.
bool is_open_here(fs::path const& file)
{
    for (auto const& entry : fs::directory_iterator("/proc/self/fd"))
    {
        std::error_code ec;
        if (fs::read_symlink(entry.path(), ec) == file)
            return true;
    }
    return false;
}

// A channel that only sends, and records its errors and closes.
template <class Stream>
class serving_chat : public asynchat::basic_async_chat<Stream>
{
public:
    using asynchat::basic_async_chat<Stream>::basic_async_chat;

    std::vector<std::string> errors;
    int closes = 0;

protected:
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
    void handle_error(std::exception_ptr error) override
    {
        errors.push_back(what(error));
        this->close();
    }
    void handle_close() override
    {
        ++closes;
        this->close();
    }
};

// Read from `s` until EOF or an error, on the test's io_context: `received` grows, `done` is set
// at the end. Once `act_after` bytes arrived, `act()` is called, once.
template <class Socket>
struct reader
{
    explicit reader(Socket& socket) : s(socket) {}

    Socket& s;
    std::string received;
    bool done = false;
    std::size_t act_after = static_cast<std::size_t>(-1);
    std::function<void()> act;
    char buffer[65536] = {};

    void start()
    {
        s.async_read_some(
            asio::buffer(buffer),
            [this](boost::system::error_code const& ec, std::size_t n)
            {
                received.append(buffer, n);
                if (!ec && received.size() >= act_after && act)
                    std::exchange(act, nullptr)();
                if (ec || !s.is_open())
                {
                    done = true;
                    return;
                }
                start();
            }
        );
    }
};

// Reset the connection of `s` (SO_LINGER 0, then close).
template <class Socket>
void reset(Socket& s)
{
    ::linger const abort{1, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    boost::system::error_code ignored;
    s.close(ignored);
}

// A loopback pair whose buffers are small, so that a file of a few MiB cannot fit into them:
// the sender has to wait for the socket, many times.
template <class Loopback>
struct small_buffers_pair
{
    using socket = typename Loopback::socket;
    using chat = serving_chat<socket>;

    asio::io_context io;
    socket peer{io};
    std::shared_ptr<chat> channel;

    small_buffers_pair()
    {
        auto [client, server] = Loopback::pair(io);
        server.set_option(asio::socket_base::send_buffer_size(32 * 1024));
        client.set_option(asio::socket_base::receive_buffer_size(32 * 1024));
        peer = std::move(client);
        channel = std::make_shared<chat>(std::move(server));
        channel->lingering_time = {};
    }

    // Read until EOF (calling `act` once `act_after` bytes arrived), close the peer, run until
    // nothing is left: the channel's last handler has run and only `channel` holds it.
    std::string
    serve(std::size_t act_after = static_cast<std::size_t>(-1), std::function<void()> act = {})
    {
        reader<socket> r(peer);
        r.act_after = act_after;
        r.act = std::move(act);
        r.start();
        channel->start();
        BOOST_TEST(run_until(
            io, [&] { return r.done && !channel->connected(); }, 20s
        ));
        boost::system::error_code ignored;
        peer.close(ignored);
        BOOST_TEST(run_to_completion(io));
        return r.received;
    }
};

constexpr std::size_t four_mib = 4u << 20;

} // namespace

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(medusa_reads)

BOOST_AUTO_TEST_CASE(reads_64_kib_pieces_and_closes_the_file_at_its_end)
{
    // Setup: a file of three full pieces and 100 bytes.
    temp_dir dir;
    std::string const contents = dir.make_file("f", 3 * 65536 + 100);
    std::size_t const before = open_descriptors();
    file_producer p(dir / "f");
    BOOST_TEST(open_descriptors() == before + 1);

    // Event: pull it to its end.
    std::vector<std::size_t> sizes;
    std::string produced;
    for (std::string piece = p.more(); !piece.empty(); piece = p.more())
    {
        sizes.push_back(piece.size());
        produced += piece;
    }

    // Check: Medusa's pieces, the same bytes, and the file closed by the read that found its
    // end, before the producer is destroyed; an exhausted producer stays exhausted.
    BOOST_TEST(sizes == (std::vector<std::size_t>{65536, 65536, 65536, 100}));
    BOOST_TEST(produced == contents);
    BOOST_TEST(!p.is_open());
    BOOST_TEST(!p.zero_copy());
    BOOST_TEST(open_descriptors() == before);
    BOOST_TEST(p.more().empty());
}

BOOST_AUTO_TEST_CASE(a_missing_file_throws_naming_its_path)
{
    // Setup
    temp_dir dir;
    std::string const path = dir / "missing";

    // Event, check: ENOENT, and the path in the message.
    try
    {
        file_producer p(path);
        BOOST_FAIL("no exception");
    }
    catch (boost::system::system_error const& e)
    {
        BOOST_TEST(e.code() == boost::system::errc::no_such_file_or_directory);
        BOOST_TEST(std::string(e.what()).find('"' + path + '"') != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(a_directory_or_a_write_only_descriptor_is_refused_and_nothing_leaks)
{
    // Setup
    temp_dir dir;
    dir.make_file("f", 10);
    std::size_t const before = open_descriptors();

    // Event, check: a directory.
    try
    {
        file_producer p(dir.path.string());
        BOOST_FAIL("no exception");
    }
    catch (boost::system::system_error const& e)
    {
        BOOST_TEST(e.code() == boost::system::errc::is_a_directory);
        BOOST_TEST(std::string(e.what()).find(dir.path.string()) != std::string::npos, e.what());
    }

    // Event, check: a descriptor open for writing only, named by its number.
    int const fd = ::open((dir / "f").c_str(), O_WRONLY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(fd >= 0);
    try
    {
        file_producer p(fd);
        BOOST_FAIL("no exception");
    }
    catch (boost::system::system_error const& e)
    {
        BOOST_TEST(e.code() == boost::system::errc::bad_file_descriptor);
        std::string const name = "fd " + std::to_string(fd);
        BOOST_TEST(std::string(e.what()).find(name) != std::string::npos, e.what());
    }
    ::close(fd);

    // Check: no descriptor left open by the failed constructors.
    BOOST_TEST(open_descriptors() == before);
    BOOST_CHECK_THROW(file_producer(dir / "f", 0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_read_error_throws_naming_the_file)
{
    // Setup: /proc/self/mem is a regular file whose offset 0 (address 0) cannot be read.
    file_producer p("/proc/self/mem");

    // Event, check: EIO, with the path and the failing call.
    try
    {
        p.more();
        BOOST_FAIL("no exception");
    }
    catch (boost::system::system_error const& e)
    {
        BOOST_TEST(e.code() == boost::system::errc::io_error);
        BOOST_TEST(
            std::string(e.what()).find("read of \"/proc/self/mem\"") != std::string::npos, e.what()
        );
    }
}

BOOST_AUTO_TEST_CASE(a_descriptor_is_duplicated_and_read_from_its_position_without_moving_it)
{
    // Setup: a descriptor positioned at byte 10.
    temp_dir dir;
    std::string const contents = dir.make_file("f", 1000);
    int const fd = ::open((dir / "f").c_str(), O_RDONLY | O_CLOEXEC);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::lseek(fd, 10, SEEK_SET) == 10);
    std::size_t const before = open_descriptors();

    // Event: a producer of it, pulled to its end.
    file_producer p(fd);
    BOOST_TEST(open_descriptors() == before + 1); // its own duplicate
    BOOST_TEST(p.offset() == 10u);
    std::string produced;
    for (std::string piece = p.more(); !piece.empty(); piece = p.more())
        produced += piece;

    // Check: the rest of the file; the caller's descriptor open and where it was; the
    // duplicate closed.
    BOOST_TEST(produced == contents.substr(10));
    BOOST_TEST(::lseek(fd, 0, SEEK_CUR) == 10);
    BOOST_TEST(open_descriptors() == before);
    ::close(fd);
}

BOOST_AUTO_TEST_CASE(a_pipe_is_read_to_its_end)
{
    // Setup: a pipe holding some bytes, its writing end closed.
    int ends[2];
    BOOST_TEST_REQUIRE(::pipe(ends) == 0);
    std::string const text = "through a pipe\n";
    BOOST_TEST_REQUIRE(::write(ends[1], text.data(), text.size()) == ssize_t(text.size()));
    ::close(ends[1]);
    file_producer p(ends[0]);
    ::close(ends[0]);

    // Check: no sendfile for a pipe; read(2) to its end.
    BOOST_TEST(!p.zero_copy());
    BOOST_TEST(p.more() == text);
    BOOST_TEST(p.more().empty());
    BOOST_TEST(!p.is_open());
}

BOOST_AUTO_TEST_CASE(a_non_blocking_pipe_is_refused_with_a_message)
{
    // A user's non-blocking pipe made more() fail with EAGAIN and the channel close unsent.
    int ends[2];
    BOOST_TEST_REQUIRE(::pipe(ends) == 0);
    BOOST_TEST_REQUIRE(::fcntl(ends[0], F_SETFL, O_NONBLOCK) == 0);
    std::size_t const before = open_descriptors();
    BOOST_CHECK_EXCEPTION(
        file_producer{ends[0]},
        std::invalid_argument,
        [&](std::invalid_argument const& e)
        {
            std::string const what = e.what();
            return what.find("fd " + std::to_string(ends[0])) != std::string::npos &&
                   what.find("non-blocking pipe") != std::string::npos;
        }
    );
    BOOST_TEST(open_descriptors() == before); // the duplicate is closed again
    ::close(ends[0]);
    ::close(ends[1]);
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(over_sockets)

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_file_between_pushes_arrives_byte_for_byte_in_order_then_close_when_done, Loopback, transports
)
{
    // Setup: data, a 4 MiB file, data, close_when_done(), on small socket buffers.
    temp_dir dir;
    std::string const contents = dir.make_file("f", four_mib);
    std::size_t const before = open_descriptors();
    {
        small_buffers_pair<Loopback> pair;
        auto& chat = *pair.channel;
        chat.push("before the file\n");
        chat.push_with_producer(std::make_unique<file_producer>(dir / "f"));
        chat.push("after the file\n");
        chat.close_when_done();

        // Event: serve it to a peer that reads to EOF.
        std::string const received = pair.serve();

        // Check: every byte in order, then EOF; all counted; sent with sendfile(2) exactly on
        // TCP; no error.
        std::string const expected = "before the file\n" + contents + "after the file\n";
        BOOST_TEST(received.size() == expected.size());
        BOOST_TEST((received == expected));
        BOOST_TEST(chat.bytes_sent() == expected.size());
        bool const tcp = std::is_same_v<Loopback, loopback_tcp>;
        BOOST_TEST(chat.bytes_sent_with_sendfile() == (tcp ? contents.size() : 0u));
        BOOST_TEST(chat.errors.empty());
        BOOST_TEST(chat.closes == 1);

        // Check: the file closed; no handler holds the channel.
        BOOST_TEST(!is_open_here(dir.path / "f"));
        BOOST_TEST(pair.channel.use_count() == 1);
    }

    // Check: every descriptor closed.
    BOOST_TEST(open_descriptors() == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    push_callback_after_a_file_sees_all_its_bytes_sent, Loopback, transports
)
{
    // Setup: a byte, a 4 MiB file, a callback, data.
    temp_dir dir;
    std::string const contents = dir.make_file("f", four_mib);
    small_buffers_pair<Loopback> pair;
    auto& chat = *pair.channel;
    std::uint64_t seen = 0;
    int calls = 0;
    chat.push("<");
    chat.push_with_producer(std::make_unique<file_producer>(dir / "f"));
    chat.push_callback(
        [&]
        {
            ++calls;
            seen = chat.bytes_sent();
        }
    );
    chat.push(">");
    chat.close_when_done();

    // Event
    std::string const received = pair.serve();

    // Check: called once, when the byte and the whole file were out, before the data after it.
    BOOST_TEST(calls == 1);
    BOOST_TEST(seen == 1 + contents.size());
    BOOST_TEST((received == "<" + contents + ">"));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_peer_reset_mid_file_closes_cleanly_and_releases_the_file, Loopback, transports
)
{
    // Setup: a 4 MiB file to a peer that resets the connection after 256 KiB.
    temp_dir dir;
    std::string const contents = dir.make_file("f", four_mib);
    std::size_t const before = open_descriptors();
    {
        small_buffers_pair<Loopback> pair;
        auto& chat = *pair.channel;
        chat.push_with_producer(std::make_unique<file_producer>(dir / "f"));
        chat.push("never sent\n");
        chat.close_when_done();

        // Event: the reset, while the channel is in the middle of the file. A SIGPIPE raised by
        // sendfile(2) would end the test program here.
        std::string const received = pair.serve(256 * 1024, [&] { reset(pair.peer); });

        // Check: a prefix of the file arrived; the channel closed through handle_close(), with
        // no error; on TCP it was sending with sendfile(2) when the peer went.
        BOOST_TEST(received.size() >= 256u * 1024);
        BOOST_TEST(received.size() < contents.size());
        BOOST_TEST((received == contents.substr(0, received.size())));
        BOOST_TEST(!chat.connected());
        BOOST_TEST(chat.closes == 1);
        BOOST_TEST(chat.errors.empty());
        BOOST_TEST(chat.bytes_sent() < contents.size());
        if (std::is_same_v<Loopback, loopback_tcp>)
            BOOST_TEST(chat.bytes_sent_with_sendfile() == chat.bytes_sent());

        // Check: the producer released with the file in the middle (so destroyed: it closes
        // its file only at the end or in its destructor) while the channel object still
        // exists; no handler holds the channel.
        BOOST_TEST(!is_open_here(dir.path / "f"));
        BOOST_TEST(pair.channel.use_count() == 1);
    }

    // Check: every descriptor closed.
    BOOST_TEST(open_descriptors() == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    discard_buffers_mid_file_releases_it_and_fresh_output_follows, Loopback, transports
)
{
    // Setup: a 4 MiB file, data behind it.
    temp_dir dir;
    std::string const contents = dir.make_file("f", four_mib);
    small_buffers_pair<Loopback> pair;
    auto& chat = *pair.channel;
    chat.push_with_producer(std::make_unique<file_producer>(dir / "f"));
    chat.push("dropped\n");
    bool released = false;

    // Event: after 256 KiB, on the executor, discard_buffers(), then fresh output.
    std::string const received = pair.serve(
        256 * 1024,
        [&]
        {
            chat.discard_buffers();
            released = !is_open_here(dir.path / "f");
            chat.push("fresh\n");
            chat.close_when_done();
        }
    );

    // Check: the file released by discard_buffers() itself; what was handed to the socket
    // before it (a prefix of the file), then the fresh output, and nothing else.
    BOOST_TEST(released);
    BOOST_TEST_REQUIRE(received.size() > 6u);
    std::size_t const prefix = received.size() - 6;
    BOOST_TEST(prefix < contents.size());
    BOOST_TEST((received.substr(0, prefix) == contents.substr(0, prefix)));
    BOOST_TEST(received.substr(prefix) == "fresh\n");
    BOOST_TEST(chat.bytes_sent() == received.size());
    if (std::is_same_v<Loopback, loopback_tcp>)
        BOOST_TEST(chat.bytes_sent_with_sendfile() == prefix);
    BOOST_TEST(chat.errors.empty());
}

BOOST_AUTO_TEST_CASE(sendfile_into_a_socket_shut_down_for_sending_raises_no_sigpipe)
{
    // Setup: a 4 MiB file; after 256 KiB the channel's socket is shut down for sending under
    // it, so that its next sendfile(2) fails with EPIPE, which raises SIGPIPE: the default
    // action would end this program.
    temp_dir dir;
    std::string const contents = dir.make_file("f", four_mib);
    small_buffers_pair<loopback_tcp> pair;
    auto& chat = *pair.channel;
    chat.push_with_producer(std::make_unique<file_producer>(dir / "f"));
    chat.close_when_done();

    // Event
    std::string const received =
        pair.serve(256 * 1024, [&] { ::shutdown(chat.stream().native_handle(), SHUT_WR); });

    // Check: a broken connection, so handle_close() and no error; a prefix of the file; no
    // SIGPIPE left pending for this thread.
    BOOST_TEST(chat.closes == 1);
    BOOST_TEST(chat.errors.empty());
    BOOST_TEST(received.size() < contents.size());
    BOOST_TEST((received == contents.substr(0, received.size())));
    sigset_t pending;
    sigemptyset(&pending);
    BOOST_TEST_REQUIRE(::sigpending(&pending) == 0);
    BOOST_TEST(!sigismember(&pending, SIGPIPE));
}

BOOST_AUTO_TEST_CASE(use_sendfile_false_reads_the_file_on_tcp)
{
    // Setup: the option off.
    temp_dir dir;
    std::string const contents = dir.make_file("f", four_mib);
    small_buffers_pair<loopback_tcp> pair;
    auto& chat = *pair.channel;
    chat.use_sendfile = false;
    chat.push_with_producer(std::make_unique<file_producer>(dir / "f"));
    chat.close_when_done();

    // Event
    std::string const received = pair.serve();

    // Check: the same bytes, none of them sent with sendfile(2).
    BOOST_TEST((received == contents));
    BOOST_TEST(chat.bytes_sent() == contents.size());
    BOOST_TEST(chat.bytes_sent_with_sendfile() == 0u);
}

BOOST_AUTO_TEST_CASE(a_file_inside_a_composite_is_read_on_tcp)
{
    // Setup: a file behind a header, both inside one composite producer.
    temp_dir dir;
    std::string const contents = dir.make_file("f", four_mib);
    small_buffers_pair<loopback_tcp> pair;
    auto& chat = *pair.channel;
    chat.push_with_producer(std::make_unique<asynchat::composite_producer>(
        std::make_unique<asynchat::simple_producer>("header\n"),
        std::make_unique<file_producer>(dir / "f")
    ));
    chat.close_when_done();

    // Event
    std::string const received = pair.serve();

    // Check: the channel sees a composite, not a file: more() reads it.
    BOOST_TEST((received == "header\n" + contents));
    BOOST_TEST(chat.bytes_sent_with_sendfile() == 0u);
}

BOOST_AUTO_TEST_CASE(files_sendfile_cannot_send_are_read_on_tcp)
{
    // Setup: a pipe, an empty file, and a /proc file (regular, but the kernel refuses to
    // splice from it: sendfile(2) answers EINVAL), with data between them.
    temp_dir dir;
    dir.make_file("empty", 0);
    int ends[2];
    BOOST_TEST_REQUIRE(::pipe(ends) == 0);
    BOOST_TEST_REQUIRE(::write(ends[1], "piped\n", 6) == 6);
    ::close(ends[1]);
    small_buffers_pair<loopback_tcp> pair;
    auto& chat = *pair.channel;
    chat.push_with_producer(std::make_unique<file_producer>(ends[0]));
    ::close(ends[0]);
    chat.push("|");
    chat.push_with_producer(std::make_unique<file_producer>(dir / "empty"));
    chat.push("|");
    chat.push_with_producer(std::make_unique<file_producer>("/proc/self/status"));
    chat.push("|end\n");
    chat.close_when_done();

    // Event
    std::string const received = pair.serve();

    // Check: everything in order; only reads (the empty file ends at the first sendfile(2),
    // which sends nothing).
    std::string const start = "piped\n||Name:";
    BOOST_TEST(received.compare(0, start.size(), start) == 0, received);
    BOOST_TEST(received.size() > start.size() + 5);
    BOOST_TEST(received.compare(received.size() - 6, 6, "\n|end\n") == 0, received);
    BOOST_TEST(chat.bytes_sent() == received.size());
    BOOST_TEST(chat.bytes_sent_with_sendfile() == 0u);
    BOOST_TEST(chat.errors.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_read_error_goes_to_handle_error_after_the_data_ahead, Loopback, transports
)
{
    // Setup: data, then a file that cannot be read (see a_read_error_throws_naming_the_file).
    small_buffers_pair<Loopback> pair;
    auto& chat = *pair.channel;
    chat.push("ahead\n");
    chat.push_with_producer(std::make_unique<file_producer>("/proc/self/mem"));
    chat.push("never sent\n");

    // Event
    std::string const received = pair.serve();

    // Check: the data ahead, then one error naming the file (sendfile(2) refuses the file on
    // TCP, and more() fails), and the close.
    BOOST_TEST(received == "ahead\n");
    BOOST_TEST_REQUIRE(chat.errors.size() == 1u);
    BOOST_TEST(chat.errors[0].find("/proc/self/mem") != std::string::npos, chat.errors[0]);
    BOOST_TEST(!chat.connected());
}

BOOST_AUTO_TEST_SUITE_END()
