// asynchat: bench: the load generator for line echo servers on 127.0.0.1
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_bench_loadgen --port P --mode pipeline|pingpong|bulk|idle
//            [--connections C] [--window W] [--length L] [--seconds S] [--tls]
//            [--server-pid PID]
//
// pipeline/bulk: C connections keep W lines of L bytes (newline included) in flight each;
// pingpong is W = 1 with per-request latency; idle opens C connections, makes one exchange on
// each, prints "ready", and holds them for S seconds. Every echoed byte is compared with what
// was sent. The result is one line of key=value pairs on stdout; loadgen_cpu is the share of a
// core the load generator itself used while measuring (near 1: it, not the server, was the limit);
// with --server-pid, server_cpu is the share of a core that process used (all its threads, from
// /proc) over the same measuring time, so lines_per_s / server_cpu is lines per server CPU-second
// with both counted over one interval; total_lines counts every line echoed, warm-up included
// (for callgrind totals).
//
// --tls: every connection is TLS (no certificate verification; SNI "localhost"), pinned to TLS 1.3
// with TLS_AES_128_GCM_SHA256, the only suite offered, so that every server under test runs the
// same cipher; the handshake is part of the warm-up, and the result line ends with cipher=.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct options
{
    unsigned short port = 0;
    std::string mode = "pipeline";
    bool pingpong = false; // mode, decoded once (it is asked on every read)
    bool idle = false;
    std::size_t connections = 1;
    std::size_t window = 1;
    std::size_t length = 32;
    double seconds = 5;
    bool tls = false;
    long server_pid = 0; // 0: do not measure the server
};

// The byte stream every connection sends: `lines` distinct lines of L bytes ("<k>:...\n"),
// stored twice in a row so that any stretch of up to period() bytes is contiguous. Each
// connection starts at its own line, so crossed streams show up as wrong bytes, and checking
// an echo is one memcmp per read rather than work per line: the load generator must cost far
// less per line than the servers it measures.
class pattern
{
public:
    pattern(std::size_t length, std::size_t min_bytes)
        : length_(length), lines_(std::max<std::size_t>(64, (min_bytes + length - 1) / length))
    {
        for (std::size_t k = 0; k < lines_; ++k)
        {
            std::string line = std::to_string(k) + ":";
            line.resize(length - 1, '.');
            text_ += line + '\n';
        }
        text_ += text_;
    }
    std::size_t period() const { return lines_ * length_; }
    std::size_t start_of(std::size_t conn) const { return (conn * 7919 % lines_) * length_; }
    char const* at(std::size_t offset) const { return text_.data() + offset; }

private:
    std::size_t length_;
    std::size_t lines_;
    std::string text_;
};

struct stats
{
    std::uint64_t lines = 0;
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;
    std::vector<double> latencies_us;
};

// What main() asks of a connection, whatever its stream: once per connection, never per line.
class connection_base
{
public:
    virtual ~connection_base() = default;
    virtual void start(tcp::endpoint ep, std::function<void()> on_first) = 0;
    virtual void stop() = 0;
    virtual std::string cipher() = 0;
};

// One connection over `Stream`: tcp::socket, or ssl::stream<tcp::socket> for --tls. Everything
// per line is in here, non-virtual: the plain instantiation is the code it always was.
template <class Stream>
class connection : public connection_base, public std::enable_shared_from_this<connection<Stream>>
{
    static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

public:
    /// `tls`: the client context, for a TLS Stream; unused otherwise.
    connection(
        asio::io_context& io,
        ssl::context* tls,
        options const& o,
        pattern const& p,
        std::size_t id,
        stats& st
    )
        : socket_(open(io, tls)), o_(o), p_(p), st_(st),
          in_(std::min<std::size_t>(65536, p.period())), send_off_(p.start_of(id)),
          recv_off_(send_off_)
    {
    }

    void start(tcp::endpoint ep, std::function<void()> on_first) override
    {
        on_first_ = std::move(on_first);
        socket_.lowest_layer().async_connect(
            ep,
            [self = this->shared_from_this()](boost::system::error_code ec)
            {
                if (ec)
                    throw std::runtime_error("connect: " + ec.message());
                self->socket_.lowest_layer().set_option(tcp::no_delay(true));
                if constexpr (is_tls)
                    self->handshake();
                else
                    self->begin();
            }
        );
    }

    void stop() override { stopping_ = true; }

