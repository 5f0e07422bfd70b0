// asynchat: dispatcher, CPython's asyncore.dispatcher as a readiness-driven Asio object
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DISPATCHER_HPP
#define ASYNCHAT_DISPATCHER_HPP

#include <asynchat/detail/bytes.hpp>
#include <asynchat/detail/channel_map.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace asynchat {

/** A socket driven by readiness events, as asyncore drives its dispatchers.

    While readable() holds, the dispatcher waits for the socket to become readable and then
    calls handle_read() (or, listening, handle_accept()); while writable() holds and it is
    connected, it waits for writability and calls handle_write(). The predicates are
    re-evaluated after every event of the dispatcher and once per loop() pass. Readiness is
    level-triggered, as with select(): a handler that leaves data unread is called again.
    recv() and send() follow asyncore's rules.

    Objects are owned by `std::shared_ptr` (`std::make_shared<Derived>(...)`); the calls made in
    a Python __init__ (create_socket(), bind(), listen(), connect()) may be made in the
    constructor, and start() then arms the events and enters the channel map.

    @par Python
    asyncore.dispatcher. Differences: start() after construction; accept() returns
    `std::optional<std::pair<socket, endpoint>>`; would-block makes recv() return "" (Python
    raises BlockingIOError); errors are passed to handle_error() as a `std::exception_ptr`.
    Nothing spins where asyncore does: a handler that moves no bytes on a handle that stays
    ready is called again at idle_retry's pace, and accept() failing for want of descriptors
    pauses the listener (accept_backoff_initial) instead of calling handle_error(). log(),
    log_info() and ignore_log_types come from channel_logger, the base async_chat shares.

    @par Thread safety
    start() and close() may be called from any thread; everything else on the executor.

    @par Executor
    Every hook runs on get_executor(). Accepted sockets get a strand of the same execution
    context (not of the dispatcher's own strand: channels stay independent of each other), so
    their channels may run on a multi-threaded io_context; see strand_per_socket.
*/
class dispatcher : public detail::channel_base, public std::enable_shared_from_this<dispatcher>
{
public:
    /// The executor every hook runs on.
    using executor_type = boost::asio::any_io_executor;
    /// The dispatcher is TCP (IPv4 and IPv6).
    using protocol_type = boost::asio::ip::tcp;
    /// The socket it owns, and the type of the sockets accept() hands out.
    using socket_type = protocol_type::socket;
    /// An address and port.
    using endpoint_type = protocol_type::endpoint;

    /** How soon an event is repeated for a handle that stays ready while its handler moves no
        bytes: a writable() that is always true with a handle_write() that sends nothing, an EOF
        whose handle_close() does not close, a handler that fails without closing.

        Outside loop() such an event comes again after idle_retry. Under loop() it comes once
        per pass, as in asyncore, but it does not count as an event of the pass: a pass that
        has nothing else waits idle_retry (or its timeout, if shorter) instead of returning at
        once, so the process does not spin at 100% CPU as asyncore's does. Events whose handler
        moved bytes (recv(), send()) or took a connection (accept()) repeat at once.
    */
    static constexpr std::chrono::milliseconds idle_retry{10};

    /** The first pause of a listener whose accept() failed for want of resources.

        EMFILE, ENFILE, ENOBUFS and ENOMEM leave the connection in the backlog, so the
        listener stays ready and would fail again at once. Instead it stops accepting for
        accept_backoff_initial, and for twice as long after each further failure in a row (at
        most accept_backoff_max); the first accepted connection resets it. Each pause is logged
        once, through log_info() with type "error"; handle_error() is not called, so the
        listener is never closed for it.

        @par Python
        None: asyncore passes the error to handle_error(), whose default closes the listener,
        and one that does not close it is called again at once for as long as it lasts.
    */
    static constexpr std::chrono::milliseconds accept_backoff_initial{5};

    /// The longest pause of a listener whose accept() keeps failing for want of resources.
    static constexpr std::chrono::milliseconds accept_backoff_max{1000};

