// asynchat: bench: serving a file: file_producer with sendfile(2), file_producer with reads, and a
// hand-written Asio server that reads the file and async_writes it
// SPDX-License-Identifier: BSL-1.0
//
// One process. A file of `--mib` MiB (1 GiB by default) is written at start in the temporary
// directory, real bytes (no hole), and removed at exit. Each run accepts one loopback TCP
// connection and serves the whole file on this thread (pinned to CPU 0 when there are two), to a
// client thread (pinned to CPU 1) that reads 256 KiB at a time and discards. Modes:
//   sendfile  asynchat::async_chat + file_producer, use_sendfile true (the default)
//   reads     the same with use_sendfile = false: more() reads 64 KiB pieces, written one by one
//   asio      a hand-written Asio server: pread() 64 KiB, async_write() it, again
// Runs alternate (A B C A B C ...) `--reps` times; the medians are printed: MB/s (bytes over the
// time from the start of serving until the client has read everything), and the server thread's
// and the client thread's CPU seconds (user + system, getrusage(RUSAGE_THREAD)) per GiB served.
#include <asynchat/async_chat.hpp>
#include <asynchat/file_producer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <pthread.h>
#include <random>
#include <sched.h>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class sink_chat : public asynchat::async_chat
{
public:
    using asynchat::async_chat::async_chat;

protected:
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
};

// The hand-written server: one 64 KiB buffer, pread() then async_write(), until the end.
class asio_file_sender : public std::enable_shared_from_this<asio_file_sender>
{
public:
    asio_file_sender(tcp::socket socket, int fd) : socket_(std::move(socket)), fd_(fd) {}
    ~asio_file_sender() { ::close(fd_); }

    void send_next()
    {
        ssize_t const n = ::pread(fd_, buffer_.data(), buffer_.size(), offset_);
        if (n <= 0)
        {
            boost::system::error_code ignored;
            socket_.shutdown(tcp::socket::shutdown_send, ignored);
            socket_.close(ignored);
            return;
        }
        offset_ += n;
        asio::async_write(
            socket_,
            asio::buffer(buffer_.data(), static_cast<std::size_t>(n)),
            [self = shared_from_this()](boost::system::error_code const& ec, std::size_t)
            {
                if (!ec)
                    self->send_next();
            }
        );
    }

private:
    tcp::socket socket_;
    int fd_;
    off_t offset_ = 0;
    std::vector<char> buffer_ = std::vector<char>(65536);
};

enum class mode
{
    sendfile,
    reads,
    asio
};
char const* const mode_names[] = {
    "file_producer, sendfile(2)", "file_producer, reads", "hand-written Asio, reads"};

bool pinning = std::thread::hardware_concurrency() >= 2;

void pin_to(int cpu)
{
    if (!pinning)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
}

double thread_cpu_seconds()
{
    rusage u{};
    ::getrusage(RUSAGE_THREAD, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct result
{
    double mb_per_s;
    double cpu_per_gib;
    double client_cpu_per_gib;
};

result run_once(std::string const& path, std::uint64_t size, mode m)
{
    asio::io_context io(1);
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    int const fd = client.release();
    std::uint64_t received = 0;
    double client_cpu = 0;
    std::thread reader(
        [&]
        {
            pin_to(1);
            double const start = thread_cpu_seconds();
            std::vector<char> buf(256 * 1024);
            for (;;)
            {
                ssize_t const n = ::read(fd, buf.data(), buf.size());
                if (n <= 0)
                    break;
                received += static_cast<std::uint64_t>(n);
            }
            ::close(fd);
            client_cpu = thread_cpu_seconds() - start;
        }
    );
    pin_to(0);
    double const cpu0 = thread_cpu_seconds();
    auto const t0 = std::chrono::steady_clock::now();
    if (m == mode::asio)
    {
        int const file = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (file < 0)
        {
            std::perror(path.c_str());
            std::exit(1);
        }
        std::make_shared<asio_file_sender>(std::move(server), file)->send_next();
    }
    else
    {
        auto chat = std::make_shared<sink_chat>(std::move(server));
        chat->lingering_time = {};
        chat->use_sendfile = m == mode::sendfile; // the documented switch
        chat->push_with_producer(std::make_unique<asynchat::file_producer>(path));
        chat->close_when_done();
        chat->start();
    }
    io.run();
    double const cpu = thread_cpu_seconds() - cpu0;
    reader.join();
    double const secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (received != size)
    {
        std::fprintf(
            stderr,
            "%s: received %llu of %llu bytes\n",
            mode_names[int(m)],
            static_cast<unsigned long long>(received),
            static_cast<unsigned long long>(size)
        );
        std::exit(1);
    }
    double const gib = static_cast<double>(size) / (1024.0 * 1024 * 1024);
    return {static_cast<double>(size) / 1e6 / secs, cpu / gib, client_cpu / gib};
}

// Write `size` bytes of pseudo-random data (a 1 MiB block, each copy varied) to a new file.
std::string make_file(std::uint64_t size)
{
    char const* dir = std::getenv("TMPDIR");
    std::string path = std::string(dir && *dir ? dir : "/tmp") + "/asynchat-bench-file-XXXXXX";
    int const fd = ::mkstemp(path.data());
    if (fd < 0)
    {
        std::perror("mkstemp");
        std::exit(1);
    }
    std::vector<char> block(1 << 20);
    std::mt19937 random(42);
    for (char& c : block)
        c = static_cast<char>(random());
    for (std::uint64_t written = 0, i = 0; written < size; ++i)
    {
        std::memcpy(block.data(), &i, sizeof i); // no two blocks alike
        std::size_t const n =
            static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - written));
        if (::write(fd, block.data(), n) != static_cast<ssize_t>(n))
        {
            std::perror("write");
            ::unlink(path.c_str());
            std::exit(1);
        }
        written += n;
    }
    ::close(fd);
    return path;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    std::uint64_t mib = 1024;
    std::size_t reps = 3;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        std::string const a = argv[i];
        std::uint64_t const v = std::strtoull(argv[i + 1], nullptr, 10);
        if (a == "--mib" && v > 0)
            mib = v;
        else if (a == "--reps" && v > 0)
            reps = v;
        else
        {
            std::fprintf(stderr, "usage: %s [--mib N (1024)] [--reps N (3)]\n", argv[0]);
            return 2;
        }
    }
    std::uint64_t const size = mib << 20;
    std::string const path = make_file(size);
    std::vector<double> mbs[3], cpu[3], client_cpu[3];
    for (std::size_t r = 0; r < reps; ++r)
        for (int m = 0; m < 3; ++m)
        {
            result const x = run_once(path, size, static_cast<mode>(m));
            mbs[m].push_back(x.mb_per_s);
            cpu[m].push_back(x.cpu_per_gib);
            client_cpu[m].push_back(x.client_cpu_per_gib);
        }
    ::unlink(path.c_str());
    std::printf(
        "serving a %llu MiB file over loopback TCP, medians of %zu%s\n",
        static_cast<unsigned long long>(mib),
        reps,
        pinning ? " (server on CPU 0, client on CPU 1)" : ""
    );
    std::printf(
        "%-28s %8s %22s %22s\n", "server", "MB/s", "server CPU s per GiB", "client CPU s per GiB"
    );
    for (int m = 0; m < 3; ++m)
        std::printf(
            "%-28s %8.0f %22.3f %22.3f\n",
            mode_names[m],
            median(mbs[m]),
            median(cpu[m]),
            median(client_cpu[m])
        );
    return 0;
}
