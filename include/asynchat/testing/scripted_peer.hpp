// asynchat: test kit: the other end of a connection, played step by step by the test
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_SCRIPTED_PEER_HPP
#define ASYNCHAT_TESTING_SCRIPTED_PEER_HPP

#include <asynchat/testing/escaped.hpp>
#include <asynchat/testing/run.hpp>
#include <asynchat/testing/split.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asynchat::testing {

/** A scripted peer's expectation was not met: the message says what was expected and what came
    (escaped), and how it ended.

    @par Python
    unittest's `AssertionError`.
*/
class expectation_failed : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/** The other end of a connection, played by the test one step at a time: send bytes (in
    pieces), expect bytes back within a deadline, expect EOF, half-close, reset, stop reading.

    Each step runs the io_context on the calling thread until it is done, so the channel under
    test (on the same io_context) runs meanwhile, and returns `*this` for the next step:
    `peer.send("NICK al\n").expect("* al has joined\n").half_close().expect_eof();`. A step that
    fails throws expectation_failed saying what came instead; nothing waits longer than its
    deadline.

    Between steps the peer reads whatever arrives (unless stall()ed) into received(), which
    expect() consumes from the front.

    @tparam Socket A stream socket: `boost::asio::ip::tcp::socket` or
    `boost::asio::local::stream_protocol::socket`, one end of a connected pair.

    @par Python
    No equivalent: CPython's asynchat tests hand-write a client thread with `time.sleep()`.
    Twisted's `StringTransport` plays the same part without sockets.

    @par Thread safety
    Use it on the thread that runs its io_context, which no other thread may run meanwhile.
*/
template <class Socket>
class scripted_peer
{
public:
    /// The clock of the deadlines: real time.
    using duration = std::chrono::steady_clock::duration;

    /** Take over `socket`, one end of a connected pair on `io`, and start reading from it.

        @param io The io_context of `socket` and of the channel at the other end.
        @param socket The peer's end.
        @param deadline The deadline of each step that does not give its own.
    */
    scripted_peer(
        boost::asio::io_context& io, Socket socket, duration deadline = std::chrono::seconds(5)
    )
        : io_(&io), state_(std::make_shared<state>(std::move(socket))), deadline_(deadline)
    {
        start_reading(state_);
    }

    /// Connect a new socket on `io` to `ep` (blocking: a loopback connect is immediate).
    template <class Endpoint>
    static scripted_peer connect(
        boost::asio::io_context& io, Endpoint const& ep, duration deadline = std::chrono::seconds(5)
    )
    {
        Socket s(io);
        s.connect(ep);
        return scripted_peer(io, std::move(s), deadline);
    }

    /// Move: the moved-from peer may only be destroyed.
    scripted_peer(scripted_peer&&) noexcept = default;
    /// Move-assign: the socket this peer had is closed; the moved-from peer may only be
    /// destroyed.
    scripted_peer& operator=(scripted_peer&& other)
    {
        if (this != &other)
        {
            close();
            io_ = other.io_;
            state_ = std::move(other.state_);
            deadline_ = other.deadline_;
            sent_ = other.sent_;
            consumed_ = std::move(other.consumed_);
        }
        return *this;
    }

    /// Close the socket (a FIN, or a reset if unread bytes remain); pending reads end.
    ~scripted_peer() { close(); }

    /** From now on, a piece sent is followed by a wait until `channel` has read it all
        (bytes_received() reaches what this peer sent), or has closed: so the channel's reads
        end exactly where the pieces do. Without it, send() waits only for the bytes to be
        written, and pieces sent in a row may reach the channel in one read.

        @param channel The channel at the other end of this very connection, so that its
        bytes_received() counts what this peer sent. Held weakly.
    */
    template <class Chat>
    scripted_peer& watch(std::shared_ptr<Chat> const& channel)
    {
        std::weak_ptr<Chat> weak = channel;
        consumed_ = [weak](std::uint64_t total)
        {
            auto c = weak.lock();
            return !c || !c->connected() || c->bytes_received() >= total;
        };
        return *this;
    }