    /// The cipher suite of a TLS connection; "" for a plain one.
    std::string cipher() override
    {
        if constexpr (is_tls)
            return SSL_get_cipher_name(socket_.native_handle());
        else
            return "";
    }

private:
    static Stream open(asio::io_context& io, ssl::context* tls)
    {
        if constexpr (is_tls)
            return Stream(io, *tls);
        else
            return Stream(io);
    }

    void handshake()
    {
        if (SSL_set_tlsext_host_name(socket_.native_handle(), "localhost") != 1)
            throw std::runtime_error("TLS: cannot set the server name");
        socket_.async_handshake(
            ssl::stream_base::client,
            [self = this->shared_from_this()](boost::system::error_code ec)
            {
                if (ec)
                    throw std::runtime_error("TLS handshake: " + ec.message());
                self->begin();
            }
        );
    }

    void begin()
    {
        send(o_.idle ? 1 : o_.window);
        read();
    }

    void send(std::size_t lines)
    {
        unsent_ += lines * o_.length;
        if (o_.pingpong)
            sent_at_ = clock_type::now(); // one line in flight: its send time
        flush();
    }

    void flush()
    {
        if (writing_ || unsent_ == 0)
            return;
        writing_ = true;
        std::size_t const n = std::min(unsent_, p_.period());
        unsent_ -= n;
        asio::async_write(
            socket_,
            asio::buffer(p_.at(send_off_), n),
            [self = this->shared_from_this()](boost::system::error_code ec, std::size_t)
            {
                self->writing_ = false;
                if (!ec)
                    self->flush();
            }
        );
        send_off_ = (send_off_ + n) % p_.period();
    }

    void read()
    {
        socket_.async_read_some(
            asio::buffer(in_),
            [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n)
            { self->on_read(ec, n); }
        );
    }

    void on_read(boost::system::error_code ec, std::size_t n)
    {
        if (ec)
            return;
        if (std::memcmp(in_.data(), p_.at(recv_off_), n) != 0)
            ++st_.errors;
        recv_off_ = (recv_off_ + n) % p_.period();
        received_ += n;
        st_.bytes += n;
        std::uint64_t const answered = received_ / o_.length - lines_done_;
        lines_done_ += answered;
        st_.lines += answered;
        if (answered && o_.pingpong)
            st_.latencies_us.push_back(
                std::chrono::duration<double, std::micro>(clock_type::now() - sent_at_).count()
            );
        if (on_first_ && answered)
            std::exchange(on_first_, nullptr)();
        if (!o_.idle && !stopping_ && answered)
            send(static_cast<std::size_t>(answered));
        read();
    }

    Stream socket_;
    options const& o_;
    pattern const& p_;
    stats& st_;
    std::vector<char> in_;
    std::size_t send_off_;
    std::size_t recv_off_;
    std::size_t unsent_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t lines_done_ = 0;
    bool writing_ = false;
    bool stopping_ = false;
    clock_type::time_point sent_at_;
    std::function<void()> on_first_;
};

