// asynchat: fuzz target: the input scanner against a reference model, and chunking invariance
// SPDX-License-Identifier: BSL-1.0
//
// The input describes a byte stream, how it is split into reads, an initial terminator, and
// the terminator found_terminator() sets each time. The scanner, fed that way, must deliver
// the same events (adjacent collects merged) as (1) the scanner fed everything at once and
// (2) a reference model written as plainly as possible over the whole stream; the bytes held
// at the end and the final terminator must agree too. Any difference aborts.
#include <asynchat/detail/input_scanner.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fuzzer/FuzzedDataProvider.h>
#include <optional>
#include <string>
#include <vector>

using asynchat::terminator;

namespace {

struct outcome
{
    std::vector<std::string> events; // "C<bytes>" (merged) or "T<terminator>"
    std::string pending;
    terminator final_terminator;
};

std::string repr(terminator const& t)
{
    if (auto const* s = std::get_if<std::string>(&t))
        return "s" + *s;
    if (auto const* n = std::get_if<std::size_t>(&t))
        return "n" + std::to_string(*n);
    return "none";
}

void add_collect(std::vector<std::string>& events, std::string_view data)
{
    if (!events.empty() && events.back()[0] == 'C')
        events.back().append(data);
    else
        events.push_back("C" + std::string(data));
}

bool falsy(terminator const& t)
{
    if (auto const* s = std::get_if<std::string>(&t))
        return s->empty();
    if (auto const* n = std::get_if<std::size_t>(&t))
        return *n == 0;
    return true;
}

// The reference: CPython's semantics over the whole stream, no buffers, no cleverness.
outcome
reference(std::string const& stream, terminator term, std::vector<terminator> const& changes)
{
    outcome out;
    std::size_t pos = 0;
    std::size_t found = 0;
    auto on_found = [&]
    {
        out.events.push_back("T" + repr(term));
        if (found < changes.size())
            term = changes[found];
        ++found;
    };
    while (pos < stream.size())
    {
        std::string const rest = stream.substr(pos);
        if (falsy(term))
        {
            add_collect(out.events, rest);
            pos = stream.size();
        }
        else if (auto const* n = std::get_if<std::size_t>(&term))
        {
            std::size_t const take = std::min(*n, rest.size());
            add_collect(out.events, rest.substr(0, take));
            pos += take;
            if (take == *n)
            {
                term = std::size_t(0);
                on_found();
            }
            else
            {
                term = *n - take;
            }
        }
        else
        {
            std::string const s = std::get<std::string>(term);
            std::size_t const index = rest.find(s);
            if (index != std::string::npos)
            {
                if (index > 0)
                    add_collect(out.events, rest.substr(0, index));
                pos += index + s.size();
                on_found();
                continue;
            }
            // No whole terminator: keep the longest proper prefix of it that ends the stream.
            std::size_t keep = 0;
            for (std::size_t k = 1; k < s.size() && k <= rest.size(); ++k)
                if (rest.compare(rest.size() - k, k, s, 0, k) == 0)
                    keep = k;
            if (rest.size() > keep)
                add_collect(out.events, rest.substr(0, rest.size() - keep));
            out.pending = rest.substr(rest.size() - keep);
            pos = stream.size();
        }
    }
    out.final_terminator = term;
    return out;
}

struct handler
{
    asynchat::detail::input_scanner& scanner;
    std::vector<terminator> const& changes;
    outcome& out;
    std::size_t found = 0;

    void collect(std::string_view data)
    {
        if (data.empty())
            std::abort(); // CPython never reports the empty string
        add_collect(out.events, data);
    }
    void found_terminator()
    {
        out.events.push_back("T" + repr(scanner.get_terminator()));
        if (found < changes.size())
            scanner.set_terminator(changes[found]);
        ++found;
    }
    bool proceed() const { return true; }
    void message_too_long() { std::abort(); }
};

outcome scan(
    std::string const& stream,
    std::vector<std::size_t> const& chunks,
    terminator initial,
    std::vector<terminator> const& changes
)
{
    outcome out;
    asynchat::detail::input_scanner s;
    s.set_terminator(std::move(initial));
    handler h{s, changes, out};
    std::size_t pos = 0;
    for (std::size_t i = 0; pos < stream.size(); ++i)
    {
        std::size_t const n =
            std::min(i < chunks.size() ? chunks[i] : stream.size(), stream.size() - pos);
        std::memcpy(s.prepare(n), stream.data() + pos, n);
        s.commit(n);
        s.process(h);
        pos += n;
    }
    out.pending = std::string(s.pending());
    out.final_terminator = s.get_terminator();
    return out;
}

terminator pick_terminator(FuzzedDataProvider& in)
{
    switch (in.ConsumeIntegralInRange<int>(0, 7))
    {
    case 0:
        return std::monostate{};
    case 1:
    case 2:
        return in.ConsumeIntegralInRange<std::size_t>(0, 64);
    default: {
        // Short terminators over a small alphabet, so that they and their prefixes recur.
        std::string s;
        std::size_t const len = in.ConsumeIntegralInRange<std::size_t>(0, 6);
        for (std::size_t i = 0; i < len; ++i)
            s.push_back("ab\r\n"[in.ConsumeIntegralInRange<int>(0, 3)]);
        return s;
    }
    }
}

void check(bool ok, char const* what)
{
    if (!ok)
    {
        std::fprintf(stderr, "mismatch: %s\n", what);
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    terminator const initial = pick_terminator(in);
    std::vector<terminator> changes(in.ConsumeIntegralInRange<std::size_t>(0, 16));
    for (auto& c : changes)
        c = pick_terminator(in);
    std::vector<std::size_t> chunks(in.ConsumeIntegralInRange<std::size_t>(0, 32));
    for (auto& c : chunks)
        c = in.ConsumeIntegralInRange<std::size_t>(1, 16);
    std::string stream;
    for (unsigned char c : in.ConsumeRemainingBytesAsString())
        stream.push_back(c < 200 ? "ab\r\n"[c % 4] : static_cast<char>(c));

    outcome const chunked = scan(stream, chunks, initial, changes);
    outcome const whole = scan(stream, {}, initial, changes);
    outcome const model = reference(stream, initial, changes);

    check(chunked.events == whole.events, "chunked vs whole: events");
    check(chunked.pending == whole.pending, "chunked vs whole: pending bytes");
    check(
        repr(chunked.final_terminator) == repr(whole.final_terminator),
        "chunked vs whole: terminator"
    );
    check(whole.events == model.events, "scanner vs reference: events");
    check(whole.pending == model.pending, "scanner vs reference: pending bytes");
    check(
        repr(whole.final_terminator) == repr(model.final_terminator),
        "scanner vs reference: terminator"
    );
    return 0;
}
