// asynchat: dispatcher
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/detail/hooks.hpp>
#include <asynchat/dispatcher.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/assert.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>

namespace asynchat {

namespace {

boost::asio::execution_context& context_of(dispatcher::executor_type const& ex)
{
    return boost::asio::query(ex, boost::asio::execution::context);
}

// accept() failed for want of a resource that closing connections gives back: the pending
// connection stays in the backlog, so the listener stays readable and would fail again at once.
bool is_exhaustion(boost::system::error_code const& ec) noexcept
{
    namespace errc = boost::system::errc;
    return ec == errc::too_many_files_open || ec == errc::too_many_files_open_in_system ||
           ec == errc::no_buffer_space || ec == errc::not_enough_memory;
}

} // namespace

dispatcher::dispatcher(executor_type const& ex)
    : executor_(ex), socket_(ex), acceptor_(ex), idle_timer_(ex)
{
}

dispatcher::dispatcher(socket_type sock)
    : executor_(sock.get_executor()), socket_(std::move(sock)), acceptor_(executor_),
      idle_timer_(executor_)
{
    boost::system::error_code ec;
    auto const peer = socket_.remote_endpoint(ec);
    if (!ec && socket_.is_open())
    {
        state_ = state::connected;
        addr_ = peer;
    }
    socket_.non_blocking(true, ec);
}

dispatcher::~dispatcher() = default;

void dispatcher::mark_connected() noexcept
{
    BOOST_ASSERT(state_ == state::unconnected);
    state_ = state::connected;
}

//----------------------------------------------------------------------------
// The asyncore socket API.

template <class F>
void dispatcher::on_executor(F&& f)
{
    boost::asio::dispatch(
        executor_,
        [self = shared_from_this(), f = std::forward<F>(f)]() mutable { self->invoke_hook(f); }
    );
}

void dispatcher::start()
{
    // Enter the map at once, as asyncore's set_socket() does, so that loop() and
    // channel_count() see the dispatcher before its first event. The map is thread-safe.
    auto& map = detail::channel_map::of(context_of(executor_));
    map.add(this, weak_from_this());
    on_executor(
        [this, &map]
        {
            if (state_ == state::closed)
                map.remove(this); // closed before it started
            if (started_ || state_ == state::closed)
                return;
            started_ = true;
            if (pending_connect_)
                begin_connect(*std::exchange(pending_connect_, std::nullopt));
            rearm();
        }
    );
}

void dispatcher::create_socket(protocol_type protocol)
{
    socket_.open(protocol);
    socket_.non_blocking(true);
    // Not inherited by child processes, as Python's sockets (PEP 446).
    ::fcntl(socket_.native_handle(), F_SETFD, FD_CLOEXEC);
}

void dispatcher::set_reuse_addr()
{
    boost::system::error_code ignored;
    socket_.set_option(boost::asio::socket_base::reuse_address(true), ignored);
}

void dispatcher::bind(endpoint_type const& ep)
{
    if (!socket_.is_open())
        create_socket(ep.protocol());
    addr_ = ep;
    socket_.bind(ep);
}

void dispatcher::listen(int backlog)
{
    if (!socket_.is_open())
        throw std::logic_error("asynchat::dispatcher::listen: no socket (call create_socket())");
    // Asio keeps acceptors and sockets apart: hand the descriptor over to the acceptor.
    protocol_type const protocol = socket_.local_endpoint().protocol();
    acceptor_.assign(protocol, socket_.release());
    acceptor_.listen(backlog);
    acceptor_.non_blocking(true);
    BOOST_ASSERT(state_ != state::closed);
    state_ = state::accepting;
}

void dispatcher::connect(endpoint_type const& ep)
{
    addr_ = ep;
    if (state_ != state::closed)
        state_ = state::connecting;
    if (started_)
        begin_connect(ep);
    else
        pending_connect_ = ep;
}

void dispatcher::begin_connect(endpoint_type const& ep)
{
    if (!socket_.is_open())
        create_socket(ep.protocol());
    socket_.async_connect(
        ep,
        [self = shared_from_this()](boost::system::error_code const& ec) { self->on_connect(ec); }
    );
}

void dispatcher::on_connect(boost::system::error_code const& ec) noexcept
{
    if (state_ == state::closed)
        return;
    state_ = state::unconnected;
    if (ec)
    {
        report_error(std::make_exception_ptr(boost::system::system_error(ec, "connect")));
        return;
    }
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    // As asyncore's handle_connect_event: connected becomes true after handle_connect().
    invoke_hook([this] { handle_connect(); });
    if (state_ == state::unconnected)
        state_ = state::connected;
    rearm();
}

std::optional<std::pair<dispatcher::socket_type, dispatcher::endpoint_type>> dispatcher::accept()
{
    if (!accepting())
        throw std::logic_error("asynchat::dispatcher::accept: the dispatcher is not listening");
    boost::system::error_code ec;
    endpoint_type peer;
    socket_type sock(accepted_socket_executor());
    acceptor_.accept(sock, peer, ec);
    // Progress is a connection taken off the backlog, aborted ones included; a failure that
    // leaves the backlog as it was is not, so that the next event waits (see arm()).
    if (ec == boost::asio::error::connection_aborted)
        note_progress(wait_kind::read);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again ||
        ec == boost::asio::error::connection_aborted)
        return std::nullopt;
    if (is_exhaustion(ec))
    {
        // Pause instead of failing: handle_error()'s default would close the listener, and a
        // handle_error() that does not would be called again at once, for as long as the
        // descriptors stay exhausted. The next arm() waits accept_backoff_ before it lets
        // the listener accept again; each exhaustion in a row doubles it.
        if (!accept_paused_)
        {
            accept_paused_ = true;
            accept_backoff_ =
                accept_backoff_.count() == 0
                    ? accept_backoff_initial
                    : std::min<std::chrono::milliseconds>(2 * accept_backoff_, accept_backoff_max);
            log_info(
                "accept: " + ec.message() + "; not accepting for " +
                    std::to_string(accept_backoff_.count()) + " ms",
                "error"
            );
        }
        return std::nullopt;
    }
    if (ec)
        throw boost::system::system_error(ec, "accept");
    note_progress(wait_kind::read);
    accept_backoff_ = std::chrono::milliseconds(0);
    ::fcntl(sock.native_handle(), F_SETFD, FD_CLOEXEC);
    return std::make_pair(std::move(sock), peer);
}

