// asynchat: test support: Medusa's producers' output, recorded by test/tools/medusa_reference.py
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_MEDUSA_HPP
#define ASYNCHAT_TEST_SUPPORT_MEDUSA_HPP

#include <asynchat/producer.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/golden.hpp"

namespace asynchat::test {

/// One case of test/data/medusa_producers.txt (the format is in the script's docstring).
struct medusa_case
{
    struct layer
    {
        std::string kind;              // lines, buffer_list, globbing, hooked, chunked, ...
        std::vector<std::string> args; // hex arguments decoded, numbers as written
    };

    std::string name;
    std::vector<layer> chain; // the outermost first
    std::optional<std::vector<std::string>> items;
    std::optional<std::vector<std::string>> inner;
    std::vector<std::string> more; // Medusa's more() results, the last one empty
    std::string sent;              // what a channel sends of Medusa's
    std::vector<std::pair<std::size_t, std::size_t>> called; // (more() call, count)
    std::optional<std::string> fixed;                        // what asynchat sends instead
    std::string because;                                     // why
    std::optional<std::string> decompressed;

    /// What asynchat's producers must send.
    std::string const& expected() const { return fixed ? *fixed : sent; }

    /// True if one of the producers is a compressed_producer.
    bool compressed() const;

    /// The bytes the innermost producer hands out (the lines with their CRLFs, for lines).
    std::string input() const;
};

/// Parse the file; throws std::runtime_error naming the line on malformed input.
std::vector<medusa_case> load_medusa(std::string const& path);

/// The recorded cases shipped with the tests.
std::vector<medusa_case> const& medusa_cases();

/// The zlib version the recording ran with (the file's `zlib` line).
std::string const& medusa_zlib_version();

/** The innermost producer of a case: hands out the given pieces, one per more(), then "".

    With `wait` set it first returns not_ready() before every piece and before the end, calling
    `on_wait` (if set) with its resumer() each time.
*/
class piece_producer : public producer
{
public:
    explicit piece_producer(std::vector<std::string> pieces, bool wait = false)
        : pieces_(std::move(pieces)), wait_(wait)
    {
    }

    std::string more() override;

    /// Follows `read_ahead`, a test's choice.
    bool read_ahead() const noexcept override { return read_ahead_; }

    std::function<void(std::function<void()>)> on_wait;
    bool read_ahead_ = true;
    std::size_t waits = 0;

private:
    std::vector<std::string> pieces_;
    std::size_t next_ = 0;
    bool wait_;
    bool waited_ = false;
};

/// What a case's hooked_producer reported: (more() call number, byte count) per call.
struct hook_log
{
    std::size_t call = 0; // the number of the top-level more() call under way; the driver sets it
    std::vector<std::pair<std::size_t, std::size_t>> calls;
    std::function<std::uint64_t()> sent;     // if set, read at each call: a channel's bytes_sent()
    std::vector<std::uint64_t> sent_at_call; // what it read
};

/// The case's producers, as Medusa's were built by the script; the innermost is a
/// piece_producer made with `wait` and `on_wait`.
std::unique_ptr<producer> build_medusa(
    medusa_case const& c,
    std::shared_ptr<hook_log> const& log,
    bool wait = false,
    std::function<void(std::function<void()>)> on_wait = {}
);

/// Calls more() of a producer as a channel does, through producer's protected pull(), so that
/// waiting() reports its last answer.
struct puller : producer
{
    static std::string next(producer& p) { return pull(p); }
    std::string more() override { return {}; }
};

/// Each piece in hex (as golden.hpp's hex() of one string).
std::vector<std::string> hex(std::vector<std::string> const& pieces);

/// The pieces joined.
std::string joined(std::vector<std::string> const& pieces);

/** The more() results of a producer that never waits, up to the empty one that ends the stream;
    `log->call` numbers the calls from 1. Throws std::runtime_error if it returns not_ready(),
    or no empty string within 100000 calls.
*/
std::vector<std::string> drain(producer& p, hook_log* log = nullptr);

/** What a channel sends of a producer that may wait: more() again after each not_ready(), as
    after a resume(); also the number of not_ready() answers. Throws std::runtime_error if there
    is no end within 100000 calls.
*/
std::pair<std::string, std::size_t> drain_waiting(producer& p);

/// HTTP/1.1 chunked coding decoded: the data and the trailer fields; throws
/// std::runtime_error on a framing error.
std::pair<std::string, std::vector<std::string>> dechunk(std::string const& body);

/// What run_over_tcp() pushes before and after the case's producers.
extern std::string const medusa_before;
extern std::string const medusa_after;

/// The outcome of run_over_tcp().
struct tcp_run
{
    std::string received;                                         // what the peer read until EOF
    bool closed = false;                                          // the channel closed in time
    bool drained = false;                                         // its io_context ran out of work
    std::shared_ptr<hook_log> log = std::make_shared<hook_log>(); // the hooked_producers' calls
};

/** Push medusa_before, the case's producers, medusa_after and close_when_done() into a channel
    over TCP loopback, and read what the peer receives until EOF.

    With `wait`, the innermost producer returns not_ready() before each piece and has itself
    resumed from the io_context, after more() returned. `log->sent_at_call` gets the channel's
    bytes_sent() at each hooked_producer call.
*/
tcp_run run_over_tcp(medusa_case const& c, bool wait);

} // namespace asynchat::test

#endif
