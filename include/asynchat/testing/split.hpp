// asynchat: test kit: where a byte stream is cut into reads, and policies that choose the cuts
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_SPLIT_HPP
#define ASYNCHAT_TESTING_SPLIT_HPP

#include <asynchat/testing/escaped.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace asynchat::testing {

/** Where a byte stream is cut into pieces: the offsets of the cuts, strictly increasing, each
    inside the stream (between 1 and size - 1). `{}` is the stream in one piece; `{3, 17}` cuts a
    20-byte stream into 3, 14 and 3 bytes.
*/
using split = std::vector<std::size_t>;

/** `cuts` written as `{3, 17}`, as a test would type it to replay the split.

    @par Python
    No equivalent.
*/
inline std::string to_string(split const& cuts)
{
    std::string out = "{";
    for (std::size_t i = 0; i < cuts.size(); ++i)
        out += (i ? ", " : "") + std::to_string(cuts[i]);
    return out + "}";
}

/** The pieces `stream` is cut into at `cuts`: views into `stream`, none empty.

    @throws std::invalid_argument if the cuts are not strictly increasing, or one is 0 or not
    inside the stream.

    @par Python
    No equivalent.
*/
inline std::vector<std::string_view> pieces(std::string_view stream, split const& cuts)
{
    std::vector<std::string_view> out;
    std::size_t from = 0;
    for (std::size_t cut : cuts)
    {
        if (cut <= from || cut >= stream.size())
            throw std::invalid_argument(
                "asynchat::testing::pieces: split " + to_string(cuts) +
                " does not cut a stream of " + detail::counted(stream.size(), "byte") +
                " (cuts strictly increasing, from 1 to " + "size - 1)"
            );
        out.push_back(stream.substr(from, cut - from));
        from = cut;
    }
    out.push_back(stream.substr(from));
    return out;
}

/** Which splits of a stream a check tries (see check_splits()).

    A value type, made by one of the static functions; splits() lists the splits for a stream
    of a given size, in the order they are run.

    @par Python
    CPython's test_asynchat reads with chunk sizes 1, 2 and 3 "to exercise all branches"; these
    policies cut at every place instead.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe for const calls.
*/
class split_policy
{
public:
    /** Every single cut: `{1}`, `{2}`, ... `{size - 1}`, so every pair of adjacent bytes is
        once in two different reads (a split terminator, a split number, a split UTF-8 char).
    */
    static split_policy every_boundary() { return split_policy(kind::every_boundary, 0, 0, 0); }

    /** Every pair of cuts, `{i, j}` with `i < j`: (size - 1)(size - 2)/2 runs, so it refuses
        streams longer than `max_stream_size` (splits() throws), which keeps checks fast: 64
        bytes is 1,953 runs.

        @param max_stream_size The longest stream accepted, in bytes.
    */
    static split_policy every_pair(std::size_t max_stream_size)
    {
        return split_policy(kind::every_pair, max_stream_size, 0, 0);
    }

    /// The stream one byte a read: the one split `{1, 2, ..., size - 1}`.
    static split_policy one_byte_at_a_time()
    {
        return split_policy(kind::one_byte_at_a_time, 0, 0, 0);
    }

    /** `runs` random splits, each of 1 to `max_cuts` cuts at distinct random places, drawn from
        `seed` by SplitMix64: the same seed gives the same splits on every platform and standard
        library (the failure report prints the split itself, too).

        @param seed Any value; a test usually fixes it.
        @param runs How many splits.
        @param max_cuts The most cuts in a split (at least 1).
    */
    static split_policy
    seeded_random(std::uint64_t seed, std::size_t runs, std::size_t max_cuts = 16)
    {
        return split_policy(kind::seeded_random, std::max<std::size_t>(max_cuts, 1), seed, runs);
    }

    /// The policy as a test would write it, e.g. `every_pair(64)` or `seeded_random(7, 20, 16)`.
    std::string name() const
    {
        switch (kind_)
        {
        case kind::every_boundary:
            return "every_boundary()";
        case kind::every_pair:
            return "every_pair(" + std::to_string(limit_) + ")";
        case kind::one_byte_at_a_time:
            return "one_byte_at_a_time()";
        case kind::seeded_random:
            break;
        }
        return "seeded_random(" + std::to_string(seed_) + ", " + std::to_string(runs_) + ", " +
               std::to_string(limit_) + ")";
    }

    /** The splits of a stream of `stream_size` bytes, in the order a check runs them.

        A stream of 0 or 1 byte has no place to cut: the list is empty.

        @throws std::invalid_argument for every_pair() and a stream longer than its limit.
    */
    std::vector<split> splits(std::size_t stream_size) const
    {
        std::vector<split> out;
        if (kind_ == kind::every_pair && stream_size > limit_)
            throw std::invalid_argument(
                "asynchat::testing::split_policy::every_pair(" + std::to_string(limit_) +
                "): the stream has " + detail::counted(stream_size, "byte") + ", more than the " +
                std::to_string(limit_) + " this check accepts ((n - 1)(n - 2)/2 runs)"
            );
        if (stream_size < 2)
            return out;
        std::size_t const last = stream_size - 1; // the last place to cut
        switch (kind_)
        {
        case kind::every_boundary:
            for (std::size_t i = 1; i <= last; ++i)
                out.push_back({i});
            break;
        case kind::every_pair:
            for (std::size_t i = 1; i <= last; ++i)
                for (std::size_t j = i + 1; j <= last; ++j)
                    out.push_back({i, j});
            break;
        case kind::one_byte_at_a_time: {
            split all;
            for (std::size_t i = 1; i <= last; ++i)
                all.push_back(i);
            out.push_back(std::move(all));
            break;
        }
        case kind::seeded_random: {
            std::uint64_t state = seed_;
            for (std::size_t run = 0; run < runs_; ++run)
            {
                std::size_t const count = 1 + next(state) % std::min(last, limit_);
                split cuts;
                while (cuts.size() < count)
                {
                    std::size_t const cut = 1 + next(state) % last;
                    if (std::find(cuts.begin(), cuts.end(), cut) == cuts.end())
                        cuts.push_back(cut);
                }
                std::sort(cuts.begin(), cuts.end());
                out.push_back(std::move(cuts));
            }
            break;
        }
        }
        return out;
    }

private:
    enum class kind
    {
        every_boundary,
        every_pair,
        one_byte_at_a_time,
        seeded_random
    };

    split_policy(kind k, std::size_t limit, std::uint64_t seed, std::size_t runs)
        : kind_(k), limit_(limit), seed_(seed), runs_(runs)
    {
    }

    // SplitMix64 (Steele, Lea and Flood, 2014): one 64-bit state, fixed arithmetic, so the
    // sequence is the same everywhere, unlike std::uniform_int_distribution's.
    static std::uint64_t next(std::uint64_t& state) noexcept
    {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

    kind kind_;
    std::size_t limit_; // every_pair: the longest stream; seeded_random: the most cuts
    std::uint64_t seed_;
    std::size_t runs_;
};

} // namespace asynchat::testing

#endif
