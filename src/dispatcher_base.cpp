// asynchat: dispatcher_base, the event engine
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/dispatcher_base.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/assert.hpp>
#include <boost/system/system_error.hpp>

#include <poll.h>
#include <string>

namespace asynchat {

namespace {

boost::asio::execution_context& context_of(dispatcher_base::executor_type const& ex)
{
    return boost::asio::query(ex, boost::asio::execution::context);
}

} // namespace

dispatcher_base::dispatcher_base(executor_type const& ex) : executor_(ex), idle_timer_(ex) {}

dispatcher_base::~dispatcher_base() = default;

void dispatcher_base::mark_connected() noexcept
{
    BOOST_ASSERT(state_ == state::unconnected);
    state_ = state::connected;
}

//----------------------------------------------------------------------------
// The asyncore API every handle shares.

template <class F>
void dispatcher_base::on_executor(F&& f)
{
    boost::asio::dispatch(
        executor_,
        [self = shared_from_this(), f = std::forward<F>(f)]() mutable { self->invoke_hook(f); }
    );
}

void dispatcher_base::start()
{
    // Enter the map at once, as asyncore's set_socket() does, so that loop() and
    // channel_count() see the dispatcher before its first event. The map is thread-safe.
    auto& map = detail::channel_map::of(context_of(executor_));
    map.add(map_slot_, weak_from_this());
    on_executor(
        [this, &map]
        {
            if (state_ == state::closed)
                map.remove(map_slot_, weak_from_this()); // closed before it started
            if (started_ || state_ == state::closed)
                return;
            started_ = true;
            begin_deferred();
            rearm();
        }
    );
}

std::size_t dispatcher_base::send(std::string_view data)
{
    // The socket is not connected yet: Linux answers ENOTCONN (a disconnect, which would call
    // handle_close()) before the connect starts, and EAGAIN while it is in progress. asyncore
    // only ever sees the second, as its connect() starts at once: would block.
    if (state_ == state::connecting)
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

std::string dispatcher_base::recv(std::size_t buffer_size)
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

void dispatcher_base::close()
{
    // Not yet owned by a shared_ptr (close() in a constructor, as Python code does in
    // __init__): no handler can be running, so close now.
    if (weak_from_this().expired())
        do_close();
    else
        on_executor([this] { do_close(); });
}

void dispatcher_base::do_close() noexcept
{
    if (state_ == state::closed)
        return;
    state_ = state::closed;
    idle_timer_.cancel();
    detail::channel_map::of(context_of(executor_)).remove(map_slot_, weak_from_this());
    close_handle();
}

std::string dispatcher_base::describe() const
{
    // CPython's repr: the subclass, 'listening' or 'connected', the address.
    return detail::channel_repr(
        *this,
        state_ == state::accepting   ? "listening"
        : state_ == state::connected ? "connected"
                                     : "",
        repr_address()
    );
}

//----------------------------------------------------------------------------
// Default hooks.

void dispatcher_base::handle_close()
{
    log_info("unhandled close event", "warning");
    close();
}

void dispatcher_base::handle_error(std::exception_ptr error)
{
    log_info(detail::uncaptured_message(describe(), error), "error");
    handle_close();
}

//----------------------------------------------------------------------------
// The event machinery. Invariant: waiting_[k] iff a wait of kind k is pending, posted or
// deferred; after every event rearm() asks readable()/writable() again and arms what they allow.

bool dispatcher_base::ask(bool (dispatcher_base::*predicate)()) noexcept
{
    bool answer = false;
    invoke_hook([&] { answer = (this->*predicate)(); });
    return answer;
}

void dispatcher_base::report_error(std::exception_ptr const& error) noexcept
{
    if (!detail::report_error<detail::no_hook_scope>(
            *this, [&] { handle_error(error); }, [this] { return describe(); }
        ))
        do_close();
}

void dispatcher_base::map_refresh()
{
    on_executor([this] { rearm(); });
}

void dispatcher_base::rearm() noexcept
{
    if (!started_ || state_ == state::closed || state_ == state::connecting)
        return;
    bool const r = ask(&dispatcher_base::readable);
    bool const w = state_ != state::closed && ask(&dispatcher_base::writable);
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

void dispatcher_base::arm(wait_kind kind) noexcept
{
    if (waiting_[kind] || state_ == state::closed)
        return;
    // A read pause (a listener's accept() met exhausted descriptors or memory: the connection
    // is still pending, so the listener is ready at once and would fail again): let reads
    // come again after it.
    if (kind == wait_kind::read && read_pause_.count() != 0)
        return arm_after(kind, std::exchange(read_pause_, std::chrono::milliseconds(0)));
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

void dispatcher_base::arm_wait(wait_kind kind) noexcept
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

void dispatcher_base::arm_now(wait_kind kind) noexcept
{
    BOOST_ASSERT(!waiting_[kind]);
    waiting_[kind] = true;
    boost::asio::post(executor_, [self = shared_from_this(), kind] { self->on_ready(kind, {}); });
}

void dispatcher_base::arm_next_pass(wait_kind kind, detail::channel_map& map) noexcept
{
    // Once per pass: the next pass's refresh arms it again. loop() does not count it as an
    // event, so the pass still waits (idle_retry at most).
    if (ready_pass_[kind] == map.pass())
        return;
    ready_pass_[kind] = map.pass();
    map.note_idle_event();
    arm_now(kind);
}

void dispatcher_base::arm_after(wait_kind kind, std::chrono::milliseconds delay) noexcept
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

void dispatcher_base::on_ready(wait_kind kind, boost::system::error_code const& ec) noexcept
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
        // have selected the handle then.
        if (ask(&dispatcher_base::readable) && state_ != state::closed)
            invoke_hook([this] { route_read_event(); });
        break;
    case wait_kind::write:
        if (state_ != state::accepting && ask(&dispatcher_base::writable) &&
            state_ != state::closed)
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
// The handle as the source of events.

bool dispatcher_base::ready_now(wait_kind kind) noexcept
{
    // The poll(2) events that make a wait of `kind` complete at once.
    short const events = kind == wait_kind::read    ? POLLIN | POLLHUP | POLLERR
                         : kind == wait_kind::write ? POLLOUT | POLLHUP | POLLERR
                                                    : POLLPRI | POLLERR;
    pollfd p{native_handle(), static_cast<short>(events & (POLLIN | POLLOUT | POLLPRI)), 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & events) != 0;
}

} // namespace asynchat
