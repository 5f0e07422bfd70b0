// asynchat: dispatcher, CPython's asyncore.dispatcher as a readiness-driven Asio object
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DISPATCHER_HPP
#define ASYNCHAT_DISPATCHER_HPP

#include <asynchat/dispatcher_base.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace asynchat {

/** A socket driven by readiness events, as asyncore drives its dispatchers.

    While readable() holds, the dispatcher waits for the socket to become readable and then
    calls handle_read() (or, listening, handle_accept()); while writable() holds and it is
    connected, it waits for writability and calls handle_write(). The predicates are
    re-evaluated after every event of the dispatcher and once per loop() pass. Readiness is
    level-triggered, as with select(): a handler that leaves data unread is called again.
    recv() and send() follow asyncore's rules. The events, hooks, recv(), send() and close()
    are dispatcher_base's, which file_dispatcher shares; this class adds the socket, the
    acceptor and what asyncore does with them (create_socket(), bind(), listen(), connect(),
    accept()).

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
    file_dispatcher is not a dispatcher here (it is in CPython): see dispatcher_base.

    @par Thread safety
    start() and close() may be called from any thread; everything else on the executor.

    @par Executor
    Every hook runs on get_executor(). Accepted sockets get a strand of the same execution
    context (not of the dispatcher's own strand: channels stay independent of each other), so
    their channels may run on a multi-threaded io_context; see strand_per_socket.
*/
class dispatcher : public dispatcher_base
{
public:
    /// The dispatcher is TCP (IPv4 and IPv6).
    using protocol_type = boost::asio::ip::tcp;
    /// The socket it owns, and the type of the sockets accept() hands out.
    using socket_type = protocol_type::socket;
    /// An address and port.
    using endpoint_type = protocol_type::endpoint;

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

    /// Closes nothing: close() (or the socket's destructor) does.
    ~dispatcher() override;

    /** A `std::shared_ptr` to this dispatcher, sharing ownership with the one that owns it.

        @return The dispatcher (dispatcher_base's would be of the base type).
        @throws std::bad_weak_ptr if no `std::shared_ptr` owns it yet (in its constructor).
    */
    std::shared_ptr<dispatcher> shared_from_this()
    {
        return std::static_pointer_cast<dispatcher>(dispatcher_base::shared_from_this());
    }

    /** A `std::shared_ptr` to this dispatcher, sharing ownership with the one that owns it.

        @return The dispatcher, const.
        @throws std::bad_weak_ptr if no `std::shared_ptr` owns it yet (in its constructor).
    */
    std::shared_ptr<dispatcher const> shared_from_this() const
    {
        return std::static_pointer_cast<dispatcher const>(dispatcher_base::shared_from_this());
    }

    /// @return A `std::weak_ptr` to this dispatcher, empty if no `std::shared_ptr` owns it.
    std::weak_ptr<dispatcher> weak_from_this() noexcept
    {
        return std::static_pointer_cast<dispatcher>(dispatcher_base::weak_from_this().lock());
    }

    /// @return A `std::weak_ptr` to this dispatcher, const, empty if no `std::shared_ptr` owns it.
    std::weak_ptr<dispatcher const> weak_from_this() const noexcept
    {
        return std::static_pointer_cast<dispatcher const>(dispatcher_base::weak_from_this().lock());
    }

    /// Open the socket (asyncore.create_socket(family, type)); non-blocking, as in asyncore.
    void create_socket(protocol_type protocol = protocol_type::v4());

    /// Set SO_REUSEADDR; errors are ignored, as in asyncore.
    void set_reuse_addr();

    /** Set SO_REUSEPORT, before bind(): several listeners, each on an io_context of its own
        (one per core), may then bind the same address and port, and the kernel spreads the
        incoming connections across them. No strand is needed: each io_context runs on one
        thread (set strand_per_socket to false), and channels never share a thread.

        @throws boost::system::system_error if the system refuses the option (unlike
        set_reuse_addr(), whose errors asyncore ignores: a server that relies on it must know);
        std::logic_error before create_socket().

        @par Python
        No asyncore equivalent: `sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)`.
    */
    void set_reuse_port();

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