// The CPU time this process has used, user and system.
double cpu_seconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto const seconds = [](timeval t)
    { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// The CPU time process `pid` has used, user and system, all its threads included: fields 14 and
// 15 of /proc/<pid>/stat, in clock ticks. The command name before them is in parentheses and may
// hold spaces, so the fields are counted from the last ')'.
double process_cpu_seconds(long pid)
{
    std::string const path = "/proc/" + std::to_string(pid) + "/stat";
    std::ifstream in(path);
    std::string stat;
    std::getline(in, stat);
    auto const name_end = stat.rfind(')');
    if (!in || name_end == std::string::npos)
        throw std::runtime_error("cannot read " + path);
    std::istringstream fields(stat.substr(name_end + 1));
    std::string skipped;
    for (int field = 3; field < 14; ++field)
        fields >> skipped;
    unsigned long long utime = 0, stime = 0;
    if (!(fields >> utime >> stime))
        throw std::runtime_error("cannot parse " + path);
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double>& v, double p)
{
    if (v.empty())
        return 0;
    std::size_t const k =
        std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

} // namespace

int main(int argc, char** argv)
{
    try
    {
        options o;
        for (int i = 1; i < argc; ++i)
        {
            std::string const k = argv[i];
            if (k == "--tls")
            {
                o.tls = true;
                continue;
            }
            if (i + 1 == argc)
                throw std::invalid_argument(k + " wants a value");
            std::string const v = argv[++i];
            if (k == "--port")
                o.port = static_cast<unsigned short>(std::stoul(v));
            else if (k == "--mode")
                o.mode = v;
            else if (k == "--connections")
                o.connections = std::stoul(v);
            else if (k == "--window")
                o.window = std::stoul(v);
            else if (k == "--length")
                o.length = std::stoul(v);
            else if (k == "--seconds")
                o.seconds = std::stod(v);
            else if (k == "--server-pid")
                o.server_pid = std::stol(v);
            else
                throw std::invalid_argument("unknown option " + k);
        }
        if (o.mode != "pipeline" && o.mode != "pingpong" && o.mode != "bulk" && o.mode != "idle")
            throw std::invalid_argument(
                "--mode must be pipeline, pingpong, bulk or idle, not " + o.mode
            );
        o.pingpong = o.mode == "pingpong";
        o.idle = o.mode == "idle";
        if (o.pingpong)
            o.window = 1;
        if (o.length < 16 || o.port == 0)
            throw std::invalid_argument("--port is required and --length must be at least 16");

        // --tls: TLS 1.3 with one cipher suite offered, so the server has no other choice.
        std::optional<ssl::context> tls;
        if (o.tls)
        {
            tls.emplace(ssl::context::tls_client);
            SSL_CTX* const native = tls->native_handle();
            if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
                SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1 ||
                SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256") != 1)
                throw std::runtime_error("TLS: cannot pin TLS 1.3 with TLS_AES_128_GCM_SHA256");
            tls->set_verify_mode(ssl::verify_none);
        }

        asio::io_context io(1);
        stats st;
        pattern const pat(o.length, std::max<std::size_t>(65536, o.window * o.length));
        std::vector<std::shared_ptr<connection_base>> conns;
        std::size_t ready = 0;
        tcp::endpoint const ep(asio::ip::make_address("127.0.0.1"), o.port);
        for (std::size_t c = 0; c < o.connections; ++c)
        {
            if (tls)
                conns.push_back(
                    std::make_shared<connection<ssl::stream<tcp::socket>>>(io, &*tls, o, pat, c, st)
                );
            else
                conns.push_back(
                    std::make_shared<connection<tcp::socket>>(io, nullptr, o, pat, c, st)
                );
            conns.back()->start(
                ep,
                [&]
                {
                    if (++ready == o.connections && o.idle)
                        std::cout << "ready" << std::endl;
                }
            );
        }
        // Warm up until every connection has had an answer, then measure for `seconds`.
        while (ready < o.connections)
            io.run_one();
        stats const at_start = {st.lines, st.bytes, st.errors, {}};
        st.latencies_us.clear();
        auto const t0 = clock_type::now();
        double const cpu0 = cpu_seconds();
        double const server0 = o.server_pid ? process_cpu_seconds(o.server_pid) : 0;
        io.run_for(std::chrono::duration_cast<clock_type::duration>(
            std::chrono::duration<double>(o.seconds)
        ));
        double const elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
        double const cpu_share = (cpu_seconds() - cpu0) / elapsed;
        double const server_share =
            o.server_pid ? (process_cpu_seconds(o.server_pid) - server0) / elapsed : 0;
        for (auto& c : conns)
            c->stop();

        std::uint64_t const lines = st.lines - at_start.lines;
        std::cout << "mode=" << o.mode << " connections=" << o.connections << " window=" << o.window
                  << " length=" << o.length
                  << " lines_per_s=" << static_cast<double>(lines) / elapsed
                  << " mb_per_s=" << static_cast<double>(st.bytes - at_start.bytes) / elapsed / 1e6
                  << " p50_us=" << percentile(st.latencies_us, 0.5)
                  << " p99_us=" << percentile(st.latencies_us, 0.99)
                  << " p999_us=" << percentile(st.latencies_us, 0.999)
                  << " loadgen_cpu=" << cpu_share;
        if (o.server_pid)
            std::cout << " server_cpu=" << server_share;
        std::cout << " errors=" << st.errors << " total_lines=" << st.lines;
        if (tls)
            std::cout << " cipher=" << conns.front()->cipher();
        std::cout << std::endl;
        return st.errors == 0 ? 0 : 1;
    }
    catch (std::exception const& e)
    {
        std::cerr << "loadgen: " << e.what() << "\n";
        return 2;
    }
}
