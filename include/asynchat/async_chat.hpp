// asynchat: basic_async_chat, CPython's asynchat.async_chat on a Boost.Asio stream
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_ASYNC_CHAT_HPP
#define ASYNCHAT_ASYNC_CHAT_HPP

#include <asynchat/detail/bytes.hpp>
#include <asynchat/detail/channel_core.hpp>
#include <asynchat/detail/channel_map.hpp>
#include <asynchat/detail/exact_allocator.hpp>
#include <asynchat/detail/hooks.hpp>
#include <asynchat/detail/pending_completion.hpp>
#include <asynchat/detail/socket_wait.hpp>
#include <asynchat/detail/stream_traits.hpp>
#include <asynchat/detail/write_pieces.hpp>
#include <asynchat/error.hpp>
#include <asynchat/producer.hpp>
#include <asynchat/shared_from.hpp>
#include <asynchat/terminator.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace asynchat {

namespace detail {

/// The channel whose user code (a hook, a producer) this thread runs now, the innermost if
/// several: calls it makes on its own channel skip the hop through the executor.
inline thread_local void const* hook_channel = nullptr;

/// A message push() took into the output queue (output_queue::adopt()) and a close() from user
/// code took back out of it (output_queue::reclaim()): the user code may still hold a view of
/// it. Freed when this thread's outermost user code returns.
inline thread_local std::string reclaimed_message;

/// The receive storage a socket channel gives back while it waits, for the next read on this
/// thread (see input_scanner::release()).
inline thread_local receive_spare spare_receive_buffer;

} // namespace detail

/** What start_tls() does with plaintext the peer sent after the command that asks for TLS,
    already received when the upgrade begins.
*/
enum class pipelined_input
{
    /// Refuse the upgrade: handle_error() with `error::plaintext_after_starttls`, then close.
    refuse,
    /// Drop those bytes and go on with the handshake.
    discard
};

