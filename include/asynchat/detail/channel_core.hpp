// asynchat: the channel's decisions without I/O: states, the write steps, watermarks, timeouts,
// read pacing and the rule for user code
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_CHANNEL_CORE_HPP
#define ASYNCHAT_DETAIL_CHANNEL_CORE_HPP

#include <asynchat/detail/input_scanner.hpp>
#include <asynchat/detail/output_queue.hpp>

#include <boost/assert.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

namespace asynchat::detail {

/** What async_chat decides, as a plain object that is told what happened and answers what to do
    next; basic_async_chat carries the answers out with Asio and calls the hooks. Everything here
    is tested step by step without a network (test/detail/channel_core.cpp).

    Owns the receive side (input_scanner) and the send side (output_queue) and keeps:
    - the channel's state: unconnected -> connecting -> connected -> open -> closed (connected:
      on a connected stream, not started; open: started, I/O runs), with a TLS handshake between
      connected (or connecting) and open, or in the middle of open (STARTTLS);
    - the read side: idle, a read in flight, reads held until a STARTTLS handshake completes,
      the peer's EOF seen (handle_read_eof() decides what follows), the peer's EOF with
      handle_close() due once the output is written, or that handle_close() called;
    - the sending side shut down (shutdown_when_done()): what is pushed later is dropped;
    - a TLS close_notify due once the reads and writes in flight have ended after close();
    - the rule for user code: while user code of the channel runs (user_code() != 0), no I/O is
      started and no hook is called; the event that ran it carries on when it returns;
    - the write steps: what is due when no write is in flight (a close or error mark, the
      handle_close() of a drained EOF, a write);
    - the write watermarks and their hysteresis;
    - the idle and read timeouts, with time as an input (time points of `Clock`, which the core
      never reads: the channel passes its timer's clock, a test passes numbers);
    - the pacing of reads tried before waiting (sockets).

    Invariants (asserted): at most one read and one write in flight; a write is in flight exactly
    while output has a prepared batch; nothing starts while user code runs or before start().
*/
template <class Clock>
class basic_channel_core
{
public:
    using clock = Clock;
    using duration = typename Clock::duration;
    using time_point = typename Clock::time_point;

    enum class state : std::uint8_t
    {
        unconnected, // a client channel before connect()
        connecting,  // connect() in progress
        connected,   // on a connected stream, start() not yet run
        handshake,   // a TLS handshake in flight: the channel reads and writes nothing itself
        open,        // started: reads and writes run
        closed
    };

    enum class read_side : std::uint8_t
    {
        idle,        // no read in flight
        reading,     // a read (or the wait before it) in flight
        held,        // no read until the STARTTLS handshake completes (hold_reads())
        eof,         // the peer sent EOF; handle_read_eof() decides what follows
        eof_pending, // the peer sent EOF; handle_close() is due once the output is written
        eof_done     // that handle_close() was called
    };

    /// What the channel should do next on the sending side (see next_write()).
    enum class write_step : std::uint8_t
    {
        none,         // nothing now: a write is in flight, nothing is queued, the head producer is
                      // not ready, or not allowed
        handle_close, // call handle_close(): close_when_done()'s mark, or the drained EOF
        report_error, // report the error of a failed producer (error_out)
        shutdown,     // shut down the sending side: shutdown_when_done()'s mark
        write,        // ask writable(), then prepare() and write or pull
        send_file     // ask writable(), then send the file at the head itself (begin_file())
    };

    /// A watermark crossed (see watermark()).
    enum class crossing : std::uint8_t
    {
        none,
        high,
        low
    };

    input_scanner input;
    output_queue output;

    explicit basic_channel_core(bool connected_stream) noexcept
        : state_(connected_stream ? state::connected : state::unconnected), shut_(shut::no),
          teardown_(false), above_high_(false)
    {
    }

    //------------------------------------------------------------------------
    // State.