    /** Send `bytes` in one write, and wait until they are written (and read, if watch()ed).

        @throws expectation_failed if the write fails or does not finish within the deadline.
    */
    scripted_peer& send(std::string_view bytes) { return send(bytes, split{}); }

    /** Send `bytes` cut at `cuts`, one write per piece, each after the previous was written
        (and read by the channel, if watch()ed).

        @throws std::invalid_argument if `cuts` does not cut `bytes` (see pieces()).
        @throws expectation_failed if a write fails or does not finish within the deadline.
    */
    scripted_peer& send(std::string_view bytes, split const& cuts)
    {
        for (std::string_view piece : pieces(bytes, cuts))
        {
            if (piece.empty())
                continue;
            // The write's outcome outlives this call should the write outlast it.
            auto result = std::make_shared<std::pair<bool, boost::system::error_code>>();
            auto owned = std::make_shared<std::string>(piece);
            boost::asio::async_write(
                state_->socket,
                boost::asio::buffer(*owned),
                [owned, result](boost::system::error_code ec, std::size_t) {
                    *result = {true, ec};
                }
            );
            sent_ += piece.size();
            bool const done = run_until(
                *io_,
                [&] { return result->first && (result->second || !consumed_ || consumed_(sent_)); },
                deadline_
            );
            if (!result->first)
                fail("sending " + escaped(piece) + ": not written within " + ms(deadline_));
            if (result->second)
                fail("sending " + escaped(piece) + ": " + result->second.message());
            if (!done)
                fail(
                    "sending " + escaped(piece) + ": the channel did not read it within " +
                    ms(deadline_)
                );
        }
        return *this;
    }

    /// expect() with the peer's deadline.
    scripted_peer& expect(std::string_view bytes) { return expect(bytes, deadline_); }

    /** Wait until the bytes received start with `bytes`, and consume them.

        Reading resumes if stall()ed. Fails as soon as a byte differs, or at EOF, or after
        `deadline`.

        @throws expectation_failed saying what came instead (escaped) and how it ended.
    */
    scripted_peer& expect(std::string_view bytes, duration deadline)
    {
        resume();
        std::string& in = state_->received;
        // Only the bytes new since the last look are compared: `in` only grows meanwhile.
        std::size_t checked = 0;
        bool mismatch = false;
        auto const differs = [&]
        {
            std::size_t const n = std::min(in.size(), bytes.size());
            if (!mismatch && n > checked)
            {
                mismatch =
                    in.compare(checked, n - checked, bytes.substr(checked, n - checked)) != 0;
                checked = n;
            }
            return mismatch;
        };
        run_until(
            *io_, [&] { return in.size() >= bytes.size() || differs() || state_->ended; }, deadline
        );
        if (!differs() && in.size() >= bytes.size())
        {
            in.erase(0, bytes.size());
            return *this;
        }
        std::string why =
            "expected " + escaped(bytes) + " within " + ms(deadline) + "; got " + escaped(in);
        if (differs())
        {
            std::size_t i = 0;
            while (in[i] == bytes[i])
                ++i;
            why += " (they differ from byte " + std::to_string(i) + ")";
        }
        fail(why + ending());
    }

    /// expect_eof() with the peer's deadline.
    scripted_peer& expect_eof() { return expect_eof(deadline_); }

    /** Wait for EOF: the channel closed (or shut down its sending side) and nothing else came.

        @throws expectation_failed if bytes came first (saying which), the connection was reset,
        or `deadline` passed.
    */
    scripted_peer& expect_eof(duration deadline)
    {
        resume();
        run_until(
            *io_, [&] { return state_->ended || !state_->received.empty(); }, deadline
        );
        if (!state_->received.empty())
            fail(
                "expected EOF within " + ms(deadline) + "; got " + escaped(state_->received) +
                ending()
            );
        if (!state_->ended)
            fail("expected EOF within " + ms(deadline) + "; the connection stayed open");
        if (state_->end != boost::asio::error::eof)
            fail("expected EOF; the connection ended with: " + state_->end.message());
        return *this;
    }

