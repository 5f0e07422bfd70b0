// asynchat: the channel map, asyncore's socket_map as a service of the execution context
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_CHANNEL_MAP_HPP
#define ASYNCHAT_DETAIL_CHANNEL_MAP_HPP

#include <asynchat/channel_logger.hpp>

#include <boost/asio/execution_context.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace asynchat::detail {

/// What the map needs from a channel (async_chat or dispatcher_base). Both calls are thread-safe.
/// It derives from channel_logger so that a channel has one virtual table pointer for both.
class channel_base : public channel_logger
{
public:
    /// Close the channel (asyncore's close_all calls close()).
    virtual void map_close() = 0;

    /// Re-evaluate readable()/writable() and start what they allow (once per loop() pass).
    virtual void map_refresh() = 0;

protected:
    ~channel_base() = default;
};

/** The registry of open channels of one execution context.

    Channels add themselves when they start and remove themselves when they close. Entries are
    weak, so the map never keeps a channel alive, and one destroyed without closing (its
    io_context went away first) is pruned when next seen. A mutex guards the map: channels on
    different strands open and close concurrently. The I/O path never touches it.

    The entries are a vector of slots, and each channel keeps the index of its own (a 32-bit
    `slot`, put where the channel's layout had padding), rather than a hash map keyed by the
    channel: the hash map's node and bucket (48 + 8 bytes of heap) were the largest allocation
    an idle connection had after its channel, its socket's reactor state and its read wait; a
    slot is 16 bytes. Freed slots are reused.
*/
class channel_map : public boost::asio::execution_context::service
{
public:
    static boost::asio::execution_context::id id;

    explicit channel_map(boost::asio::execution_context& ctx);

    /// The map of `ctx`, created on first use.
    static channel_map& of(boost::asio::execution_context& ctx)
    {
        return boost::asio::use_service<channel_map>(ctx);
    }

    /// The slot of a channel not in the map.
    static constexpr std::uint32_t no_slot = static_cast<std::uint32_t>(-1);

    /** Add `channel`, and set `slot` to its place; nothing if `slot` holds it already.

        `slot` is the channel's own, no_slot at first, and read and written only by the map
        (under its mutex). Throws std::length_error beyond 2^32 - 1 channels.
    */
    void add(std::uint32_t& slot, std::weak_ptr<channel_base> const& channel);

    /// Remove the channel of `slot`, if the map still holds it there (close_all() and the
    /// io_context's shutdown empty the map); `slot` becomes no_slot.
    void remove(std::uint32_t& slot, std::weak_ptr<channel_base> const& channel) noexcept;

    /// The number of live channels.
    std::size_t size();

    /// The live channels, in no particular order.
    std::vector<std::shared_ptr<channel_base>> snapshot();

    /// The live channels; the map is left empty.
    std::vector<std::shared_ptr<channel_base>> take_all();

    // loop() numbers its passes, so that a level-triggered dispatcher that is ready again at
    // once waits for the next pass (one event of each kind per channel per pass, as one
    // select() call gives) instead of keeping the pass busy forever.

    /// True while a loop() runs on this context.
    bool looping() const noexcept { return loops_.load(std::memory_order_relaxed) != 0; }

    /// The number of the current loop() pass.
    std::uint64_t pass() const noexcept { return pass_.load(std::memory_order_relaxed); }

    /// Count an idle event: one a channel repeats for a handle that stays ready while its
    /// handler moves no bytes. loop() does not count these as events: a pass that had only
    /// such events still waits (at most dispatcher_base::idle_retry), so that they cannot spin.
    void note_idle_event() noexcept { idle_events_.fetch_add(1, std::memory_order_relaxed); }

    /// The number of idle events so far.
    std::uint64_t idle_events() const noexcept
    {
        return idle_events_.load(std::memory_order_relaxed);
    }

    /// Marks a loop() as running for its lifetime.
    class loop_scope
    {
    public:
        explicit loop_scope(channel_map& map) : map_(map) { ++map_.loops_; }
        ~loop_scope() { --map_.loops_; }
        loop_scope(loop_scope const&) = delete;
        loop_scope& operator=(loop_scope const&) = delete;

        /// Begin a new pass.
        void next_pass() noexcept { ++map_.pass_; }

    private:
        channel_map& map_;
    };

private:
    void shutdown() override;
    // Free the slots of channels destroyed without closing.
    void prune();
    // Put the emptied `slot` on the free list.
    void free_slot(std::uint32_t slot) noexcept;

    // The map's content, so that take_all() and shutdown() swap it out in one go.
    struct slots
    {
        std::vector<std::weak_ptr<channel_base>> channels; // empty where free
        std::vector<std::uint32_t> free;                   // the free slots
        std::size_t live = 0;                              // the slots in use
    };
    // True if `a` and `b` share ownership (point to the same channel, live or not).
    static bool same(std::weak_ptr<channel_base> const& a, std::weak_ptr<channel_base> const& b)
    {
        return !a.owner_before(b) && !b.owner_before(a);
    }

    std::mutex mutex_;
    slots slots_;
    std::atomic<int> loops_{0};
    std::atomic<std::uint64_t> pass_{0};
    std::atomic<std::uint64_t> idle_events_{0};
};

} // namespace asynchat::detail

#endif
