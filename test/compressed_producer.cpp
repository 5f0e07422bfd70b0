// asynchat: tests of compressed_producer (built with zlib only)
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include <asynchat/compressed_producer.hpp>
#include <asynchat/producers.hpp>

#define BOOST_TEST_MODULE compressed_producer
#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include <zlib.h>

#include "support/golden.hpp"
#include "support/loopback.hpp"
#include "support/medusa.hpp"

using namespace asynchat::test;

namespace {

// Decompress a zlib stream, which may stop at a flush point: (the data, whether the stream
// ended). Throws std::runtime_error on corrupt data.
std::pair<std::string, bool> inflate_all(std::string const& stream)
{
    z_stream z{};
    if (inflateInit(&z) != Z_OK)
        throw std::runtime_error("inflateInit failed");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stream.data()));
    z.avail_in = static_cast<uInt>(stream.size());
    std::string out;
    int status = Z_OK;
    while (status == Z_OK)
    {
        char buffer[16384];
        z.next_out = reinterpret_cast<Bytef*>(buffer);
        z.avail_out = sizeof buffer;
        status = inflate(&z, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - z.avail_out);
        if (status == Z_OK && z.avail_in == 0 && z.avail_out != 0)
            break; // all input used: a flush point
    }
    bool const ended = status == Z_STREAM_END;
    bool const trailing = ended && z.avail_in != 0;
    inflateEnd(&z);
    if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR)
        throw std::runtime_error("inflate: corrupt stream (" + std::to_string(status) + ")");
    if (trailing)
        throw std::runtime_error("inflate: bytes after the end of the stream");
    return {out, ended};
}

// The data a case's producers send, decoded: dechunked if the outermost is chunked_producer,
// then decompressed (the stream must end).
std::string decoded(medusa_case const& c, std::string const& sent)
{
    std::string stream = c.chain.front().kind == "chunked" ? dechunk(sent).first : sent;
    auto [data, ended] = inflate_all(stream);
    if (!ended)
        throw std::runtime_error("the zlib stream does not end");
    return data;
}

// Where a scripted producer returns not_ready().
constexpr auto not_yet = std::nullopt;

// Hands out its steps in order, a string or not_yet (not_ready()), then "".
class scripted : public asynchat::producer
{
public:
    explicit scripted(std::vector<std::optional<std::string>> steps) : steps_(std::move(steps)) {}