    /** Whether accept() gives each socket a new strand of the execution context (the default).

        Set it to false where one thread runs the io_context, as in asyncore: accepted sockets
        then use the io_context's executor itself, which saves each connection the strand's
        state and each of its handlers the strand's lock. It applies to an io_context only: on a
        thread_pool each socket gets a strand of the pool, on other execution contexts a strand
        of the dispatcher's executor.
    */
    bool strand_per_socket = true;

    /// A dispatcher without a socket yet: create_socket() (or connect()) next.
    explicit dispatcher(executor_type const& ex);

    /// A dispatcher over an accepted or connected socket.
    explicit dispatcher(socket_type sock);

    dispatcher(dispatcher const&) = delete;
    dispatcher& operator=(dispatcher const&) = delete;
    virtual ~dispatcher();

    /// Arm the events and enter the channel map; begins a connect() made before it.
    void start();

    /// Open the socket (asyncore.create_socket(family, type)); non-blocking, as in asyncore.
    void create_socket(protocol_type protocol = protocol_type::v4());

    /// Set SO_REUSEADDR; errors are ignored, as in asyncore.
    void set_reuse_addr();

    /// Bind the socket; addr() reports `ep` afterwards. @throws boost::system::system_error
    void bind(endpoint_type const& ep);

    /// Listen; from now on read events call handle_accept(). @throws boost::system::system_error
    void listen(int backlog);

    /** Connect to `ep`; handle_connect() follows on success, handle_error() on failure.

        Opens the socket if create_socket() was not called.
    */
    void connect(endpoint_type const& ep);

    /** Accept one pending connection, without blocking.

        @return The socket (on a strand of this dispatcher's execution context, see
        strand_per_socket) and the peer's address, or `std::nullopt` when no connection is
        pending, when the connection was aborted before it was accepted, or when descriptors or
        memory are exhausted (EMFILE, ENFILE, ENOBUFS, ENOMEM). In the last case the dispatcher
        logs the error once and stops accepting for a back-off (see accept_backoff_initial);
        handle_accept() is called again after it.
        @throws boost::system::system_error for other errors, std::logic_error if not listening.

        @par Python
        dispatcher.accept(). CPython returns None for a would-block or an aborted connection
        and raises for exhaustion, so handle_error() closes the listener by default.
    */
    std::optional<std::pair<socket_type, endpoint_type>> accept();

    /** Send what the socket takes now; returns the bytes taken.

        Every send() overload ends here, so a subclass that overrides this one (to count bytes,
        as Medusa does, or to queue them, as dispatcher_with_send does) changes them all; it
        keeps the others visible with `using dispatcher::send;`.

        @param data The bytes to send.
        @return The bytes taken: 0 when the socket would block, while a connect() is in
        progress (the connection is not made yet, as asyncore's send() returns 0 for the EAGAIN
        of a connecting socket), and after a disconnect, which calls handle_close().
        @throws boost::system::system_error for other errors.

        @par Python
        dispatcher.send(data).
    */
    virtual std::size_t send(std::string_view data);

    /** Send from a string literal or char array, embedded NULs included: `send("a\0b")` sends
        three bytes, as `send(b"a\0b")` does in Python.

        @param data The literal: its bytes without the closing NUL.
        @return The bytes taken, as send(std::string_view).
    */
    template <std::size_t N>
    std::size_t send(char const (&data)[N])
    {
        return send(std::string_view(data, detail::array_bytes(data)));
    }

    /** Send from a NUL-terminated string (up to its first NUL).

        @param data A C string.
        @return The bytes taken, as send(std::string_view).
        @throws std::invalid_argument if `data` is null.
    */
    template <class CharPtr, std::enable_if_t<detail::is_c_string_v<CharPtr>, int> = 0>
    std::size_t send(CharPtr const& data)
    {
        if (!data)
            throw std::invalid_argument("asynchat::dispatcher::send: null char pointer");
        return send(std::string_view(data));
    }

    /// Refused at compile time: Python's send(None) is an error too.
    std::size_t send(std::nullptr_t) = delete;