    /** Accept one pending connection onto a socket whose executor is `ex`, of `ex`'s own type.

        For a multi-threaded server: `accept(boost::asio::make_strand(io))` gives a socket of
        type `basic_stream_socket<tcp, strand<io_context::executor_type>>`, and a channel of
        `basic_async_chat` over that type runs on the strand without the type-erased
        any_io_executor: no executor copy to the heap per operation. Call it from an override
        of handle_accept(), which then replaces accept() + handle_accepted().

        @param ex The new socket's executor.
        @return As accept(): the socket and the peer's address, or `std::nullopt` (nothing
        pending, aborted, or descriptors exhausted: the same back-off).
        @throws As accept().

        @par Python
        dispatcher.accept(), with Asio's `acceptor.accept(executor)`.
    */
    template <class Executor>
    std::optional<
        std::pair<typename socket_type::template rebind_executor<Executor>::other, endpoint_type>>
    accept(Executor const& ex)
    {
        typename socket_type::template rebind_executor<Executor>::other sock(ex);
        endpoint_type peer;
        boost::system::error_code ec;
        if (!accepting())
            throw std::logic_error("asynchat::dispatcher::accept: the dispatcher is not listening");
        acceptor_.accept(sock, peer, ec);
        if (!take_accepted(ec, sock.native_handle()))
            return std::nullopt;
        return std::make_pair(std::move(sock), peer);
    }

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

    /// The socket (closed once listening: the acceptor then holds the descriptor).
    socket_type& socket() noexcept { return socket_; }

protected:
    /** The connection started by connect() is established. Default: log a warning.

        @par Python
        dispatcher.handle_connect().
    */
    virtual void handle_connect() { log_info("unhandled connect event", "warning"); }

    /** Default: accept() and, if it returned a connection, handle_accepted().

        Descriptor exhaustion does not reach handle_error(): accept() pauses the listener
        instead (see accept_backoff_initial).

        @par Python
        dispatcher.handle_accept().
    */
    virtual void handle_accept();

    /** Default: close the socket and log, as CPython does.

        @param sock The accepted socket.
        @param addr The peer's address.

        @par Python
        dispatcher.handle_accepted(sock, addr).
    */
    virtual void handle_accepted(socket_type sock, endpoint_type addr);

    //------------------------------------------------------------------------
    // The socket (or, listening, the acceptor) as the handle the events come from.

    /// Wait for `kind` on the socket, or on the acceptor while listening.
    void async_wait_on(wait_kind kind, std::function<void(boost::system::error_code)> h) override;
    /// Read from the socket without blocking (recv(2)).
    std::size_t read_some(char* data, std::size_t size, boost::system::error_code& ec) override;
    /// Write to the socket without blocking (send(2)).
    std::size_t
    write_some(char const* data, std::size_t size, boost::system::error_code& ec) override;
    /// Close the socket and the acceptor.
    void close_handle() noexcept override;
    /// The socket's descriptor (the acceptor's while listening), -1 if none is open.
    int native_handle() noexcept override;
    /// SO_ERROR of the socket.
    int pending_error() noexcept override;

private:
    void begin_deferred() final;
    void route_read_event() final;
    std::string repr_address() const final;

    void begin_connect(endpoint_type const& ep);
    void on_connect(boost::system::error_code const& ec) noexcept;
    executor_type accepted_socket_executor() const;
    // After acceptor_.accept() gave `ec` (and the descriptor `fd`): true if a connection was
    // taken; otherwise the accept back-off and progress rules (see accept()). Throws for other
    // errors.
    bool take_accepted(boost::system::error_code const& ec, int fd);

    socket_type socket_;
    protocol_type::acceptor acceptor_;
    std::optional<endpoint_type> addr_;
    // A connect() made before start(), which start() begins (begin_deferred()).
    std::optional<endpoint_type> pending_connect_;
    // The current back-off: 0 until accept() meets exhaustion, reset by a connection accepted.
    std::chrono::milliseconds accept_backoff_{0};
};

} // namespace asynchat

#endif