    std::string more() override
    {
        if (next_ == steps_.size())
            return {};
        auto const& step = steps_[next_++];
        return step ? *step : not_ready();
    }

private:
    std::vector<std::optional<std::string>> steps_;
    std::size_t next_ = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(medusa_byte_for_byte)

BOOST_AUTO_TEST_CASE(same_stream_as_medusa_and_the_input_back)
{
    bool const same_zlib = medusa_zlib_version() == zlibVersion();
    if (!same_zlib)
        BOOST_TEST_MESSAGE(
            "zlib " << zlibVersion() << " here, " << medusa_zlib_version()
                    << " in the recording: the compressed bytes may differ; only the round "
                       "trips are compared"
        );
    std::size_t cases = 0;
    for (medusa_case const& c : medusa_cases())
    {
        if (!c.compressed())
            continue;
        BOOST_TEST_CONTEXT(c.name)
        {
            // Setup
            auto log = std::make_shared<hook_log>();
            auto p = build_medusa(c, log);

            // Event
            std::vector<std::string> const pieces = drain(*p, log.get());

            // Check: Medusa's pieces (same zlib); both decompress to the input, Python's
            // decompression of Medusa's stream too.
            if (same_zlib)
                BOOST_TEST(hex(pieces) == hex(c.more), boost::test_tools::per_element());
            BOOST_TEST(hex(decoded(c, joined(pieces))) == hex(c.input()));
            BOOST_TEST(hex(decoded(c, c.sent)) == hex(c.input()));
            if (c.decompressed)
                BOOST_TEST(hex(*c.decompressed) == hex(c.input()));
            BOOST_TEST(!c.fixed);
            ++cases;
        }
    }
    BOOST_TEST(cases >= 10u);
}

BOOST_AUTO_TEST_CASE(wrapping_a_producer_that_is_not_ready)
{
    for (medusa_case const& c : medusa_cases())
    {
        if (!c.compressed())
            continue;
        BOOST_TEST_CONTEXT(c.name)
        {
            // Setup: the innermost producer returns not_ready() before each piece and the end.
            auto log = std::make_shared<hook_log>();
            auto p = build_medusa(c, log, true);

            // Event
            auto const [stream, waits] = drain_waiting(*p);

            // Check: a valid stream of the same data (with flush points where it waited).
            BOOST_TEST(waits >= 1u);
            BOOST_TEST(hex(decoded(c, stream)) == hex(c.input()));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(waiting)

BOOST_AUTO_TEST_CASE(flushes_what_it_holds_then_waits)
{
    // Setup: a piece too small for zlib to emit anything but its header, then a long wait.
    asynchat::compressed_producer p(std::make_unique<scripted>(
        std::vector<std::optional<std::string>>{"hello", not_yet, not_yet, "!"}
    ));

    // Event: pull until it returns "": the header, then at the first wait a flush, then at
    // the second not_ready().
    std::string stream;
    std::string piece;
    while (!(piece = puller::next(p)).empty())
        stream += piece;

    // Check: it waits, and what it gave so far decompresses to all of "hello".
    BOOST_TEST(p.waiting());
    auto const [so_far, ended] = inflate_all(stream);
    BOOST_TEST(so_far == "hello");
    BOOST_TEST(!ended);

    // Event, check: once resumed, the rest and the end of the stream.
    while (!(piece = puller::next(p)).empty())
        stream += piece;
    BOOST_TEST(!p.waiting());
    auto const [all, complete] = inflate_all(stream);
    BOOST_TEST(all == "hello!");
    BOOST_TEST(complete);
    BOOST_TEST(puller::next(p) == "");
}

BOOST_AUTO_TEST_CASE(a_wait_with_nothing_held_is_not_a_flush)
{
    // Setup: waits first, then twice in a row after a piece.
    asynchat::compressed_producer p(std::make_unique<scripted>(
        std::vector<std::optional<std::string>>{not_yet, "abc", not_yet, not_yet, "def"}
    ));

    // Event, check: the first wait gives nothing (no input yet).
    BOOST_TEST(puller::next(p) == "");
    BOOST_TEST(p.waiting());
    std::string stream = puller::next(p); // "abc" in: the zlib header out
    BOOST_TEST(!stream.empty());
    std::string const flushed = puller::next(p); // the wait: a flush
    BOOST_TEST(!flushed.empty());
    BOOST_TEST(!p.waiting());
    stream += flushed;
    BOOST_TEST(puller::next(p) == ""); // the second wait: nothing new to flush
    BOOST_TEST(p.waiting());
    std::string piece;
    while (!(piece = puller::next(p)).empty())
        stream += piece;
    BOOST_TEST(inflate_all(stream).first == "abcdef");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(construction)

BOOST_AUTO_TEST_CASE(rejects_a_null_producer_and_a_bad_level)
{
    auto inner = [] { return std::make_unique<asynchat::simple_producer>("x"); };
    BOOST_CHECK_THROW(asynchat::compressed_producer(nullptr), std::invalid_argument);
    BOOST_CHECK_THROW(asynchat::compressed_producer(inner(), 10), std::invalid_argument);
    BOOST_CHECK_THROW(asynchat::compressed_producer(inner(), -2), std::invalid_argument);
    BOOST_CHECK_NO_THROW(asynchat::compressed_producer(inner(), -1));
    BOOST_CHECK_NO_THROW(asynchat::compressed_producer(inner(), 9));
}

BOOST_AUTO_TEST_CASE(read_ahead_is_the_inner_ones)
{
    asynchat::compressed_producer ahead(std::make_unique<asynchat::simple_producer>("x"));
    asynchat::compressed_producer hooked(std::make_unique<asynchat::hooked_producer>(
        std::make_unique<asynchat::simple_producer>("x"), [](std::size_t) {}
    ));
    BOOST_TEST(ahead.read_ahead());
    BOOST_TEST(!hooked.read_ahead());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(over_sockets)

BOOST_AUTO_TEST_CASE(the_peer_decompresses_the_input)
{
    bool const same_zlib = medusa_zlib_version() == zlibVersion();
    for (medusa_case const& c : medusa_cases())
    {
        if (!c.compressed())
            continue;
        for (bool const wait : {false, true})
        {
            BOOST_TEST_CONTEXT(c.name << (wait ? ", waiting inner" : ""))
            {
                // Setup, event: data, the producers, data, close_when_done().
                tcp_run const run = run_over_tcp(c, wait);

                // Check: the data around it in place, the stream decompresses to the input
                // (and is Medusa's, with the same zlib and no wait).
                BOOST_TEST(run.closed);
                BOOST_TEST(run.drained);
                std::string const& r = run.received;
                BOOST_TEST_REQUIRE(r.size() > medusa_before.size() + medusa_after.size());
                BOOST_TEST(r.substr(0, medusa_before.size()) == medusa_before);
                BOOST_TEST(r.substr(r.size() - medusa_after.size()) == medusa_after);
                std::string const body = r.substr(
                    medusa_before.size(), r.size() - medusa_before.size() - medusa_after.size()
                );
                BOOST_TEST(hex(decoded(c, body)) == hex(c.input()));
                if (same_zlib && !wait)
                    BOOST_TEST(hex(body) == hex(c.sent));
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