    /** Receive up to `buffer_size` bytes now.

        "" when nothing is available; on EOF or a disconnect, calls handle_close() and returns
        "". @throws boost::system::system_error for other errors.
    */
    std::string recv(std::size_t buffer_size);

    /// Close the socket now and leave the channel map. Safe from any thread.
    void close();

    /// True once connected (after handle_connect() returned, as in asyncore).
    bool connected() const noexcept { return state_ == state::connected; }

    /// True while listening.
    bool accepting() const noexcept { return state_ == state::accepting; }

    /// True while a connect() is in progress.
    bool connecting() const noexcept { return state_ == state::connecting; }

    /// The address given to bind() or connect(), or the peer of an accepted socket.
    std::optional<endpoint_type> const& addr() const noexcept { return addr_; }

    /** The local address of the socket (of the acceptor, once listening).

        @par Python
        dispatcher.socket.getsockname().
        @throws boost::system::system_error
    */
    endpoint_type local_endpoint() const;

    /// The executor every hook runs on.
    executor_type const& get_executor() const noexcept { return executor_; }

    /// The socket (closed once listening: the acceptor then holds the descriptor).
    socket_type& socket() noexcept { return socket_; }

protected:
    // Every hook runs on the dispatcher's executor; an exception it throws goes to handle_error().

    /** The handle is readable: call recv() (or accept() on a listener). Default: log a warning.

        @par Python
        dispatcher.handle_read().
    */
    virtual void handle_read() { log_info("unhandled read event", "warning"); }

    /** The handle is writable: call send(). Default: log a warning.

        @par Python
        dispatcher.handle_write().
    */
    virtual void handle_write() { log_info("unhandled write event", "warning"); }

    /** Out-of-band data or an error condition on the handle. Default: log a warning.

        @par Python
        dispatcher.handle_expt().
    */
    virtual void handle_expt() { log_info("unhandled incoming priority event", "warning"); }

    /** The connection started by connect() is established. Default: log a warning.

        @par Python
        dispatcher.handle_connect().
    */
    virtual void handle_connect() { log_info("unhandled connect event", "warning"); }

    /** Default: accept() and, if it returned a connection, handle_accepted().

        Descriptor exhaustion does not reach handle_error(): accept() pauses the listener
        instead (see accept_backoff_initial).
    */
    virtual void handle_accept();

    /// Default: close the socket and log, as CPython does.
    virtual void handle_accepted(socket_type sock, endpoint_type addr);

    /// Default: log, then close().
    virtual void handle_close();

    /** A socket error, or an exception thrown by a hook.

        Default: log CPython's line, "uncaptured exception, closing channel <repr>
        (<type>:<what>)", through log_info() with type "error" (`<repr>` names the dynamic type,
        the state and the address: `<my_server listening 127.0.0.1:8080 at 0x...>`), then
        handle_close().

        @param error The exception (a `boost::system::system_error` for a socket error).

        @par Python
        dispatcher.handle_error(), whose line names the exception's class, value and traceback.
    */
    virtual void handle_error(std::exception_ptr error);

    /** Whether to wait for readability. Default true. Asked before each wait (once per pass
        under loop()).

        @par Python
        dispatcher.readable().
    */
    virtual bool readable() { return true; }

    /** Whether to wait for writability. Default true. Asked before each wait.

        @par Python
        dispatcher.writable().
    */
    virtual bool writable() { return true; }

    //------------------------------------------------------------------------
    // The handle the events come from. file_dispatcher replaces these for a file descriptor.
    // All of them are called on the dispatcher's executor.

    /// What a wait is for: select()'s three sets.
    enum class wait_kind
    {
        read,  ///< readable (or a connection to accept)
        write, ///< writable (or a connect completed)
        error  ///< an error or priority condition
    };