namespace {

// `ex` itself if it is a Plain executor, its inner executor if it is a strand of one.
template <class Plain>
std::optional<Plain> plain_executor(dispatcher::executor_type const& ex)
{
    if (auto const* s = ex.target<boost::asio::strand<Plain>>())
        return s->get_inner_executor();
    if (auto const* e = ex.target<Plain>())
        return *e;
    return std::nullopt;
}

} // namespace

dispatcher::executor_type dispatcher::accepted_socket_executor() const
{
    // A strand of executor_ itself would run every channel through the dispatcher's own strand
    // when executor_ is one (the usual case): all channels serialised, and two locks a handler.
    // So look through a strand to the execution context's own executor.
    if (auto io = plain_executor<boost::asio::io_context::executor_type>(executor_))
        return strand_per_socket ? executor_type(boost::asio::make_strand(*io))
                                 : executor_type(*io);
    if (auto pool = plain_executor<boost::asio::thread_pool::executor_type>(executor_))
        return boost::asio::make_strand(*pool);
    return boost::asio::make_strand(executor_);
}

std::size_t dispatcher::send(std::string_view data)
{
    // The socket is not connected yet: Linux answers ENOTCONN (a disconnect, which would call
    // handle_close()) before the connect starts, and EAGAIN while it is in progress. asyncore
    // only ever sees the second, as its connect() starts at once: would block.
    if (connecting())
        return 0;
    boost::system::error_code ec;
    std::size_t const n = write_some(data.data(), data.size(), ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
        return 0;
    if (ec && detail::is_disconnect(ec))
    {
        handle_close();
        return 0;
    }
    if (ec)
        throw boost::system::system_error(ec, "send");
    // Progress is bytes moved: a disconnect or an error stays as it is, and a handler that
    // meets it again and again must not be called again at once (see arm()).
    if (n != 0)
        note_progress(wait_kind::write);
    return n;
}

std::string dispatcher::recv(std::size_t buffer_size)
{
    std::string data(buffer_size, '\0');
    boost::system::error_code ec;
    std::size_t const n = buffer_size == 0 ? 0 : read_some(data.data(), buffer_size, ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
        return {};
    if (ec == boost::asio::error::eof || (ec && detail::is_disconnect(ec)))
    {
        handle_close();
        return {};
    }
    if (ec)
        throw boost::system::system_error(ec, "recv");
    // Progress is bytes moved: EOF stays readable forever, and a handle_close() that does
    // not close would otherwise be called again at once, forever (see arm()).
    if (n != 0)
        note_progress(wait_kind::read);
    data.resize(n);
    return data;
}

dispatcher::endpoint_type dispatcher::local_endpoint() const
{
    return accepting() ? acceptor_.local_endpoint() : socket_.local_endpoint();
}

void dispatcher::close()
{
    // Not yet owned by a shared_ptr (close() in a constructor, as Python code does in
    // __init__): no handler can be running, so close now.
    if (weak_from_this().expired())
        do_close();
    else
        on_executor([this] { do_close(); });
}

void dispatcher::do_close() noexcept
{
    if (state_ == state::closed)
        return;
    state_ = state::closed;
    idle_timer_.cancel();
    detail::channel_map::of(context_of(executor_)).remove(this);
    close_handle();
}

std::string dispatcher::describe() const
{
    // CPython's repr: the subclass, 'listening' or 'connected', the address.
    std::ostringstream address;
    if (addr_)
        address << *addr_;
    return detail::channel_repr(
        *this,
        accepting()   ? "listening"
        : connected() ? "connected"
                      : "",
        address.str()
    );
}

//----------------------------------------------------------------------------
// Default hooks.

void dispatcher::handle_accept()
{
    if (auto pair = accept())
        handle_accepted(std::move(pair->first), pair->second);
}

void dispatcher::handle_accepted(socket_type sock, endpoint_type)
{
    boost::system::error_code ignored;
    sock.close(ignored);
    log_info("unhandled accepted event", "warning");
}

void dispatcher::handle_close()
{
    log_info("unhandled close event", "warning");
    close();
}

void dispatcher::handle_error(std::exception_ptr error)
{
    log_info(detail::uncaptured_message(describe(), error), "error");
    handle_close();
}

//----------------------------------------------------------------------------
// The event machinery. Invariant: waiting_[k] iff a wait of kind k is pending, posted or
// deferred; after every event rearm() asks readable()/writable() again and arms what they allow.

template <class F>
void dispatcher::invoke_hook(F&& f) noexcept
{
    if (auto error = detail::call_hook<detail::no_hook_scope>(*this, std::forward<F>(f)))
        report_error(error);
}

bool dispatcher::ask(bool (dispatcher::*predicate)()) noexcept
{
    bool answer = false;
    invoke_hook([&] { answer = (this->*predicate)(); });
    return answer;
}

void dispatcher::report_error(std::exception_ptr const& error) noexcept
{
    if (!detail::report_error<detail::no_hook_scope>(
            *this, [&] { handle_error(error); }, [this] { return describe(); }
        ))
        do_close();
}

void dispatcher::map_refresh()
{
    on_executor([this] { rearm(); });
}

void dispatcher::rearm() noexcept
{
    if (!started_ || state_ == state::closed || state_ == state::connecting)
        return;
    bool const r = ask(&dispatcher::readable);
    bool const w = state_ != state::closed && ask(&dispatcher::writable);
    if (state_ == state::accepting)
    {
        if (r)
            arm(wait_kind::read);
        return;
    }
    if (state_ != state::connected)
        return;
    if (r)
        arm(wait_kind::read);
    if (w)
        arm(wait_kind::write);
    if ((r || w) && !hung_up_)
        arm(wait_kind::error);
}

void dispatcher::arm(wait_kind kind) noexcept
{
    if (waiting_[kind] || state_ == state::closed)
        return;
    // accept() met exhausted descriptors (or memory): the connection is still pending, so the
    // listener is ready at once and would fail again. Let it accept again after the back-off.
    if (kind == wait_kind::read && std::exchange(accept_paused_, false))
        return arm_after(kind, accept_backoff_);
    // Asio's reactor is edge-triggered: a wait armed while the handle is already ready (data a
    // handler left unread, a second pending connection) would not complete. Check first and
    // complete at once if ready: that is select()'s level-triggered behaviour.
    if (!ready_now(kind))
        return arm_wait(kind);
    // The last event of this kind moved bytes (or took a connection): go on at once.
    if (progress_[kind])
        return arm_now(kind);
    // The last event moved nothing (a default handle_write(), an EOF whose handle_close() did
    // not close, a failing accept()): calling it again at once would spin. Under loop(),
    // asyncore's pace, once per pass; otherwise after idle_retry.
    auto& map = detail::channel_map::of(context_of(executor_));
    if (map.looping())
        return arm_next_pass(kind, map);
    arm_after(kind, idle_retry);
}

void dispatcher::arm_wait(wait_kind kind) noexcept
{
    BOOST_ASSERT(!waiting_[kind]);
    waiting_[kind] = true;
    try
    {
        async_wait_on(
            kind,
            [self = shared_from_this(), kind](boost::system::error_code ec)
            { self->on_ready(kind, ec); }
        );
    }
    catch (...)
    {
        waiting_[kind] = false;
        report_error(std::current_exception());
    }
}

void dispatcher::arm_now(wait_kind kind) noexcept
{
    BOOST_ASSERT(!waiting_[kind]);
    waiting_[kind] = true;
    boost::asio::post(executor_, [self = shared_from_this(), kind] { self->on_ready(kind, {}); });
}

void dispatcher::arm_next_pass(wait_kind kind, detail::channel_map& map) noexcept
{
    // Once per pass: the next pass's refresh arms it again. loop() does not count it as an
    // event, so the pass still waits (idle_retry at most).
    if (ready_pass_[kind] == map.pass())
        return;
    ready_pass_[kind] = map.pass();
    map.note_idle_event();
    arm_now(kind);
}

void dispatcher::arm_after(wait_kind kind, std::chrono::milliseconds delay) noexcept
{
    BOOST_ASSERT(!waiting_[kind]);
    waiting_[kind] = true;
    // One timer for every kind: a kind deferred while it is pending comes with the others, at
    // the time already set. (A listener has one kind only, so its back-off is always its own.)
    deferred_[kind] = true;
    if (idle_timer_pending_)
        return;
    idle_timer_pending_ = true;
    idle_timer_.expires_after(delay);
    idle_timer_.async_wait(
        [self = shared_from_this()](boost::system::error_code)
        {
            self->idle_timer_pending_ = false;
            auto const kinds = std::exchange(self->deferred_, per_kind<bool>{});
            for (wait_kind kind : wait_kinds)
                if (kinds[kind])
                    self->on_ready(kind, {});
        }
    );
}

void dispatcher::on_ready(wait_kind kind, boost::system::error_code const& ec) noexcept
{
    BOOST_ASSERT(waiting_[kind]);
    waiting_[kind] = false;
    if (state_ == state::closed || ec == boost::asio::error::operation_aborted)
        return;
    // recv(), send() and accept() note progress when the handler does I/O.
    progress_[kind] = false;
    if (ec)
    {
        report_error(std::make_exception_ptr(boost::system::system_error(ec, "wait")));
        return;
    }
    switch (kind)
    {
    case wait_kind::read:
        // The predicate may have turned false since the wait was armed; asyncore would not
        // have selected the socket then.
        if (ask(&dispatcher::readable) && state_ != state::closed)
            invoke_hook(
                [this]
                {
                    if (accepting())
                        handle_accept();
                    else
                        handle_read();
                }
            );
        break;
    case wait_kind::write:
        if (!accepting() && ask(&dispatcher::writable) && state_ != state::closed)
            invoke_hook([this] { handle_write(); });
        break;
    case wait_kind::error:
        // asyncore's handle_expt_event: a socket error closes, urgent data calls handle_expt.
        if (pending_error() != 0)
            invoke_hook([this] { handle_close(); });
        else if (ready_now(wait_kind::error))
            invoke_hook([this] { handle_expt(); });
        else
            hung_up_ = true; // a hang-up wakes error waits, and would forever: reads see the EOF
        break;
    }
    rearm();
}

//----------------------------------------------------------------------------
// The socket as the source of events.

bool dispatcher::ready_now(wait_kind kind) noexcept
{
    // The poll(2) events that make a wait of `kind` complete at once.
    short const events = kind == wait_kind::read    ? POLLIN | POLLHUP | POLLERR
                         : kind == wait_kind::write ? POLLOUT | POLLHUP | POLLERR
                                                    : POLLPRI | POLLERR;
    pollfd p{native_handle(), static_cast<short>(events & (POLLIN | POLLOUT | POLLPRI)), 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & events) != 0;
}

void dispatcher::async_wait_on(wait_kind kind, std::function<void(boost::system::error_code)> h)
{
    using socket_base = boost::asio::socket_base;
    socket_base::wait_type const type = kind == wait_kind::read    ? socket_base::wait_read
                                        : kind == wait_kind::write ? socket_base::wait_write
                                                                   : socket_base::wait_error;
    if (accepting())
        acceptor_.async_wait(type, std::move(h));
    else
        socket_.async_wait(type, std::move(h));
}

std::size_t dispatcher::read_some(char* data, std::size_t size, boost::system::error_code& ec)
{
    return socket_.read_some(boost::asio::buffer(data, size), ec);
}

std::size_t
dispatcher::write_some(char const* data, std::size_t size, boost::system::error_code& ec)
{
    return socket_.write_some(boost::asio::buffer(data, size), ec);
}

void dispatcher::close_handle() noexcept
{
    boost::system::error_code ignored;
    socket_.close(ignored);
    acceptor_.close(ignored);
}

int dispatcher::native_handle() noexcept
{
    return accepting() ? acceptor_.native_handle() : socket_.native_handle();
}

int dispatcher::pending_error() noexcept
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return 0;
    return err;
}

} // namespace asynchat