    state get_state() const noexcept { return state_; }
    bool connected() const noexcept
    {
        return state_ == state::connected || state_ == state::handshake || state_ == state::open;
    }
    bool open() const noexcept { return state_ == state::open; }
    bool closed() const noexcept { return state_ == state::closed; }

    /** start() ran: true if the channel starts now, false if it was closed before.

        @throws std::logic_error if it was started already (open, or connect() ran), or is a
        client channel not connected; the state is left as it was.
    */
    bool start()
    {
        if (state_ == state::closed)
            return false;
        if (state_ == state::unconnected)
            throw std::logic_error(
                "asynchat::async_chat::start: the channel is not connected (a client channel "
                "starts with connect())"
            );
        if (state_ != state::connected)
            throw std::logic_error("asynchat::async_chat::start: already started");
        state_ = state::open;
        return true;
    }

    /// connect() ran: true if a connect may begin (the channel is unconnected).
    bool begin_connect() noexcept
    {
        if (state_ != state::unconnected)
            return false;
        state_ = state::connecting;
        return true;
    }

    /// The connect completed: open on success, unconnected again on failure.
    void connect_done(bool ok) noexcept
    {
        BOOST_ASSERT(state_ == state::connecting);
        state_ = ok ? state::open : state::unconnected;
    }

    /// A TLS handshake begins: from connected (start()), connecting (connect()) or open
    /// (STARTTLS); nothing is read or written by the channel until handshake_done().
    void begin_handshake() noexcept
    {
        BOOST_ASSERT(
            state_ == state::connected || state_ == state::connecting || state_ == state::open
        );
        state_ = state::handshake;
    }

    /// The handshake succeeded: open, and reads held by hold_reads() may start again.
    void handshake_done() noexcept
    {
        BOOST_ASSERT(state_ == state::handshake);
        state_ = state::open;
        if (read_ == read_side::held)
            read_ = read_side::idle;
    }

    /// close(): returns the state it was in (closed if it already was).
    state close() noexcept { return std::exchange(state_, state::closed); }

    //------------------------------------------------------------------------
    // User code.

    /// How deep the channel's user code is nested now; no I/O starts and no hook runs unless 0.
    std::uint32_t user_code() const noexcept { return depth_; }
    void enter_user_code() noexcept
    {
        BOOST_ASSERT(depth_ != static_cast<std::uint16_t>(-1));
        ++depth_;
    }
    void leave_user_code() noexcept
    {
        BOOST_ASSERT(depth_ != 0);
        --depth_;
    }

    //------------------------------------------------------------------------
    // Reading.

    read_side reading() const noexcept { return read_; }

    /// True when a read may start now (readable() is asked next).
    bool may_read() const noexcept
    {
        return depth_ == 0 && state_ == state::open && read_ == read_side::idle;
    }

    void read_started() noexcept
    {
        BOOST_ASSERT(may_read());
        read_ = read_side::reading;
    }

    /// The read in flight completed (with bytes, nothing, or an error).
    void read_done() noexcept
    {
        if (read_ == read_side::reading)
            read_ = read_side::idle;
    }

    /// The peer sent EOF: no more reads; handle_read_eof() is due.
    void peer_eof() noexcept { read_ = read_side::eof; }

    /// handle_read_eof()'s default: handle_close() once the output is written (at once if the
    /// peer's EOF was not seen yet, it applies when it is; not again once called).
    void close_after_output() noexcept
    {
        if (read_ == read_side::eof)
            read_ = read_side::eof_pending;
    }

    /// The peer's EOF was seen (nothing unread can arrive any more).
    bool eof_seen() const noexcept
    {
        return read_ == read_side::eof || read_ == read_side::eof_pending ||
               read_ == read_side::eof_done;
    }

    /// STARTTLS: start no read, and deliver no more of what was read, until handshake_done().
    /// Only with no read in flight (the caller checks).
    void hold_reads() noexcept
    {
        BOOST_ASSERT(read_ != read_side::reading);
        if (read_ == read_side::idle)
            read_ = read_side::held;
    }