    /// True if an event of `kind` is due now (poll(2) with no timeout).
    virtual bool ready_now(wait_kind kind) noexcept;
    /// Wait for `kind` on the handle.
    virtual void async_wait_on(wait_kind kind, std::function<void(boost::system::error_code)> h);
    /// Read at most `size` bytes into `data` without blocking; the count, or 0 with `ec` set.
    virtual std::size_t read_some(char* data, std::size_t size, boost::system::error_code& ec);
    /// Write at most `size` bytes of `data` without blocking; the count, or 0 with `ec` set.
    virtual std::size_t
    write_some(char const* data, std::size_t size, boost::system::error_code& ec);
    /// Close the handle (the socket and the acceptor, or the file descriptor).
    virtual void close_handle() noexcept;
    /// The handle's descriptor, -1 if none is open.
    virtual int native_handle() noexcept;
    /// SO_ERROR of the handle (0 for a file).
    virtual int pending_error() noexcept;

    /// For handles that are connected from the start (file_dispatcher).
    void mark_connected() noexcept;

private:
    // Where the handle is in asyncore's life of a socket; once closed, it stays closed.
    enum class state
    {
        unconnected, // created, bound, or a connect() that failed
        connecting,  // connect() called, its completion not yet handled
        connected,   // handle_connect() returned, or made from a connected socket or a file
        accepting,   // listen() called
        closed
    };

    // One value per wait kind, indexed by the kind.
    template <class T>
    struct per_kind
    {
        T& operator[](wait_kind kind) noexcept { return values[static_cast<std::size_t>(kind)]; }
        T const& operator[](wait_kind kind) const noexcept
        {
            return values[static_cast<std::size_t>(kind)];
        }
        T values[3];
    };
    static constexpr wait_kind wait_kinds[] = {wait_kind::read, wait_kind::write, wait_kind::error};

    void map_close() override { close(); }
    void map_refresh() override;

    template <class F>
    void on_executor(F&& f);
    template <class F>
    void invoke_hook(F&& f) noexcept;
    bool ask(bool (dispatcher::*predicate)()) noexcept;
    void report_error(std::exception_ptr const& error) noexcept;
    void do_close() noexcept;
    void rearm() noexcept;
    void arm(wait_kind kind) noexcept;
    void arm_wait(wait_kind kind) noexcept;
    void arm_now(wait_kind kind) noexcept;
    void arm_next_pass(wait_kind kind, detail::channel_map& map) noexcept;
    void arm_after(wait_kind kind, std::chrono::milliseconds delay) noexcept;
    void on_ready(wait_kind kind, boost::system::error_code const& ec) noexcept;
    void note_progress(wait_kind kind) noexcept { progress_[kind] = true; }
    void begin_connect(endpoint_type const& ep);
    void on_connect(boost::system::error_code const& ec) noexcept;
    executor_type accepted_socket_executor() const;
    std::string describe() const;

    executor_type executor_;
    socket_type socket_;
    protocol_type::acceptor acceptor_;
    std::optional<endpoint_type> addr_;
    std::optional<endpoint_type> pending_connect_;
    state state_ = state::unconnected;
    bool started_ = false;
    // An error wait woke for a hang-up: it would wake forever, and reads see the EOF.
    bool hung_up_ = false;
    // Invariant: waiting_[k] iff a wait of kind k is pending, posted or deferred; one at most.
    per_kind<bool> waiting_{};
    // Whether bytes moved (recv(), send()) or a connection was taken (accept()) since the last
    // event of each kind began: one that moved nothing is paced, not repeated at once (arm()).
    per_kind<bool> progress_{{true, true, true}};
    // The loop() pass in which an idle event of each kind was last posted.
    per_kind<std::uint64_t> ready_pass_{};
    // Outside loop(), idle events are retried after idle_retry; accept back-offs use it too.
    boost::asio::steady_timer idle_timer_;
    bool idle_timer_pending_ = false;
    // The kinds whose event idle_timer_ brings.
    per_kind<bool> deferred_{};
    // accept() met exhaustion and the next arm() of reads must wait accept_backoff_ first.
    bool accept_paused_ = false;
    // The current back-off: 0 until accept() meets exhaustion, reset by a connection accepted.
    std::chrono::milliseconds accept_backoff_{0};
};

} // namespace asynchat

#endif