/** A channel that splits a byte stream into messages and queues data and producers for output.

    Derive from it and implement collect_incoming_data() and found_terminator(). The channel reads
    from the stream and hands the bytes to collect_incoming_data() up to each terminator, then
    calls found_terminator(); push() and push_with_producer() queue output, which is written in
    FIFO order, several queued pieces per write.

    Objects are always owned by `std::shared_ptr` (create them with `std::make_shared<Derived>`):
    every pending operation holds a reference, so a channel lives until it is closed and its last
    handler has run.

    @tparam Stream The stream: any type with Asio's AsyncReadStream and AsyncWriteStream
    requirements and an executor, which the channel can close (`close(error_code&)`, or a
    socket as its `next_layer()`):
    - a connected stream socket, `boost::asio::ip::tcp::socket` (async_chat) or
      `boost::asio::local::stream_protocol::socket`: read with a readiness wait, so an idle
      channel holds no receive buffer; connect(), addr() and the lingering close need one;
    - TLS, `boost::asio::ssl::stream<ip::tcp::socket>` (tls_chat, in `<asynchat/tls.hpp>`): the
      handshake runs in start() (server) or connect() (client), close() sends a close_notify;
    - a stream that starts plain and is upgraded by start_tls() (starttls_chat, STARTTLS);
    - `boost::asio::posix::stream_descriptor` (a pipe, a pty, a subprocess's stdin/stdout),
      `boost::asio::serial_port`, or a stream of the user's own: read with async_read_some()
      into the channel's buffer.
    @tparam Timer The timer of the idle and read timeouts: `boost::asio::steady_timer` (the
    default), or any `boost::asio::basic_waitable_timer` constructible from the stream's
    executor, such as one over a clock a test advances by hand, so that timeout handlers are
    tested without waiting (Boost.MySQL's tests do the same with their mock timer). The
    lingering close (lingering_time) always runs on the steady clock.

    @par Python
    asynchat.async_chat, with the differences listed in the README: close() stops delivery of
    input already received, peer EOF waits for queued output before handle_close(), and the
    thread-safe entry points below.

    @par Thread safety
    push(), push_with_producer(), push_callback(), close_when_done(), close(), resume_reading(),
    start() and connect() may be called from any thread; calls made from one thread take effect
    in order.
    Everything else must be called on the channel's executor (in a hook, for instance).

    @par Executor
    Every hook runs on the stream's executor. From start() or connect() until close(), the
    channel is in the channel map of the executor's context (see loop(), close_all(),
    channel_count()). When the io_context runs on several threads,
    give the stream a strand (`boost::asio::make_strand(io)`), as the dispatcher does for the
    sockets it accepts.
*/
template <class Stream, class Timer = boost::asio::steady_timer>
class basic_async_chat : public detail::channel_base,
                         public std::enable_shared_from_this<basic_async_chat<Stream, Timer>>
{
    static_assert(
        detail::has_executor_v<Stream>,
        "asynchat::basic_async_chat<Stream>: Stream must have an executor_type and get_executor() "
        "(an Asio I/O object)"
    );
    static_assert(
        detail::is_async_stream_v<Stream>,
        "asynchat::basic_async_chat<Stream>: Stream must meet Asio's AsyncReadStream and "
        "AsyncWriteStream requirements (async_read_some, async_write_some)"
    );
    static_assert(
        detail::is_closable_v<Stream>,
        "asynchat::basic_async_chat<Stream>: Stream must have close(boost::system::error_code&), "
        "or run on a socket returned by next_layer(), so that the channel can close it"
    );

    using core_type = detail::basic_channel_core<typename Timer::clock_type>;

public:
    /// The stream type.
    using stream_type = Stream;
    /// The socket the stream runs on (the stream itself, or its next layer); void if none.
    using socket_type = detail::socket_of_t<Stream>;
    /// The timer of the idle and read timeouts (see set_idle_timeout()).
    using timer_type = Timer;
    /// The clock the timeouts and last_io_time() use: the timer's.
    using clock = typename Timer::clock_type;
    /// The executor every hook runs on: the stream's.
    using executor_type = typename Stream::executor_type;
    /// The socket's protocol (`ip::tcp`, `local::stream_protocol`); void without a socket.
    using protocol_type = typename detail::endpoint_of<Stream>::protocol;
    /// The protocol's endpoint: an address and port, or a socket path (`detail::no_endpoint`
    /// without a socket: connect() and addr() cannot be used then).
    using endpoint_type = typename detail::endpoint_of<Stream>::type;

    /// The most bytes taken from the stream by one read.
    std::size_t ac_in_buffer_size = 65536;

    /// The most bytes taken from a pushed buffer or a producer as one piece of a write.
    std::size_t ac_out_buffer_size = 65536;

    /** How long a socket channel that closes may go on reading and discarding what the peer
        still sends (zero: close at once).

        Closing a socket with unread input makes the kernel send a reset and drop what is still
        in the send buffer, so the peer can lose the end of the answer. So a channel closes a
        socket as Apache and nginx do ("lingering close"): it shuts down the sending side (the
        peer reads everything, then EOF), reads and discards until the peer's EOF, for at most
        `lingering_time` and `lingering_bytes`, then closes. The channel itself is released at
        once; only the socket lingers. Not done when the peer already sent EOF.

        @par Python
        No equivalent: asyncore closes at once and the peer may see a reset.
    */
    std::chrono::steady_clock::duration lingering_time = std::chrono::seconds(5);

    /// The most bytes read and discarded by a lingering close (see lingering_time).
    std::size_t lingering_bytes = 4 * 1024 * 1024;

    /** Whether a TCP channel sends a file_producer with sendfile(2) (default true).

        On a TCP socket (`Stream` is `basic_stream_socket<ip::tcp, Executor>`), a file_producer
        that reaches the head of the output queue with nothing ahead of it left to write is sent
        from the socket's descriptor with sendfile(2), as much as the socket takes at a time
        without blocking, and never copied into the process: more() is not called. Output
        queued behind it, close_when_done() included, waits for its end. When false, or on any
        other stream, or for a file_producer inside another producer, more() reads the file in
        64 KiB pieces. The peer receives the same bytes either way; bytes_sent() counts them
        (bytes_sent_with_sendfile() the part sent with sendfile(2)); a read or send error goes
        to handle_error(), a broken connection to handle_close(), and the file is closed.
        Set it on the executor or before start(); it applies to the next file that reaches the
        head.

        @par Python
        No equivalent: Medusa reads every file through more().
    */
    bool use_sendfile = true;

private:
    // The channel's slot in the channel map (see detail::channel_map), here beside use_sendfile
    // where the layout had padding: an idle connection carries every byte of the channel.
    std::uint32_t map_slot_ = detail::channel_map::no_slot;

public:
    /** Construct a channel on a stream: a connected one, such as an accepted socket (or a TLS
        stream over one), or a client's TLS stream not yet connected (connect() it next).

        I/O starts with start(); output may be pushed, and the channel closed, at once, even
        from the derived class's constructor. A stream whose socket (or which itself) is not
        open makes an unconnected client channel.

        @par Python
        async_chat(sock).
    */
    explicit basic_async_chat(Stream connected_stream);

    /** Construct an unconnected client channel; connect() it next.

        @par Python
        async_chat() followed by create_socket().
    */
    explicit basic_async_chat(executor_type const& ex);

    basic_async_chat(basic_async_chat const&) = delete;
    basic_async_chat& operator=(basic_async_chat const&) = delete;
    /// In debug builds, warns on stderr about a channel on a connected stream destroyed without
    /// start() (its queued output was never sent, and the peer sees a reset).
    virtual ~basic_async_chat();

    /** Begin: write what is queued, and read from the stream.

        Call it once the object is owned by a `std::shared_ptr` (never from a constructor).
        Nothing is written or read before start() (or connect()); calls made before it, in the
        constructor too (push() of a greeting, close_when_done(), close(), set_terminator()),
        are accepted and take effect in order once it runs, as in a Python channel's `__init__`.
        Safe to call from any thread. Call it once: a second call (or one after connect()) goes
        to handle_error() with a `std::logic_error`, "asynchat::async_chat::start: already
        started", as it can only be detected on the executor; a call after close() does nothing.

        On a TLS stream (tls_chat) the server's handshake runs first: reading and writing begin
        once it has succeeded; a failure goes to handle_error() with the
        `boost::system::system_error` (OpenSSL's reason in its message), and the channel
        closes. The idle timeout covers the handshake.
    */
    void start();

    /** Connect to `ep`; on success call handle_connect(), then start reading.

        A failure goes to handle_error() with the `boost::system::system_error`; so does a
        connect() on a channel that is already connected, connecting or closed (a
        `std::logic_error`), as it can only be detected on the executor.

        On a TLS stream the client's handshake runs once connected, before handle_connect();
        its failure is reported as a connect's. Set the server's name for SNI and certificate
        checks on the stream first (asynchat::set_server_name() in `<asynchat/tls.hpp>`).
        Only for streams on a socket (socket_type is not void).

        @par Python
        dispatcher.connect(address).
    */
    void connect(endpoint_type const& ep);

    /** Connect to `ep`, as connect() does, and complete `token` once connected or failed.

        On success handle_connect() is called, reading starts, and the handler runs after it.
        A failure completes the handler with the error and closes the channel; handle_error()
        is not called for it (the handler is told instead).

        @param ep The peer's address.
        @param token A completion token: a callable, `boost::asio::use_future`,
        `boost::asio::use_awaitable` (C++20), ... Its completion signature is
        `void(boost::system::error_code)`: no error once connected; the connect's error;
        `boost::asio::error::already_connected` if the channel is connected or connecting;
        `boost::asio::error::operation_aborted` if the channel is closed first (or was).

        @par Executor
        Call it from any thread, once the channel is owned by a `std::shared_ptr`. The handler
        never runs inside this call; it runs on its associated executor (the channel's executor
        by default).

        @par Python
        No equivalent: dispatcher.connect() reports only through handle_connect() and
        handle_error().
    */
    template <class CompletionToken>
    auto async_connect(endpoint_type const& ep, CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [this](auto handler, endpoint_type const& to)
            {
                auto op =
                    detail::make_pending_completion(std::move(handler), stream_.get_executor());
                enter_map();
                on_executor([this, to, op = std::move(op)]() mutable
                            { begin_async_connect(to, std::move(op)); });
            },
            token,
            ep
        );
    }

    /** Complete `token` once everything queued before this call has been written (handed to
        the operating system).

        @param token A completion token (see async_connect()). Its completion signature is
        `void(boost::system::error_code)`: no error once written; `operation_aborted` if the
        channel closes, or discard_buffers() drops the output, first.

        @par Executor
        Call it from any thread. Calls made from one thread take effect in order with push()
        and the others. The handler never runs inside this call; it runs on its associated
        executor (the channel's executor by default). Built on push_callback(): like other
        output it waits while writable() is false or a producer ahead is not ready.

        @par Python
        No equivalent (asyncio's `await writer.drain()` waits for a low watermark, not for the
        bytes written).
    */
    template <class CompletionToken>
    auto async_flush(CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [this](auto handler)
            {
                push_callback([op = detail::make_pending_completion(
                                   std::move(handler), stream_.get_executor()
                               )](boost::system::error_code const& ec) { op->complete(ec); });
            },
            token
        );
    }

    /** close_when_done(), and complete `token` once the channel is closed.

        @param token A completion token (see async_connect()). Its completion signature is
        `void(boost::system::error_code)`: no error if the channel closed with everything
        queued written (or was already closed); otherwise the error that closed it
        (the `boost::system::system_error` code passed to handle_error(), or the reset or broken
        pipe that made it call handle_close()), or `boost::asio::error::operation_aborted` if it
        was closed by other means first (close(), a timeout).

        @par Executor
        Call it from any thread, once the channel is owned by a `std::shared_ptr`. The handler
        never runs inside this call; it runs on its associated executor (the channel's executor
        by default).

        @par Python
        async_chat.close_when_done(), with a completion.
    */
    template <class CompletionToken>
    auto async_close(CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [this](auto handler)
            {
                auto op =
                    detail::make_pending_completion(std::move(handler), stream_.get_executor());
                on_executor([this, op = std::move(op)]() mutable
                            { begin_async_close(std::move(op)); });
            },
            token
        );
    }

    /** Set a string terminator: found_terminator() is called after each occurrence.

        An empty string collects everything, as in CPython.

        @par Python
        set_terminator(b"...").
    */
    void set_terminator(std::string_view term) { core_.input.set_terminator(std::string(term)); }

    /** Set a string terminator from a string literal or char array, embedded NULs included:
        `set_terminator("\0")` is the one-byte terminator NUL, as `b"\0"` is in CPython.
    */
    template <std::size_t N>
    void set_terminator(char const (&term)[N])
    {
        set_terminator(std::string_view(term, detail::array_bytes(term)));
    }

    /// Set a string terminator from a writable char buffer: up to its first NUL.
    template <std::size_t N>
    void set_terminator(char (&term)[N])
    {
        set_terminator(std::string_view(term, detail::buffer_bytes(term)));
    }

    /// Set a string terminator from a NUL-terminated string (up to its first NUL).
    template <class CharPtr, std::enable_if_t<detail::is_c_string_v<CharPtr>, int> = 0>
    void set_terminator(CharPtr const& term)
    {
        if (!term)
            throw std::invalid_argument(
                "asynchat::async_chat::set_terminator: null char pointer (write nullptr or "
                "std::nullopt for the None terminator)"
            );
        set_terminator(std::string_view(term));
    }

    /** Set the None terminator: Python's `set_terminator(None)`, written with `nullptr`.

        Collect everything, never call found_terminator().
    */
    void set_terminator(std::nullptr_t) noexcept { core_.input.set_terminator(std::monostate{}); }

    /** Set a numeric terminator: found_terminator() is called once `count` more bytes arrived.

        0 collects everything, as in CPython.
    */
    void set_terminator(std::size_t count) noexcept { core_.input.set_terminator(count); }

    /** Set a numeric terminator from any integer type.

        @throws std::invalid_argument if `count` is negative (CPython raises ValueError).
    */
    template <
        class Int,
        std::enable_if_t<
            std::is_integral_v<Int> && !std::is_same_v<Int, bool> &&
                !std::is_same_v<Int, std::size_t>,
            int> = 0>
    void set_terminator(Int count)
    {
        if constexpr (std::is_signed_v<Int>)
        {
            if (count < 0)
                throw std::invalid_argument(
                    "asynchat::async_chat::set_terminator: the number of received bytes must not "
                    "be negative"
                );
        }
        core_.input.set_terminator(static_cast<std::size_t>(count));
    }

    /// Set the None terminator: collect everything, never call found_terminator().
    void set_terminator(std::nullopt_t) noexcept { core_.input.set_terminator(std::monostate{}); }

    /// Restore a terminator obtained from get_terminator().
    template <class Term, std::enable_if_t<std::is_same_v<std::decay_t<Term>, terminator>, int> = 0>
    void set_terminator(Term&& t)
    {
        core_.input.set_terminator(std::forward<Term>(t));
    }

    /** Limit the bytes collected between two terminators (default: no limit, as CPython).

        Past the limit the channel stops reading, calls handle_error() with a
        `boost::system::system_error` whose code is `asynchat::error::message_too_long`, and
        closes. collect_incoming_data() (and so the sample collector) never receives more than
        `n` bytes of one message. With the None terminator the whole stream is one message.

        @par Python
        No equivalent: CPython buffers without bound.
    */
    void set_max_message_size(std::size_t n) noexcept { core_.input.set_max_message_size(n); }

    /// The limit set by set_max_message_size(); `std::size_t(-1)` when unlimited.
    std::size_t max_message_size() const noexcept { return core_.input.max_message_size(); }

    /// A char is not a terminator: write `"\n"`, not `'\n'` (which would be the count 10).
    void set_terminator(char) = delete;

    /** The terminator in force. For a numeric terminator, the count still to come.

        @par Python
        get_terminator().
    */
    terminator const& get_terminator() const noexcept { return core_.input.get_terminator(); }

    /** Queue a copy of `data`, to be sent after everything already queued.

        Every push() overload ends here, so a subclass customises what push() does by
        overriding this one (smtpd encodes and appends "\r\n"), with
        `using asynchat::async_chat::push;` to keep the other overloads visible, and calling the
        base's push() with the result.

        From the channel's own hooks the bytes go straight into the queue (usually appended to
        the last entry). Safe to call from any thread, and from the constructor (see start());
        the write starts on the channel's executor. Data pushed after close_when_done() or
        close() is never sent.

        @par Python
        async_chat.push(data).
    */
    virtual void push(std::string_view data);

    /** Queue a string literal or char array, embedded NULs included: `push("a\0b")` sends
        three bytes.
    */
    template <std::size_t N>
    void push(char const (&data)[N])
    {
        push(std::string_view(data, detail::array_bytes(data)));
    }

    /** Queue the C string in a writable char buffer (`char line[64]; snprintf(line, ...)`): up
        to its first NUL, not the whole buffer.
    */
    template <std::size_t N>
    void push(char (&data)[N])
    {
        push(std::string_view(data, detail::buffer_bytes(data)));
    }

    /** Queue a copy of the NUL-terminated `data` (up to its first NUL).

        @throws std::invalid_argument if `data` is null.
    */
    template <class CharPtr, std::enable_if_t<detail::is_c_string_v<CharPtr>, int> = 0>
    void push(CharPtr const& data)
    {
        if (!data)
            throw std::invalid_argument("asynchat::async_chat::push: null char pointer");
        push(std::string_view(data));
    }

    /// Refused at compile time: Python's push(None) is an error too.
    void push(std::nullptr_t) = delete;

    /** Queue a producer; its more() is called, on the executor, when it reaches the head.

        @par Python
        async_chat.push_with_producer(producer).
    */
    void push_with_producer(std::unique_ptr<producer> p);

    /// Queue data through the producer path, as CPython accepts bytes there too (not through
    /// an overridden push()).
    void push_with_producer(std::string data);

    /// Queue a string literal through the producer path, embedded NULs included.
    template <std::size_t N>
    void push_with_producer(char const (&data)[N])
    {
        push_with_producer(std::string(data, detail::array_bytes(data)));
    }

    /// Queue the C string in a writable char buffer, as push(char (&)[N]) does.
    template <std::size_t N>
    void push_with_producer(char (&data)[N])
    {
        push_with_producer(std::string(data, detail::buffer_bytes(data)));
    }

    /// Refused at compile time: use a producer or data.
    void push_with_producer(std::nullptr_t) = delete;

    /** Call `fn` once everything queued before this call has been written (handed to the OS).

        `fn` runs on the channel's executor as the channel's user code, like a hook: what it asks
        of the channel (push(), close_when_done(), close(), ...) takes effect once it returns,
        and an exception it throws goes to handle_error(). It runs when bytes_sent() covers
        everything queued before it and nothing queued after it has been written; what is
        queued after it goes out in the next write, as soon as it has returned (not in the write
        of the bytes before it, which would make the call late). Like other output it waits while
        writable() is false, behind a producer that is not ready and behind a file being sent.

        `fn` is any callable, move-only ones included, taking nothing or an error code:
        - `fn()` is called only if everything before it was written. If the channel closes
          first (close(), a reset, an error) or discard_buffers() drops it, it is never called;
          it is destroyed, as user code, so clean-up that must always happen belongs in the
          destructor of something it captures.
        - `fn(boost::system::error_code ec)` is called exactly once: with no error when
          everything before it was written, with `boost::asio::error::operation_aborted` when
          close(), discard_buffers() or the channel's destruction dropped it first. That call
          is a handler of its own on the executor, after the call that dropped it returned; its
          exception goes to handle_error(), or is dropped if the channel is gone by then. Only
          an io_context destroyed before that handler runs loses it.
        A callable that can take an error code is given one.

        Safe to call from any thread, and from the constructor (see start()).

        @param fn The callable, moved into the queue.
        @tparam F `void()` or `void(boost::system::error_code)`.
        @throws std::invalid_argument if `fn` is empty (an empty `std::function`, a null function
        pointer).

        @par Python
        Zope's ZServer CallbackProducer (its `more()` calls the callback and returns `b''`),
        pushed with push_with_producer(); Medusa's hooked_producer, which calls back when the
        producer it wraps is exhausted. Both drop the callback silently when the channel
        closes first, as `fn()` does; `fn(ec)` is told.
    */
    template <class F>
    void push_callback(F fn);

    /** Close the channel once everything queued before this call is sent.

        handle_close() is called at that point; nothing pushed later is sent. On a TLS stream,
        the close that follows sends a close_notify before the TCP close (see close()).

        @par Python
        async_chat.close_when_done().
    */
    void close_when_done();

    /** Shut down the sending side (send a FIN) once everything queued before this call is
        written, and keep reading: the peer sees the end of the request, and may still answer.

        What is pushed later is dropped (a push_callback()'s `fn(ec)` is told
        `operation_aborted`). The peer's EOF then reaches handle_read_eof() as usual. Safe to
        call from any thread. Only for streams on a socket; TLS (whose close_notify Asio's
        ssl::stream cannot send while a read is pending) has close_when_done() only.

        @par Python
        No equivalent (asyncio's write_eof()).
    */
    void shutdown_when_done();

    /** STARTTLS: upgrade the plain connection to TLS in place, after the protocol's command
        (SMTP `STARTTLS`, IMAP `STARTTLS`, FTP `AUTH TLS`) or its reply.

        Call it from found_terminator() (or collect_incoming_data()) of the message that asks
        for the upgrade; only for a starttls stream (starttls_chat). Output queued before the
        call, the "220 Ready to start TLS" reply included, is written in plaintext; then the
        handshake of type `type` runs with `ctx`; output pushed after the call waits for it
        and goes out encrypted, in order; reading resumes over TLS once it has succeeded. A
        handshake failure goes to handle_error() and closes the channel.

        Bytes the peer sent after the upgrade command and that were already received in
        plaintext (a pipelined `STARTTLS\r\nRSET\r\n`) are never delivered as if they had come
        under TLS: with `pipelined_input::refuse` (the default) the upgrade fails: the replies
        queued before the call (the "220" included) are written, then handle_error() is called
        with `asynchat::error::plaintext_after_starttls` and the channel closes; nothing pushed
        after the call is sent. With `pipelined_input::discard` they are dropped and the upgrade
        goes on. That is the hole of Postfix's CVE-2011-0411 and
        pyftpdlib's PR #523, closed.

        @param ctx The TLS context; it must outlive the channel.
        @param type `boost::asio::ssl::stream_base::server` or `client`.
        @param pipelined What to do with plaintext received after the command.
        @throws std::logic_error if a read is in flight (not called while input is delivered),
        if the stream is already TLS, or if the channel is not open.

        @par Python
        No equivalent: asynchat had no TLS; pyftpdlib and vdsm wrap the socket by hand.
    */
    template <
        class Context,
        class HandshakeType,
        class S = Stream,
        std::enable_if_t<detail::is_starttls_stream_v<S>, int> = 0>
    void start_tls(
        Context& ctx, HandshakeType type, pipelined_input pipelined = pipelined_input::refuse
    );

    /** Drop buffered input, collected data and queued output.

        Bytes already handed to the socket are still sent. Call it on the executor.

        @par Python
        async_chat.discard_buffers().
    */
    void discard_buffers();

    /** Close the stream now; pending operations end, queued output is not sent.

        No hook is called by close() itself. Safe to call from any thread.

        On a TLS stream whose handshake had completed, the channel then sends a TLS
        close_notify and waits for the peer's (at most lingering_time) before the TCP close, so
        the peer can tell the end of the stream from a truncation; the channel object lives
        until then.

        @par Python
        dispatcher.close().
    */
    void close();

    /// Re-evaluate readable() and writable(): call it when a condition they test has changed.
    void resume_reading();

    /** The bytes queued for output and not yet written (data pushed, and pieces already pulled
        from producers; not what producers will still give). Call it on the executor.
    */
    std::size_t outgoing_bytes() const noexcept { return core_.output.bytes(); }

    /** Report queued output crossing `high` (upward) and then `low` (downward).

        When outgoing_bytes() rises above `high`, handle_write_high_water() is called; once it
        has fallen to `low` or below, handle_write_low_water(). The application pauses its
        producers (or its reading) in between, as with Netty's WriteBufferWaterMark or asyncio's
        pause_writing()/resume_writing(). Default: no watermarks. Call it on the executor.

        @throws std::invalid_argument if `low > high`.
    */
    void set_write_watermarks(std::size_t low, std::size_t high);

    /** Call handle_timeout() when no byte was read or written for `d` (zero: never).

        Call it on the executor. The clock starts at start() or at this call. `d` is a duration
        of the timer's clock (`clock`, std::chrono::steady_clock by default).

        @par Python
        No equivalent: asyncore never times out.
    */
    void set_idle_timeout(typename clock::duration d);

    /// Call handle_timeout() when no byte was read for `d`, whatever was written (zero: never).
    void set_read_timeout(typename clock::duration d);

    /// True from a successful connection (or construction on a connected stream) until close().
    bool connected() const noexcept { return core_.connected(); }

    /// The underlying stream.
    Stream& stream() noexcept { return stream_; }

    /** The peer's address while the stream is connected; a default endpoint otherwise.

        @par Python
        dispatcher.addr (CPython keeps it after close()).
    */
    endpoint_type addr() const
    {
        static_assert(
            detail::has_socket_v<Stream>,
            "asynchat::async_chat::addr: the stream has no socket (a pipe, a pty, a serial port)"
        );
        boost::system::error_code ec;
        auto ep = detail::socket_of<Stream>::get(const_cast<Stream&>(stream_)).remote_endpoint(ec);
        return ec ? endpoint_type() : ep;
    }

    /** Bytes read from the stream so far. Readable from any thread (a relaxed atomic).

        @par Python
        No equivalent: Medusa's channel counts them by overriding recv().
    */
    std::uint64_t bytes_received() const noexcept
    {
        return bytes_received_.load(std::memory_order_relaxed);
    }

    /// Bytes written to the stream so far (handed to the OS). Readable from any thread.
    std::uint64_t bytes_sent() const noexcept
    {
        return bytes_sent_.load(std::memory_order_relaxed);
    }

    /** The part of bytes_sent() sent with sendfile(2), from file_producers (see use_sendfile).
        Readable from any thread.

        @par Python
        No equivalent.
    */
    std::uint64_t bytes_sent_with_sendfile() const noexcept
    {
        return bytes_sent_with_sendfile_.load(std::memory_order_relaxed);
    }

    /** When bytes were last read or written, or the channel was constructed if none yet.

        Medusa's `last_used`, for a reaper of idle channels (see asynchat::channels()).
        Readable from any thread.
    */
    typename clock::time_point last_io_time() const noexcept
    {
        return typename clock::time_point(
            typename clock::duration(last_io_.load(std::memory_order_relaxed))
        );
    }

    /// The executor every hook runs on.
    executor_type get_executor() const noexcept
    {
        // Asio's get_executor() is not const, though it only copies the executor out.
        return const_cast<Stream&>(stream_).get_executor();
    }

    /** CPython's sample collector: append `data` to the message being gathered.

        Call it from collect_incoming_data() and read the message with _get_data() or
        _get_data_view() in found_terminator(). Called with the view collect_incoming_data()
        received, it copies nothing while the message lies in one read (the common case of
        messages shorter than a read): it keeps the view, and copies only what is still being
        gathered when the read's bytes have all been delivered. Any other view is copied.

        @par Executor
        Call it on the channel's executor: from its hooks, normally.

        @par Python
        async_chat._collect_incoming_data(data).
    */
    void _collect_incoming_data(std::string_view data)
    {
        if (incoming_.empty() && incoming_view_.empty() && core_.input.holds(data))
            incoming_view_ = data;
        else
            collect_more(data);
    }

    /** Return the message gathered by _collect_incoming_data() as a string, and clear it.

        @par Executor
        Call it on the channel's executor: from its hooks, normally.

        @par Python
        async_chat._get_data().
    */
    std::string _get_data();

    /** Return the message gathered by _collect_incoming_data() as a view, and clear it.

        The bytes are not copied: the view points into the receive buffer when the message
        arrived in one read, into the collector's own buffer otherwise. It stays valid until
        the hook that called this returns, or until the next call to _collect_incoming_data(),
        _get_data() or discard_buffers(), whichever comes first: push() it, parse it or copy
        it before then. Giving it back to _collect_incoming_data() (to join it with the next
        message) is fine. `push(_get_data_view())` is the answer that copies the message once,
        into the output queue; a message of 4 KiB or more gathered across reads is not copied
        at all: push() takes the collector's buffer into the queue, and the view stays valid
        (through a close() in the hook too).

        @par Executor
        Call it from this channel's hooks, or from another handler on the channel's executor:
        then the view is valid until that handler returns or calls close(), under the same
        other conditions.

        @par Python
        No equivalent: `_get_data()` without the copy.
    */
    std::string_view _get_data_view() noexcept
    {
        std::string_view const data = incoming_view_;
        if (!data.empty())
        {
            if (data.data() == incoming_.data())
                return {}; // taken already
            incoming_view_ = {};
            return data;
        }
        // Taken: the bytes stay in incoming_ until the collector is next used.
        incoming_view_ = incoming_;
        return incoming_view_;
    }

    // Every hook below runs on the channel's executor, never nested in another hook of the same
    // channel, and may call any public member of this channel or of another one: what it asks
    // for takes effect, in order, once it returns. An exception it throws goes to
    // handle_error().
