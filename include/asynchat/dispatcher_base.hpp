// asynchat: dispatcher_base, the readiness-event engine that dispatcher and file_dispatcher share
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DISPATCHER_BASE_HPP
#define ASYNCHAT_DISPATCHER_BASE_HPP

#include <asynchat/detail/bytes.hpp>
#include <asynchat/detail/channel_map.hpp>
#include <asynchat/detail/hooks.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace asynchat {

class dispatcher;

/** The event engine of every dispatcher: readiness events from a handle it does not own.

    While readable() holds, it waits for the handle to become readable and then calls
    handle_read(); while writable() holds and the handle is connected, it waits for writability
    and calls handle_write(). The predicates are re-evaluated after every event and once per
    loop() pass. Readiness is level-triggered, as with select(): a handler that leaves data
    unread is called again. recv() and send() follow asyncore's rules. Everything here is the
    same for every kind of handle; the handle itself (a socket and its acceptor in dispatcher, a
    file descriptor in file_dispatcher) is the derived class's, reached through the protected
    handle operations (ready_now(), async_wait_on(), read_some(), write_some(), close_handle(),
    native_handle(), pending_error()).

    Programs derive from dispatcher (a TCP socket) or file_dispatcher (a pipe, a terminal); its
    name holds both, as in `asynchat::channels<dispatcher_base>(io)`. A class for another kind of
    handle derives from it, owns the handle, implements the handle operations and calls
    mark_connected() in its constructor. Objects are owned by `std::shared_ptr`
    (`std::make_shared<Derived>(...)`); start() arms the events and enters the channel map.

    @par Python
    The part of asyncore.dispatcher that does not depend on the handle being a socket. CPython
    has no such class: its file_dispatcher derives from dispatcher and inherits socket methods
    that fail on a file. Here dispatcher and file_dispatcher both derive from dispatcher_base, so
    each offers only what its handle can do.

    @par Thread safety
    start() and close() may be called from any thread; everything else on the executor.

    @par Executor
    Every hook runs on get_executor().
*/
class dispatcher_base : public detail::channel_base,
                        public std::enable_shared_from_this<dispatcher_base>
{
public:
    /// The executor every hook runs on.
    using executor_type = boost::asio::any_io_executor;

    /** How soon an event is repeated for a handle that stays ready while its handler moves no
        bytes: a writable() that is always true with a handle_write() that sends nothing, an EOF
        whose handle_close() does not close, a handler that fails without closing.

        Outside loop() such an event comes again after idle_retry. Under loop() it comes once
        per pass, as in asyncore, but it does not count as an event of the pass: a pass that
        has nothing else waits idle_retry (or its timeout, if shorter) instead of returning at
        once, so the process does not spin at 100% CPU as asyncore's does. Events whose handler
        moved bytes (recv(), send()) or took a connection (dispatcher::accept()) repeat at once.
    */
    static constexpr std::chrono::milliseconds idle_retry{10};

    dispatcher_base(dispatcher_base const&) = delete;
    dispatcher_base& operator=(dispatcher_base const&) = delete;

    /// Closes nothing: close() (or the handle's own destructor) does.
    virtual ~dispatcher_base();

    /// Arm the events and enter the channel map; begins a dispatcher::connect() made before it.
    void start();

    /** Send what the handle takes now; returns the bytes taken.

        Every send() overload ends here, so a subclass that overrides this one (to count bytes,
        as Medusa does, or to queue them, as dispatcher_with_send does) changes them all; it
        keeps the others visible with `using dispatcher::send;`.

        @param data The bytes to send.
        @return The bytes taken: 0 when the handle would block, while a dispatcher::connect()
        is in progress (the connection is not made yet, as asyncore's send() returns 0 for the
        EAGAIN of a connecting socket), and after a disconnect, which calls handle_close().
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

    /** Send the C string in a writable char buffer (`char line[64]; snprintf(line, ...)`): up
        to its first NUL, not the whole buffer.
    */
    template <std::size_t N>
    std::size_t send(char (&data)[N])
    {
        return send(std::string_view(data, detail::buffer_bytes(data)));
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

    /// Close the handle now and leave the channel map. Safe from any thread.
    void close();

    /** True once connected: after handle_connect() returned (dispatcher::connect(), as in
        asyncore), from the start for an accepted socket or a file; false once closed.
    */
    bool connected() const noexcept { return state_ == state::connected; }

    /// The executor every hook runs on.
    executor_type const& get_executor() const noexcept { return executor_; }

protected:
    /** Only as the base of a dispatcher type, which owns the handle.

        @param ex The executor every hook runs on.
    */
    explicit dispatcher_base(executor_type const& ex);

    // Every hook runs on the dispatcher's executor; an exception it throws goes to handle_error().

    /** The handle is readable: call recv(). Default: log a warning.

        A listening dispatcher gets dispatcher::handle_accept() instead.

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

    /// Default: log, then close().
    virtual void handle_close();

    /** A handle error, or an exception thrown by a hook.

        Default: log CPython's line, "uncaptured exception, closing channel <repr>
        (<type>:<what>)", through log_info() with type "error" (`<repr>` names the dynamic type,
        the state and, for a socket, the address: `<my_server listening 127.0.0.1:8080 at
        0x...>`), then handle_close().

        @param error The exception (a `boost::system::system_error` for a handle error).

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
    // The handle the events come from: a derived class owns it and implements these. All of
    // them are called on the dispatcher's executor.

    /// What a wait is for: select()'s three sets.
    enum class wait_kind
    {
        read,  ///< readable (or a connection to accept)
        write, ///< writable (or a connect completed)
        error  ///< an error or priority condition
    };

    /** True if an event of `kind` is due now.

        Default: poll(2) on native_handle() with no timeout (POLLIN, POLLOUT or POLLPRI; POLLHUP
        and POLLERR make reads, writes and, POLLERR, errors due).

        @param kind The event.
    */
    virtual bool ready_now(wait_kind kind) noexcept;

    /** Wait for `kind` on the handle.

        @param kind The event to wait for.
        @param h Called once, on the dispatcher's executor, with no error when the handle is
        ready, or with `boost::asio::error::operation_aborted` when it is closed first.
        @throws boost::system::system_error if the wait cannot start (the dispatcher reports it
        to handle_error()).
    */
    virtual void
    async_wait_on(wait_kind kind, std::function<void(boost::system::error_code)> h) = 0;

    /** Read at most `size` bytes into `data` without blocking.

        @param data Where to put the bytes.
        @param size The room at `data`, in bytes.
        @param ec Set to `boost::asio::error::would_block` when nothing is available, to
        `boost::asio::error::eof` at the end, or to the handle's error.
        @return The number of bytes read (0 with `ec` set).
    */
    virtual std::size_t read_some(char* data, std::size_t size, boost::system::error_code& ec) = 0;

    /** Write at most `size` bytes of `data` without blocking.

        @param data The bytes to write.
        @param size Their number.
        @param ec Set to `boost::asio::error::would_block` when the handle takes nothing now, or
        to the handle's error.
        @return The number of bytes written (0 with `ec` set).
    */
    virtual std::size_t
    write_some(char const* data, std::size_t size, boost::system::error_code& ec) = 0;

    /// Close the handle, ignoring errors; pending waits complete with `operation_aborted`.
    virtual void close_handle() noexcept = 0;

    /// The handle's descriptor, -1 if none is open.
    virtual int native_handle() noexcept = 0;

    /// The handle's pending error (SO_ERROR for a socket), 0 if none.
    virtual int pending_error() noexcept = 0;

    /** For handles that are connected from the start (an accepted socket, a file): connected()
        is true from now on. Call it from the constructor, before start().
    */
    void mark_connected() noexcept;

private:
    /// The socket kind of handle: it drives the states only a socket goes through (connecting,
    /// accepting) and the accept back-off, which a file and other handles never do.
    friend class dispatcher;

    // Where the handle is in asyncore's life of a socket; once closed, it stays closed. A file
    // is connected from the start; only a socket connects or accepts.
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

    // What differs with the kind of handle inside the engine itself. The defaults are a handle
    // that is only ever connected or closed (a file); dispatcher overrides them.

    // Begin, on the executor, what the handle put off until start() (a connect()).
    virtual void begin_deferred() {}
    // A read event that readable() allows: handle_read() (handle_accept() when listening).
    virtual void route_read_event() { handle_read(); }
    // The address in the repr of handle_error()'s line, "" for none.
    virtual std::string repr_address() const { return {}; }

    void map_close() override { close(); }
    void map_refresh() override;

    template <class F>
    void on_executor(F&& f);
    template <class F>
    void invoke_hook(F&& f) noexcept
    {
        if (auto error = detail::call_hook<detail::no_hook_scope>(*this, std::forward<F>(f)))
            report_error(error);
    }
    bool ask(bool (dispatcher_base::*predicate)()) noexcept;
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
    std::string describe() const;

    // Largest first, so that the flags share one word.
    executor_type executor_;
    // Outside loop(), idle events are retried after idle_retry; read pauses use it too.
    boost::asio::steady_timer idle_timer_;
    // The loop() pass in which an idle event of each kind was last posted.
    per_kind<std::uint64_t> ready_pass_{};
    // Non-zero: the next arm() of reads waits this long first (a listener's accept back-off,
    // set by dispatcher::accept()); that arm() resets it.
    std::chrono::milliseconds read_pause_{0};
    state state_ = state::unconnected;
    // The dispatcher's slot in the channel map (see detail::channel_map).
    std::uint32_t map_slot_ = detail::channel_map::no_slot;
    bool started_ = false;
    // An error wait woke for a hang-up: it would wake forever, and reads see the EOF.
    bool hung_up_ = false;
    bool idle_timer_pending_ = false;
    // Invariant: waiting_[k] iff a wait of kind k is pending, posted or deferred; one at most.
    per_kind<bool> waiting_{};
    // Whether bytes moved (recv(), send()) or a connection was taken (accept()) since the last
    // event of each kind began: one that moved nothing is paced, not repeated at once (arm()).
    per_kind<bool> progress_{{true, true, true}};
    // The kinds whose event idle_timer_ brings.
    per_kind<bool> deferred_{};
};

} // namespace asynchat

#endif