    /// True while input may be delivered: not closed, reads not held (the scanner's proceed()).
    bool delivering() const noexcept { return state_ != state::closed && read_ != read_side::held; }

    /** The pacing of socket reads: while the peer keeps sending (the last read held several
        messages, or filled the buffer), the next read is tried before waiting for readability;
        after a try that finds nothing, the next reads wait first, more of them after each miss
        (1, 2, 4, ... 16).
    */
    struct read_pacing
    {
        bool peer_streams = false;
        std::uint8_t skip = 0;    // waits still to make before the next try
        std::uint8_t backoff = 1; // waits after the next miss

        /// True if the next read should be tried at once; counts a wait otherwise.
        bool try_first() noexcept
        {
            if (peer_streams && skip == 0)
                return true;
            if (skip != 0)
                --skip;
            return false;
        }

        /// The try found bytes (true) or nothing.
        void tried(bool got) noexcept
        {
            if (got)
            {
                backoff = 1;
                return;
            }
            skip = backoff;
            backoff = static_cast<std::uint8_t>(std::min(2 * backoff, 16));
        }

        /// A read delivered `messages` messages and filled the buffer or not.
        void delivered(std::size_t messages, bool filled) noexcept
        {
            peer_streams = messages > 1 || filled;
        }
    };
    read_pacing pacing;

    //------------------------------------------------------------------------
    // Writing.

    /// True while a write is in flight.
    bool writing() const noexcept { return output.in_flight(); }

    /** The next step on the sending side, when no user code runs and no write is in flight.

        A close mark or the drained EOF gives handle_close (the EOF once); an error mark gives
        report_error with its exception in `error`; queued output gives write, or send_file
        when `send_files` (the channel can send a file_producer with sendfile(2): a TCP socket,
        and use_sendfile) and the head is a file that is due (output_queue::file_due()).
    */
    write_step next_write(std::exception_ptr& error, bool send_files = false) noexcept
    {
        if (depth_ != 0 || state_ != state::open || output.in_flight())
            return write_step::none;
        if (output.pop_mark(error))
            return error ? write_step::report_error : write_step::handle_close;
        if (shut_ == shut::due && output.empty())
        {
            shut_ = shut::done;
            return write_step::shutdown;
        }
        if (output.stalled())
            return write_step::none; // a producer not ready: wait for its resume()
        if (output.empty())
        {
            if (read_ != read_side::eof_pending)
                return write_step::none;
            read_ = read_side::eof_done;
            return write_step::handle_close;
        }
        if (send_files && output.file_due())
            return write_step::send_file;
        return write_step::write;
    }

    /// shutdown_when_done(): shut the sending side down once everything queued is written.
    void shutdown_when_done() noexcept
    {
        if (shut_ == shut::no)
            shut_ = shut::due;
    }

    /// True once shutdown_when_done() was called: what is pushed from then on is dropped.
    bool output_shut() const noexcept { return shut_ != shut::no; }

    //------------------------------------------------------------------------
    // Closing a TLS stream: after close(), the close_notify waits for the reads and writes in
    // flight to end (the TLS stream allows no other operation meanwhile).

    /// close() asks for a close_notify.
    void defer_teardown() noexcept { teardown_ = true; }

    /// True, once, when the close_notify asked for may be sent: closed, nothing in flight.
    bool take_teardown() noexcept
    {
        if (!teardown_ || state_ != state::closed || read_ == read_side::reading ||
            output.in_flight())
            return false;
        teardown_ = false;
        return true;
    }

    //------------------------------------------------------------------------
    // Watermarks.

    /// Report crossings of `high` (upward) and then `low` (downward); the caller checks low <=
    /// high. May throw std::bad_alloc (the first time watermarks or a timeout are set).
    void set_watermarks(std::size_t low, std::size_t high)
    {
        BOOST_ASSERT(low <= high);
        if (!rare_ && low == 0 && high == no_high_water)
            return; // the defaults: nothing to make
        rare().low_water = low;
        rare().high_water = high;
    }