protected:
    /** Receive bytes of the current message, up to the terminator (which is not included).

        @param data The bytes; a view into the receive buffer, valid only during the call, never
        empty.

        @par Python
        async_chat.collect_incoming_data(data).
    */
    virtual void collect_incoming_data(std::string_view data) = 0;

    /** The terminator was reached; set a new one here if the protocol changes framing (it
        applies to the very next byte).

        @par Python
        async_chat.found_terminator().
    */
    virtual void found_terminator() = 0;

    /** The connection started by connect() is established; reading starts after it. Default:
        nothing.

        @par Python
        dispatcher.handle_connect().
    */
    virtual void handle_connect() {}

    /** The peer closed the connection (after the output already queued was written), reset
        it, or close_when_done() reached its mark. Default: close().

        @par Python
        dispatcher.handle_close().
    */
    virtual void handle_close() { close(); }

    /** The peer sent EOF (a FIN, or a TLS close_notify): it will send nothing more, and may
        still read. Default: call handle_close() once everything queued is written (what the
        channel did before this hook existed). Override it to answer first, for protocols whose
        client sends its request and then shuts down its sending side; push the answer, then
        close_when_done(), here or later.

        @par Python
        No equivalent: asyncore calls handle_close() on EOF (asyncio's eof_received()).
    */
    virtual void handle_read_eof() { core_.close_after_output(); }

    /** A socket error, or an exception thrown by a hook or a producer.

        Default: log CPython's line, "uncaptured exception, closing channel <repr>
        (<type>:<what>)", through log_info() with type "error" (`<repr>` names the dynamic type
        and the peer: `<my_channel connected 127.0.0.1:5555 at 0x...>`), then handle_close().
        log(), log_info() and ignore_log_types are channel_logger's, shared with dispatcher.

        @param error The exception (a `boost::system::system_error` for a socket error).

        @par Python
        dispatcher.handle_error(), whose line names the exception's class, value and traceback.
    */
    virtual void handle_error(std::exception_ptr error);

    /** Queued output rose above the high watermark (see set_write_watermarks()): pause what
        produces it. Default: nothing.

        @par Python
        No equivalent (asyncio's pause_writing()).
    */
    virtual void handle_write_high_water() {}

    /** Queued output fell back to the low watermark: resume. Default: nothing.

        @par Python
        No equivalent (asyncio's resume_writing()).
    */
    virtual void handle_write_low_water() {}

    /** The idle or read timeout expired (see set_idle_timeout()). Default: close(). The clocks
        restart if the channel stays open.

        @par Python
        No equivalent: asyncore never times out.
    */
    virtual void handle_timeout() { close(); }

    /** Whether to read now. Default true; while false, no read is started. Asked after each
        event of the channel and on resume_reading(), not polled.

        @par Python
        dispatcher.readable(), which asyncore asks on every loop pass.
    */
    virtual bool readable() { return true; }

    /** Whether to write queued output now. Default true; while false, queued output is held.
        Asked when output is queued, after each event and on resume_reading(), not polled.

        @par Python
        async_chat.writable(); CPython's push() sends the first piece even when it is false.
    */
    virtual bool writable() { return true; }