    /// Shut down the sending side: the channel reads EOF; this peer still reads.
    scripted_peer& half_close()
    {
        boost::system::error_code ignored;
        state_->socket.shutdown(Socket::shutdown_send, ignored);
        return *this;
    }

    /** Close with a reset (SO_LINGER zero): the channel sees ECONNRESET, as from a peer that
        crashed. The peer can do nothing more but destruction.
    */
    scripted_peer& reset()
    {
        boost::system::error_code ignored;
        state_->socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
        state_->socket.close(ignored);
        return *this;
    }

    /** Stop reading, as a peer that is busy or hung: what the channel writes fills the socket
        buffers, then stays in its queue (see outgoing_bytes(), the write watermarks). The next
        expect() or expect_eof() reads again.
    */
    scripted_peer& stall()
    {
        state_->reading = false;
        boost::system::error_code ignored;
        state_->socket.cancel(ignored); // the pending read; send() leaves no write pending
        return *this;
    }

    /// Read again after stall() (expect() does it by itself).
    scripted_peer& resume()
    {
        state_->reading = true;
        if (!state_->read_pending && !state_->ended)
            start_reading(state_);
        return *this;
    }

    /// The bytes received and not consumed by expect() yet.
    std::string const& received() const noexcept { return state_->received; }

    /// Return received() and clear it.
    std::string take() { return std::exchange(state_->received, std::string()); }

    /// Whether the connection ended (EOF, a reset, an error), seen by reading.
    bool ended() const noexcept { return state_->ended; }

    /// How the connection ended, once ended(): `boost::asio::error::eof`, or the read's error.
    boost::system::error_code ended_with() const noexcept { return state_->end; }

    /// The peer's socket.
    Socket& socket() noexcept { return state_->socket; }

private:
    void close() noexcept
    {
        if (state_)
        {
            boost::system::error_code ignored;
            state_->socket.close(ignored);
        }
    }

    // What the pending read needs: it may complete after the peer object is gone or moved.
    struct state
    {
        explicit state(Socket s) : socket(std::move(s)) {}
        Socket socket;
        std::string received;
        std::vector<char> buffer = std::vector<char>(65536);
        bool reading = true;
        bool read_pending = false;
        bool ended = false;
        boost::system::error_code end;
    };

    static void start_reading(std::shared_ptr<state> const& s)
    {
        s->read_pending = true;
        s->socket.async_read_some(
            boost::asio::buffer(s->buffer),
            [s](boost::system::error_code ec, std::size_t n)
            {
                s->read_pending = false;
                s->received.append(s->buffer.data(), n);
                if (ec == boost::asio::error::operation_aborted)
                {
                    // stall(), or a send() that timed out; the socket may be open still.
                    if (s->reading && s->socket.is_open())
                        start_reading(s);
                    return;
                }
                if (ec)
                {
                    s->ended = true;
                    s->end = ec;
                    return;
                }
                if (s->reading)
                    start_reading(s);
            }
        );
    }

    std::string ending() const
    {
        if (!state_->ended)
            return ", and nothing more yet";
        if (state_->end == boost::asio::error::eof)
            return ", then EOF";
        return ", then the connection ended: " + state_->end.message();
    }

    static std::string ms(duration d)
    {
        return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) +
               " ms";
    }

    [[noreturn]] static void fail(std::string const& why)
    {
        throw expectation_failed("asynchat::testing::scripted_peer: " + why);
    }

    boost::asio::io_context* io_;
    std::shared_ptr<state> state_;
    duration deadline_;
    std::uint64_t sent_ = 0;
    std::function<bool(std::uint64_t)> consumed_;
};

} // namespace asynchat::testing

#endif
