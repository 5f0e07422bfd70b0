// asynchat: test support: the golden traces recorded from CPython's asynchat
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_GOLDEN_HPP
#define ASYNCHAT_TEST_SUPPORT_GOLDEN_HPP

#include <asynchat/terminator.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asynchat::test {

/// One scenario of test/data/golden_traces.txt (see test/tools/make_golden_traces.py).
struct golden_scenario
{
    std::string name;
    std::string stream;
    std::vector<std::size_t> chunks;
    std::size_t buffer_size = 0;
    terminator initial;
    std::vector<std::optional<terminator>> changes; // nullopt: keep the terminator
    std::vector<std::string> events;                // "C <hex>" and "T <term>", as recorded
    terminator final_terminator;
    std::string final_pending;
};

/// Parse the file; throws std::runtime_error naming the line on malformed input.
std::vector<golden_scenario> load_golden(std::string const& path);

/// The golden traces shipped with the tests.
std::vector<golden_scenario> const& golden_traces();

/// Encode as the trace file does: "none", "s:<hex>" or "n:<count>".
std::string term_repr(terminator const& t);
std::string hex(std::string_view bytes);

/// Merge adjacent "C" events: the form that does not depend on how the stream was split.
std::vector<std::string> normalise(std::vector<std::string> const& events);

/**
    Records hook calls as trace lines and applies a scenario's terminator changes. Used by the
    sans-I/O tests (through the scanner's handler interface) and by the socket tests (from a
    channel's hooks).
*/
class trace_recorder
{
public:
    explicit trace_recorder(std::vector<std::optional<terminator>> changes = {})
        : changes_(std::move(changes))
    {
    }

    void on_collect(std::string_view data) { events.push_back("C " + hex(data)); }

    /// Record the call; return the terminator to set now, if any.
    std::optional<terminator> on_found(terminator const& current)
    {
        events.push_back("T " + term_repr(current));
        std::size_t const k = found_++;
        return k < changes_.size() ? changes_[k] : std::nullopt;
    }

    std::vector<std::string> events;

private:
    std::vector<std::optional<terminator>> changes_;
    std::size_t found_ = 0;
};

} // namespace asynchat::test

#endif
