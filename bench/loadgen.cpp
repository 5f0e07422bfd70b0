// asynchat: bench: the load generator for line echo servers on 127.0.0.1
// SPDX-License-Identifier: BSL-1.0
//
// Usage: asynchat_bench_loadgen --port P --mode pipeline|pingpong|bulk|idle
//            [--connections C] [--window W] [--length L] [--seconds S]
//
// pipeline/bulk: C connections keep W lines of L bytes (newline included) in flight each;
// pingpong is W = 1 with per-request latency; idle opens C connections, makes one exchange on
// each, prints "ready", and holds them for S seconds. Every echoed byte is compared with what
// was sent. The result is one line of key=value pairs on stdout.
#include <boost/asio.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct options
{
    unsigned short port = 0;
    std::string mode = "pipeline";
    std::size_t connections = 1;
    std::size_t window = 1;
    std::size_t length = 32;
    double seconds = 5;
};

// The line number `seq` of connection `conn`: L bytes ending in '\n', checkable on return.
void make_line(std::size_t conn, std::uint64_t seq, std::size_t length, std::string& out)
{
    std::string const head = std::to_string(conn) + ":" + std::to_string(seq) + ":";
    std::size_t const start = out.size();
    out.append(length - 1, '.');
    std::memcpy(&out[start], head.data(), std::min(head.size(), length - 1));
    out.push_back('\n');
}

struct stats
{
    std::uint64_t lines = 0;
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;
    std::vector<double> latencies_us;
};

class connection : public std::enable_shared_from_this<connection>
{
public:
    connection(asio::io_context& io, options const& o, std::size_t id, stats& st)
        : socket_(io), o_(o), id_(id), st_(st), in_(std::max<std::size_t>(65536, 2 * o.length))
    {
    }

    void start(tcp::endpoint ep, std::function<void()> on_first)
    {
        on_first_ = std::move(on_first);
        socket_.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
            if (ec)
                throw std::runtime_error("connect: " + ec.message());
            self->socket_.set_option(tcp::no_delay(true));
            self->send(self->o_.mode == "idle" ? 1 : self->o_.window);
            self->read();
        });
    }

    void stop() { stopping_ = true; }

private:
    void send(std::size_t lines)
    {
        for (std::size_t i = 0; i < lines; ++i)
        {
            sent_at_.push_back(clock_type::now());
            make_line(id_, next_send_++, o_.length, pending_);
        }
        flush();
    }

    void flush()
    {
        if (writing_ || pending_.empty())
            return;
        writing_ = true;
        out_.swap(pending_);
        pending_.clear();
        asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            self->writing_ = false;
            if (!ec)
                self->flush();
        });
    }

    void read()
    {
        socket_.async_read_some(asio::buffer(in_.data() + held_, in_.size() - held_),
            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(boost::system::error_code ec, std::size_t n)
    {
        if (ec)
            return;
        std::size_t const total = held_ + n;
        std::size_t pos = 0;
        std::size_t answered = 0;
        while (total - pos >= o_.length)
        {
            expected_.clear();
            make_line(id_, next_recv_, o_.length, expected_);
            if (std::memcmp(in_.data() + pos, expected_.data(), o_.length) != 0)
                ++st_.errors;
            auto const now = clock_type::now();
            if (o_.mode == "pingpong")
                st_.latencies_us.push_back(std::chrono::duration<double, std::micro>(now - sent_at_.front()).count());
            sent_at_.pop_front();
            ++next_recv_;
            ++st_.lines;
            st_.bytes += o_.length;
            pos += o_.length;
            ++answered;
        }
        held_ = total - pos;
        std::memmove(in_.data(), in_.data() + pos, held_);
        if (on_first_ && answered)
            std::exchange(on_first_, nullptr)();
        if (o_.mode != "idle" && !stopping_)
            send(answered);
        read();
    }

    tcp::socket socket_;
    options const& o_;
    std::size_t id_;
    stats& st_;
    std::vector<char> in_;
    std::size_t held_ = 0;
    std::string out_, pending_, expected_;
    bool writing_ = false;
    bool stopping_ = false;
    std::uint64_t next_send_ = 0;
    std::uint64_t next_recv_ = 0;
    std::deque<clock_type::time_point> sent_at_; // O(1) at both ends: it is on the hot path
    std::function<void()> on_first_;
};

double percentile(std::vector<double>& v, double p)
{
    if (v.empty())
        return 0;
    std::size_t const k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

} // namespace

int main(int argc, char** argv)
{
    try
    {
        options o;
        for (int i = 1; i + 1 < argc; i += 2)
        {
            std::string const k = argv[i], v = argv[i + 1];
            if (k == "--port") o.port = static_cast<unsigned short>(std::stoul(v));
            else if (k == "--mode") o.mode = v;
            else if (k == "--connections") o.connections = std::stoul(v);
            else if (k == "--window") o.window = std::stoul(v);
            else if (k == "--length") o.length = std::stoul(v);
            else if (k == "--seconds") o.seconds = std::stod(v);
            else throw std::invalid_argument("unknown option " + k);
        }
        if (o.mode == "pingpong")
            o.window = 1;
        if (o.length < 16 || o.port == 0)
            throw std::invalid_argument("--port is required and --length must be at least 16");

        asio::io_context io(1);
        stats st;
        std::vector<std::shared_ptr<connection>> conns;
        std::size_t ready = 0;
        tcp::endpoint const ep(asio::ip::make_address("127.0.0.1"), o.port);
        for (std::size_t c = 0; c < o.connections; ++c)
        {
            conns.push_back(std::make_shared<connection>(io, o, c, st));
            conns.back()->start(ep, [&] {
                if (++ready == o.connections && o.mode == "idle")
                    std::cout << "ready" << std::endl;
            });
        }
        // Warm up until every connection has had an answer, then measure for `seconds`.
        while (ready < o.connections)
            io.run_one();
        stats const at_start = {st.lines, st.bytes, st.errors, {}};
        st.latencies_us.clear();
        auto const t0 = clock_type::now();
        io.run_for(std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds)));
        double const elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
        for (auto& c : conns)
            c->stop();

        std::uint64_t const lines = st.lines - at_start.lines;
        std::cout << "mode=" << o.mode << " connections=" << o.connections << " window=" << o.window
                  << " length=" << o.length << " lines_per_s=" << static_cast<double>(lines) / elapsed
                  << " mb_per_s=" << static_cast<double>(st.bytes - at_start.bytes) / elapsed / 1e6
                  << " p50_us=" << percentile(st.latencies_us, 0.5) << " p99_us=" << percentile(st.latencies_us, 0.99)
                  << " p999_us=" << percentile(st.latencies_us, 0.999) << " errors=" << st.errors << std::endl;
        return st.errors == 0 ? 0 : 1;
    }
    catch (std::exception const& e)
    {
        std::cerr << "loadgen: " << e.what() << "\n";
        return 2;
    }
}