    /** The crossing due now, if any, and taken: high once the queued bytes rose above the high
        mark, then low once they fell to the low mark, and so on. None while user code runs or
        before start(): the crossing is reported when the event that ran it carries on.
    */
    crossing watermark() noexcept
    {
        if (depth_ != 0 || state_ != state::open)
            return crossing::none;
        if (!rare_)
            return crossing::none; // no watermarks: never above the high one
        std::size_t const queued = output.bytes();
        if (above_high_ ? queued > rare_->low_water : queued <= rare_->high_water)
            return crossing::none;
        above_high_ = !above_high_;
        return above_high_ ? crossing::high : crossing::low;
    }

    //------------------------------------------------------------------------
    // Timeouts. Time is an input: `now` comes from the caller.

    /// Set the idle timeout (no byte in or out for `d`; zero: off); the clocks restart at `now`.
    void set_idle_timeout(duration d, time_point now) { set_timeout(&rare_state::idle, d, now); }

    /// Set the read timeout (no byte in for `d`; zero: off); the clocks restart at `now`.
    void set_read_timeout(duration d, time_point now) { set_timeout(&rare_state::read, d, now); }

    /// True if a timeout is set and the channel is open.
    bool timing() const noexcept
    {
        return rare_ && (state_ == state::open || state_ == state::handshake) && rare_->any();
    }

    /// Restart both clocks at `now` (start, and after a timeout the channel survived).
    void restart_clocks(time_point now) noexcept
    {
        if (rare_)
            rare_->last_read = rare_->last_io = now;
    }

    /// Bytes were read (true) or written at `now`.
    void bytes_moved(bool read, time_point now) noexcept
    {
        if (!rare_)
            return;
        rare_->last_io = now;
        if (read)
            rare_->last_read = now;
    }

    /// When the nearer timeout expires if no byte moves (time_point::max() when none is set).
    time_point deadline() const noexcept
    {
        auto d = time_point::max();
        if (!rare_)
            return d;
        if (rare_->idle != duration::zero())
            d = std::min(d, rare_->last_io + rare_->idle);
        if (rare_->read != duration::zero())
            d = std::min(d, rare_->last_read + rare_->read);
        return d;
    }

    /// True if a timeout has expired at `now`: handle_timeout() is due.
    bool timed_out(time_point now) const noexcept { return timing() && now >= deadline(); }

private:
    static constexpr std::size_t no_high_water = static_cast<std::size_t>(-1);

    // The timeouts and the watermarks: made by the first one set, as most channels set neither
    // and an idle one should not carry them.
    struct rare_state
    {
        duration idle{0};
        duration read{0};
        time_point last_read{};
        time_point last_io{};
        std::size_t low_water = 0;
        std::size_t high_water = no_high_water;

        bool any() const noexcept { return idle != duration::zero() || read != duration::zero(); }
    };

    rare_state& rare()
    {
        if (!rare_)
            rare_ = std::make_unique<rare_state>();
        return *rare_;
    }

    void set_timeout(duration rare_state::*which, duration d, time_point now)
    {
        if (!rare_ && d == duration::zero())
            return;
        rare().*which = d;
        restart_clocks(now);
    }

    enum class shut : std::uint8_t
    {
        no,
        due, // shutdown_when_done() called: shut down once the output queued before it is written
        done
    };

    // With `pacing` before them, the state fits 8 bytes (a channel carries it idle).
    state state_;
    read_side read_ = read_side::idle;
    shut shut_ : 2;
    bool teardown_ : 1;
    bool above_high_ : 1; // between the high crossing and the low one
    // User code nests a few calls deep at most (a hook, a producer, a destructor).
    std::uint16_t depth_ = 0;
    std::unique_ptr<rare_state> rare_; // made by the first timeout or watermark set
};

/// The core of a channel whose timeouts run on std::chrono::steady_clock (the default).
using channel_core = basic_channel_core<std::chrono::steady_clock>;

} // namespace asynchat::detail

#endif
