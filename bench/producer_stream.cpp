// asynchat: bench: what pulling producers at CPython's moment costs, and what read-ahead wins back
// SPDX-License-Identifier: BSL-1.0
//
// One process: a channel streams `--mib` MiB from a producer over loopback TCP to a client
// thread that reads and discards. The producer hands out `--piece` bytes a call, either at
// CPython's moment (one more() a write) or with read_ahead() (pieces gathered up to
// ac_out_buffer_size a write). Runs alternate (A B A B ...) `--reps` times; the medians are
// printed: MB/s, and CPU seconds of the whole process per GiB.
#include <asynchat/async_chat.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <thread>
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

class piece_producer : public asynchat::producer
{
public:
    piece_producer(std::size_t total, std::size_t piece, bool ahead)
        : left_(total), piece_(piece, 'x'), ahead_(ahead)
    {
    }
    std::string more() override
    {
        std::size_t const n = std::min(left_, piece_.size());
        left_ -= n;
        return piece_.substr(0, n);
    }
    bool read_ahead() const noexcept override { return ahead_; }

private:
    std::size_t left_;
    std::string piece_;
    bool ahead_;
};

double cpu_seconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct result
{
    double mb_per_s;
    double cpu_per_gib;
};

result run_once(std::size_t bytes, std::size_t piece, bool ahead)
{
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    int const fd = client.release();
    std::size_t received = 0;
    std::thread reader(
        [&]
        {
            std::vector<char> buf(256 * 1024);
            for (;;)
            {
                ssize_t const n = ::read(fd, buf.data(), buf.size());
                if (n <= 0)
                    break;
                received += static_cast<std::size_t>(n);
            }
            ::close(fd);
        }
    );
    auto chat = std::make_shared<sink_chat>(std::move(server));
    chat->lingering_time = {};
    chat->push_with_producer(std::make_unique<piece_producer>(bytes, piece, ahead));
    chat->close_when_done();
    double const cpu0 = cpu_seconds();
    auto const t0 = std::chrono::steady_clock::now();
    chat->start();
    io.run();
    reader.join();
    double const secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double const cpu = cpu_seconds() - cpu0;
    if (received != bytes)
    {
        std::fprintf(stderr, "received %zu of %zu bytes\n", received, bytes);
        std::exit(1);
    }
    double const gib = static_cast<double>(bytes) / (1024.0 * 1024 * 1024);
    return {static_cast<double>(bytes) / 1e6 / secs, cpu / gib};
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t mib = 256, piece = 4096, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        std::string const a = argv[i];
        std::size_t const v = std::strtoull(argv[i + 1], nullptr, 10);
        if (a == "--mib")
            mib = v;
        else if (a == "--piece")
            piece = v;
        else if (a == "--reps")
            reps = v;
        else
        {
            std::fprintf(stderr, "usage: %s [--mib N] [--piece BYTES] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    std::vector<double> mbs[2], cpu[2];
    for (std::size_t r = 0; r < reps; ++r)
        for (int ahead = 0; ahead < 2; ++ahead)
        {
            result const x = run_once(mib << 20, piece, ahead != 0);
            mbs[ahead].push_back(x.mb_per_s);
            cpu[ahead].push_back(x.cpu_per_gib);
        }
    std::printf("producer of %zu-byte pieces, %zu MiB, medians of %zu\n", piece, mib, reps);
    std::printf("%-26s %10s %14s\n", "mode", "MB/s", "CPU s per GiB");
    char const* names[2] = {"CPython's moment", "read_ahead()"};
    for (int a = 0; a < 2; ++a)
        std::printf("%-26s %10.0f %14.3f\n", names[a], median(mbs[a]), median(cpu[a]));
    return 0;
}
