// asynchat: micro-benchmarks of the sans-I/O input scanner (Google Benchmark)
// SPDX-License-Identifier: BSL-1.0
//
// Bytes/s through input_scanner::process() for 1-, 2- and 4-byte terminators with short
// (32-byte) and long (4 KiB) messages, and for a numeric terminator; beside them, memchr over
// the same buffer as the ceiling for the one-byte case. Each iteration scans one 64 KiB read,
// as async_chat does with the default ac_in_buffer_size.
#include <asynchat/detail/input_scanner.hpp>

#include <benchmark/benchmark.h>
#include <cstring>
#include <string>

#include "counting_handler.hpp"

namespace {

constexpr std::size_t read_size = 65536;

// 64 KiB of messages of `length` bytes (terminator included), over a varied alphabet.
std::string make_reads(std::size_t length, std::string const& term)
{
    std::string out;
    std::size_t i = 0;
    while (out.size() < read_size)
    {
        std::string message;
        while (message.size() + term.size() < length)
            message.push_back("abcdefghijklmnopqrstuvwxyz0123456789 "[i++ % 37]);
        out += message + term;
    }
    out.resize(read_size - read_size % length);
    return out;
}

using bench::counting_handler;

void scan(
    benchmark::State& state, asynchat::terminator term, std::string const& reads, bool reset_count
)
{
    asynchat::detail::input_scanner s;
    s.set_terminator(term);
    counting_handler h;
    for (auto _ : state)
    {
        std::memcpy(s.prepare(reads.size()), reads.data(), reads.size());
        s.commit(reads.size());
        s.process(h);
        s.discard();
        if (reset_count)
            s.set_terminator(term);
    }
    benchmark::DoNotOptimize(h.bytes);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * reads.size()));
    state.counters["messages/s"] =
        benchmark::Counter(static_cast<double>(h.messages), benchmark::Counter::kIsRate);
}

void string_terminator(benchmark::State& state, std::string term)
{
    std::string const reads = make_reads(static_cast<std::size_t>(state.range(0)), term);
    scan(state, term, reads, false);
}

void numeric_terminator(benchmark::State& state)
{
    // The count re-armed by found_terminator() in real code; here each message is `range` bytes.
    struct rearming : counting_handler
    {
        asynchat::detail::input_scanner* s;
        std::size_t n;
        void found_terminator()
        {
            ++messages;
            s->set_terminator(n);
        }
    };
    std::string const reads = make_reads(static_cast<std::size_t>(state.range(0)), "");
    asynchat::detail::input_scanner s;
    rearming h;
    h.s = &s;
    h.n = static_cast<std::size_t>(state.range(0));
    s.set_terminator(h.n);
    for (auto _ : state)
    {
        std::memcpy(s.prepare(reads.size()), reads.data(), reads.size());
        s.commit(reads.size());
        s.process(h);
    }
    benchmark::DoNotOptimize(h.bytes);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * reads.size()));
    state.counters["messages/s"] =
        benchmark::Counter(static_cast<double>(h.messages), benchmark::Counter::kIsRate);
}

// The ceiling for one-byte terminators: memchr over the same reads (and the same memcpy).
void memchr_ceiling(benchmark::State& state)
{
    std::string const reads = make_reads(static_cast<std::size_t>(state.range(0)), "\n");
    std::string buffer(reads.size(), '\0');
    std::size_t found = 0;
    for (auto _ : state)
    {
        std::memcpy(buffer.data(), reads.data(), reads.size());
        char const* p = buffer.data();
        char const* end = p + buffer.size();
        while (auto const* hit =
                   static_cast<char const*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))
        )
        {
            ++found;
            p = hit + 1;
        }
    }
    benchmark::DoNotOptimize(found);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * reads.size()));
}

} // namespace

BENCHMARK(memchr_ceiling)->Arg(32)->Arg(4096);
BENCHMARK_CAPTURE(string_terminator, lf, std::string("\n"))->Arg(32)->Arg(4096);
BENCHMARK_CAPTURE(string_terminator, crlf, std::string("\r\n"))->Arg(32)->Arg(4096);
BENCHMARK_CAPTURE(string_terminator, crlfcrlf, std::string("\r\n\r\n"))->Arg(32)->Arg(4096);
BENCHMARK(numeric_terminator)->Arg(32)->Arg(4096);

BENCHMARK_MAIN();