private:
    struct scan_handler;
    struct hook_scope;

    void map_close() override { close(); }
    void map_refresh() override { resume_reading(); }
    // The channel map of the executor's context: start() and connect() enter it, do_close()
    // leaves it.
    detail::channel_map& channel_map() const;
    void enter_map();
    void leave_map() noexcept;

    // Run `f` on the executor, inline when already there. Keeps the channel alive meanwhile.
    template <class F>
    void on_executor(F&& f);

    // Call a hook, routing any exception to handle_error().
    template <class F>
    void invoke_hook(F&& f) noexcept;

    // Pull the producer the output queue found due (see output_queue::prepare()).
    void pull() noexcept;
    // A producer that was not ready called resume().
    void on_resume() noexcept;

    // What push_callback() queues.
    template <class F>
    class callback_producer;
    // True if next_write() may answer send_file: a TCP socket, and use_sendfile.
    bool sendfile_allowed() const noexcept;
    // A step of sending the file at the head with sendfile(2) (`ec`: the wait's error); false
    // once the send ended in this step.
    bool send_file(boost::system::error_code ec) noexcept;
    void on_file_writable(boost::system::error_code const& ec) noexcept;

    // Call readable() or writable(); false too when it threw (and handle_error() was called).
    bool ask(bool (basic_async_chat::*predicate)()) noexcept;

    void report_error(std::exception_ptr const& error) noexcept;
    template <class Data>
    void do_push(Data&& data);
    // True while this thread runs this channel's user code: its calls on the channel need no
    // hop, and what they ask for is carried out once the user code returns.
    bool in_own_hook() const noexcept { return detail::hook_channel == this; }
    // push() from another thread than the hook's: a copy, queued on the executor.
    void push_posted(std::string_view data);
    // push() from a hook, when the bytes do not join the last entry of the queue.
    void push_queued(std::string_view data);
    // _collect_incoming_data() past its first view of a message.
    void collect_more(std::string_view data);
    // After a read's bytes were delivered: copy a message still being gathered as a view out
    // of the receive buffer, which the next read reuses.
    void keep_incoming();
    void do_close() noexcept;
    void after_event() noexcept;
    // Call the watermark hook due, if the queued bytes crossed one. Inside user code the
    // crossing waits for the event that ran it.
    void check_watermarks() noexcept;
    // Arm the timer for the core's deadline, if a timeout is set.
    void arm_timer() noexcept;
    void on_timer(boost::system::error_code const& ec) noexcept;
    void do_read() noexcept;
    void on_readable(boost::system::error_code const& ec) noexcept;
    // The handler of the readiness wait of do_read(): the operation Asio makes for it is
    // allocated at its exact size (80 bytes over a one-thread server's tcp::socket, by
    // heaptrack; 40 more over any_io_executor; Asio's own recycling allocator adds a byte,
    // which takes the next malloc chunk), as an idle connection keeps it for ever.
    struct read_wait
    {
        std::shared_ptr<basic_async_chat> self;

        using allocator_type = detail::exact_allocator<void>;
        allocator_type get_allocator() const noexcept { return {}; }

        void operator()(boost::system::error_code const& ec) const noexcept
        {
            self->on_readable(ec);
        }
    };
    // The read tried before waiting (see do_read()).
    void on_read_try() noexcept;
    // Read what the socket has now and deliver it; false if it had nothing.
    bool read_now() noexcept;
    void on_read(boost::system::error_code const& ec, std::size_t n) noexcept;
    void do_write() noexcept;
    void on_write(boost::system::error_code const& ec, std::size_t n) noexcept;
    void on_connect(boost::system::error_code const& ec) noexcept;
    // Connected (and the TLS handshake done): handle_connect(), then the async_connect() handler.
    void on_connected() noexcept;
    void
    begin_async_connect(endpoint_type const& ep, std::unique_ptr<detail::pending_completion> op);
    void begin_async_close(std::unique_ptr<detail::pending_completion> op);
    void do_close_when_done();

    // TLS. The streams that run a handshake: a TLS stream, and a STARTTLS stream once upgraded.
    static constexpr bool is_tls = detail::is_tls_stream_v<Stream>;
    static constexpr bool has_tls = is_tls || detail::is_starttls_stream_v<Stream>;
    // Why a handshake runs, which decides what follows it.
    enum class handshake_for : std::uint8_t
    {
        start,   // start() on a TLS stream (server)
        connect, // connect() on a TLS stream (client)
        upgrade  // start_tls()
    };
    // The TLS stream: the stream itself, or the STARTTLS stream's once upgraded.
    auto& tls_layer() noexcept
    {
        if constexpr (is_tls)
            return stream_;
        else
            return stream_.tls();
    }
    // True if the stream speaks TLS now (a close sends a close_notify).
    bool tls_active() const noexcept
    {
        if constexpr (is_tls)
            return true;
        else if constexpr (has_tls)
            return stream_.is_tls();
        else
            return false;
    }
    template <class HandshakeType>
    void begin_handshake(HandshakeType type, handshake_for why) noexcept;
    void on_handshake(boost::system::error_code const& ec, handshake_for why) noexcept;
    // What start_tls() queues: when it is pulled (everything before it written), the upgrade.
    template <class Context, class HandshakeType>
    class tls_upgrade;
    // After close(): send the close_notify once nothing is in flight (core_.take_teardown()).
    void finish_tls_close() noexcept;
    // Then the socket's lingering close (see lingering_time), or a close.
    void linger_after_tls() noexcept;
    // shutdown_when_done()'s mark: shut down the sending side of the socket.
    void shutdown_send() noexcept;
    std::string describe() const;
    // The peer's address as text; empty without a socket or a peer.
    std::string peer_name() const;
    // Close the stream; a connected socket the peer may still send to gets a lingering close.
    void close_stream(typename core_type::state was) noexcept;
    // Account `n` bytes moved now, read or written; returns the time.
    typename clock::time_point count_io(std::atomic<std::uint64_t>& counter, std::size_t n) noexcept
    {
        auto const now = clock::now();
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        last_io_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
        return now;
    }

    // The I/O object.
    Stream stream_;
    // Every decision: state, reading and writing, watermarks, timeouts, pacing, user code.
    core_type core_;
    // The sample collector (_collect_incoming_data(), _get_data(), _get_data_view()): the
    // message gathered is either incoming_view_, a view into the receive buffer (incoming_
    // empty), or incoming_'s bytes (incoming_view_ empty); incoming_view_ equal to incoming_
    // means _get_data_view() took them, and the collector is empty.
    std::string incoming_;
    std::string_view incoming_view_;
    // The part of bytes_sent_ sent with sendfile(2).
    std::atomic<std::uint64_t> bytes_sent_with_sendfile_{0};
    // What few channels use, made by the first use, in one pointer (an idle channel carries
    // it): the timer of the timeouts, made when the first is set, and the handlers of
    // async_connect() and async_close().
    struct extras
    {
        std::unique_ptr<Timer> timer;
        std::unique_ptr<detail::pending_completion> connect;
        std::vector<std::unique_ptr<detail::pending_completion>> close;
        boost::system::error_code error; // the error reported when the channel failed
        bool waited = false;             // waiting() was called: failures are noted from then on
    };
    std::unique_ptr<extras> extras_;
    // The extras, made if needed.
    extras& extra();
    // The extras, for async_connect() or async_close().
    extras& waiting();
    // Keep `ec` for async_close() as the reason the channel closes (the first one).
    void note_failure(boost::system::error_code const& ec) noexcept;
    // Byte counts and the time of the last I/O: written on the executor, read from anywhere.
    std::atomic<std::uint64_t> bytes_received_{0};
    std::atomic<std::uint64_t> bytes_sent_{0};
    std::atomic<typename clock::rep> last_io_;
};

/// The channel over TCP.
using async_chat = basic_async_chat<boost::asio::ip::tcp::socket>;

} // namespace asynchat

#include <asynchat/impl/async_chat.hpp>

#endif
