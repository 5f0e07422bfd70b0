// asynchat: basic_async_chat template definitions
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_IMPL_ASYNC_CHAT_HPP
#define ASYNCHAT_IMPL_ASYNC_CHAT_HPP

#include <asynchat/error.hpp>
#include <asynchat/file_producer.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/config.hpp>
#include <boost/range/iterator_range.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <utility>

namespace asynchat {

// The hooks as the input scanner sees them. Delivery stops once the channel is closed (CPython
// would go on feeding a closed channel the rest of what it had read), and once start_tls()
// holds the reads (what follows the command is not delivered in plaintext).
template <class Stream, class Timer>
struct basic_async_chat<Stream, Timer>::scan_handler
{
    basic_async_chat& chat;

    void collect(std::string_view data) { chat.collect_incoming_data(data); }
    void found_terminator()
    {
        ++messages;
        chat.found_terminator();
    }
    std::size_t messages = 0;
    bool proceed() const noexcept { return chat.core_.delivering(); }
    void message_too_long() noexcept {}
};

// While it lives, this thread runs user code of `chat` (a hook or a producer): calls the user
// code makes on the channel change its state but start no I/O and call no other hook (see
// channel_core::user_code()); the event that ran the user code carries
// out what they asked for once it returns. So the I/O state machine is never re-entered.
template <class Stream, class Timer>
struct basic_async_chat<Stream, Timer>::hook_scope
{
    explicit hook_scope(basic_async_chat& c) noexcept
        : chat(c), outer(std::exchange(detail::hook_channel, &c))
    {
        chat.core_.enter_user_code();
    }
    hook_scope(hook_scope const&) = delete;
    hook_scope& operator=(hook_scope const&) = delete;
    ~hook_scope()
    {
        chat.core_.leave_user_code();
        detail::hook_channel = outer;
        if (!outer && !detail::reclaimed_message.empty())
            std::string().swap(detail::reclaimed_message); // no view of it is left
    }

    basic_async_chat& chat;
    void const* outer;
};

namespace detail {

/** Close a socket the way Apache and nginx do: shut down the sending side, read and discard
    until the peer's EOF (at most `bytes`, for at most `time`), then close. Owns the socket
    meanwhile; its handlers run on a strand of the socket's executor.
*/
template <class Socket>
class lingering_close : public std::enable_shared_from_this<lingering_close<Socket>>
{
public:
    lingering_close(Socket s, std::size_t bytes)
        : socket_(std::move(s)), strand_(boost::asio::make_strand(socket_.get_executor())),
          timer_(strand_), budget_(bytes)
    {
    }

    void start(std::chrono::steady_clock::duration time)
    {
        timer_.expires_after(time);
        timer_.async_wait(boost::asio::bind_executor(
            strand_,
            [self = this->shared_from_this()](boost::system::error_code const& ec)
            {
                if (!ec)
                    self->finish();
            }
        ));
        read();
    }

private:
    void read()
    {
        socket_.async_read_some(
            boost::asio::buffer(buffer_),
            boost::asio::bind_executor(
                strand_,
                [self =
                     this->shared_from_this()](boost::system::error_code const& ec, std::size_t n)
                {
                    if (ec || n >= self->budget_)
                        return self->finish();
                    self->budget_ -= n;
                    self->read();
                }
            )
        );
    }

    void finish()
    {
        boost::system::error_code ignored;
        timer_.cancel();
        socket_.close(ignored);
    }

    Socket socket_;
    boost::asio::strand<typename Socket::executor_type> strand_;
    boost::asio::steady_timer timer_;
    std::size_t budget_;
    char buffer_[4096];
};

// The largest write: more than 64 pieces would take asio's writev several calls anyway.
inline constexpr std::size_t max_write_pieces = 64;
inline constexpr std::size_t max_write_bytes = 1024 * 1024;
// The most plaintext one TLS record carries, so the most one read of a TLS stream returns.
inline constexpr std::size_t max_tls_record = 16 * 1024;

// The most bytes one step of a file send hands to sendfile(2) before letting other handlers run.
inline constexpr std::size_t max_sendfile_step = 4 * 1024 * 1024;

// The callables push_callback() can tell are empty: function pointers and std::function.
template <class F>
struct is_nullable_callable : std::is_pointer<F>
{
};
template <class R, class... Args>
struct is_nullable_callable<std::function<R(Args...)>> : std::true_type
{
};

} // namespace detail

template <class Stream, class Timer>
basic_async_chat<Stream, Timer>::basic_async_chat(Stream connected_stream)
    : stream_(std::move(connected_stream)), core_(detail::stream_is_open(stream_)),
      last_io_(clock::now().time_since_epoch().count())
{
}

template <class Stream, class Timer>
basic_async_chat<Stream, Timer>::basic_async_chat(executor_type const& ex)
    : stream_(ex), core_(false), last_io_(clock::now().time_since_epoch().count())
{
}

//----------------------------------------------------------------------------
// Public entry points. Those safe from any thread hop to the executor first.

template <class Stream, class Timer>
basic_async_chat<Stream, Timer>::~basic_async_chat()
{
#ifndef NDEBUG
    if (core_.get_state() == core_type::state::connected)
    {
        // The subclass is gone by now (a base destructor sees only the base): name the object
        // and its peer.
        std::ostringstream line;
        line << "asynchat: warning: the async_chat at " << static_cast<void const*>(this);
        if (std::string const peer = peer_name(); !peer.empty())
            line << " (peer " << peer << ')';
        line << " on a connected stream was destroyed without "
             << "start(): " << core_.output.bytes() << " queued bytes were never sent and the peer "
             << "sees a reset; call start() once the channel is owned by a std::shared_ptr\n";
        std::string const text = line.str();
        std::fwrite(text.data(), 1, text.size(), stderr);
    }
#endif
}

template <class Stream, class Timer>
template <class F>
void basic_async_chat<Stream, Timer>::on_executor(F&& f)
{
    // Not yet owned by a shared_ptr: called from the constructor (or before make_shared
    // returned), so nothing else can touch the channel. The call takes effect now; the I/O it
    // asks for waits for start() or connect().
    if (this->weak_from_this().expired())
        return f();
    // dispatch runs `f` inline when called from the executor (from a hook, say), so pushes made
    // while handling input are queued at once and gathered into one write.
    boost::asio::dispatch(
        stream_.get_executor(),
        [self = this->shared_from_this(), f = std::forward<F>(f)]() mutable
        {
            try
            {
                f();
            }
            catch (...)
            {
                self->report_error(std::current_exception());
            }
        }
    );
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::start()
{
    enter_map();
    on_executor(
        [this]
        {
            if (!core_.start())
                return leave_map(); // closed before it started
            core_.restart_clocks(clock::now());
            arm_timer();
            if constexpr (is_tls)
                return begin_handshake(Stream::server, handshake_for::start);
            check_watermarks(); // for what the constructor pushed
            after_event();
        }
    );
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::connect(endpoint_type const& ep)
{
    static_assert(
        detail::has_socket_v<Stream>,
        "asynchat::async_chat::connect: the stream has no socket (a pipe, a pty, a serial port)"
    );
    enter_map();
    on_executor(
        [this, ep]
        {
            if (core_.closed())
                leave_map(); // closed before it connected
            if (!core_.begin_connect())
                throw std::logic_error(
                    "asynchat::async_chat::connect: the channel is already connected, connecting "
                    "or closed"
                );
            auto& socket = detail::socket_of<Stream>::get(stream_);
            boost::system::error_code ec;
            if (!socket.is_open())
                socket.open(ep.protocol(), ec);
            if (ec)
            {
                on_connect(ec);
                return;
            }
            socket.async_connect(
                ep,
                [self = this->shared_from_this()](boost::system::error_code const& ec)
                { self->on_connect(ec); }
            );
        }
    );
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::push(std::string_view data)
{
    // From the channel's own hooks (the common case: answering a message) the bytes go
    // straight into the queue, usually appended to the last entry: no copy in between, and
    // nothing more to do, as the event running the hook writes once it returns (do_push()).
    // The slow paths are calls of their own, so that this one needs no stack frame.
    if (!in_own_hook())
        return push_posted(data);
    if (data.empty())
        return; // dropped, as CPython drops it at the head of the queue
    if (!core_.closed() && !core_.output_shut())
        if (char* const room = core_.output.append_room(data.size()))
            return (void)std::memcpy(room, data.data(), data.size());
    push_queued(data);
}

template <class Stream, class Timer>
BOOST_NOINLINE void basic_async_chat<Stream, Timer>::push_posted(std::string_view data)
{
    on_executor([this, data = std::string(data)]() mutable { do_push(std::move(data)); });
}

template <class Stream, class Timer>
BOOST_NOINLINE void basic_async_chat<Stream, Timer>::push_queued(std::string_view data)
{
    // The whole message _get_data_view() took from the collector's own buffer (one gathered
    // across reads), and long: the buffer itself moves into the queue instead of being copied,
    // and the view the hook holds stays valid there (the queue never appends to an adopted
    // entry, and writes nothing before the hook returns).
    if (data.size() >= detail::output_queue::adopt_threshold && data.data() == incoming_.data() &&
        data.size() == incoming_.size() && incoming_view_.data() == incoming_.data() &&
        !core_.closed() && !core_.output_shut())
    {
        core_.output.adopt(incoming_);
        incoming_view_ = {};
        return;
    }
    do_push(data);
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::push_with_producer(std::string data)
{
    if (in_own_hook())
        return do_push(std::move(data));
    on_executor([this, data = std::move(data)]() mutable { do_push(std::move(data)); });
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::push_with_producer(std::unique_ptr<producer> p)
{
    if (!p)
        throw std::invalid_argument("asynchat::async_chat::push_with_producer: null producer");
    if (in_own_hook())
        return do_push(std::move(p));
    on_executor([this, p = std::move(p)]() mutable { do_push(std::move(p)); });
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::close_when_done()
{
    on_executor([this] { do_close_when_done(); });
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::do_close_when_done()
{
    if (core_.closed())
        return;
    core_.output.push_close();
    do_write();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::shutdown_when_done()
{
    static_assert(
        detail::has_socket_v<Stream> && !is_tls,
        "asynchat::async_chat::shutdown_when_done: needs a stream on a socket, not TLS (use "
        "close_when_done())"
    );
    on_executor(
        [this]
        {
            if (core_.closed())
                return;
            core_.shutdown_when_done();
            do_write();
        }
    );
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::shutdown_send() noexcept
{
    if constexpr (detail::has_socket_v<Stream> && !is_tls)
    {
        if (tls_active())
            return report_error(std::make_exception_ptr(std::logic_error(
                "asynchat::async_chat::shutdown_when_done: the stream was upgraded to TLS, which "
                "has no half-close here (use close_when_done())"
            )));
        boost::system::error_code ec;
        detail::socket_of<Stream>::get(stream_).shutdown(socket_type::shutdown_send, ec);
        if (ec && !detail::is_disconnect(ec) && ec != boost::asio::error::not_connected)
            report_error(std::make_exception_ptr(boost::system::system_error(ec, "shutdown")));
    }
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::note_failure(boost::system::error_code const& ec) noexcept
{
    if (extras_ && extras_->waited && !extras_->error)
        extras_->error = ec;
}

template <class Stream, class Timer>
auto basic_async_chat<Stream, Timer>::extra() -> extras&
{
    if (!extras_)
        extras_ = std::make_unique<extras>();
    return *extras_;
}

template <class Stream, class Timer>
auto basic_async_chat<Stream, Timer>::waiting() -> extras&
{
    extras& e = extra();
    e.waited = true;
    return e;
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::begin_async_connect(
    endpoint_type const& ep, std::unique_ptr<detail::pending_completion> op
)
{
    if (core_.closed())
    {
        leave_map();
        return op->complete(boost::asio::error::operation_aborted);
    }
    if (!core_.begin_connect())
        return op->complete(boost::asio::error::already_connected);
    waiting().connect = std::move(op);
    auto& socket = detail::socket_of<Stream>::get(stream_);
    boost::system::error_code ec;
    if (!socket.is_open())
        socket.open(ep.protocol(), ec);
    if (ec)
        return on_connect(ec);
    socket.async_connect(
        ep,
        [self = this->shared_from_this()](boost::system::error_code const& e)
        { self->on_connect(e); }
    );
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::begin_async_close(
    std::unique_ptr<detail::pending_completion> op
)
{
    if (core_.closed())
        return op->complete({});
    waiting().close.push_back(std::move(op));
    do_close_when_done();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::close()
{
    on_executor([this] { do_close(); });
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::resume_reading()
{
    on_executor([this] { after_event(); });
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::discard_buffers()
{
    core_.input.discard();
    incoming_.clear();
    incoming_view_ = {};
    core_.output.discard();
    check_watermarks();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::set_write_watermarks(std::size_t low, std::size_t high)
{
    if (low > high)
        throw std::invalid_argument(
            "asynchat::async_chat::set_write_watermarks: low must not exceed high"
        );
    core_.set_watermarks(low, high);
    check_watermarks();
    do_write(); // the hook may have pushed
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::check_watermarks() noexcept
{
    switch (core_.watermark())
    {
    case core_type::crossing::none:
        return;
    case core_type::crossing::high:
        return invoke_hook([this] { handle_write_high_water(); });
    case core_type::crossing::low:
        return invoke_hook([this] { handle_write_low_water(); });
    }
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::set_idle_timeout(typename clock::duration d)
{
    core_.set_idle_timeout(d, clock::now());
    arm_timer();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::set_read_timeout(typename clock::duration d)
{
    core_.set_read_timeout(d, clock::now());
    arm_timer();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::arm_timer() noexcept
{
    if (!core_.timing())
        return;
    // One timer for both timeouts, armed for the nearer deadline. I/O does not touch it: when
    // it fires, on_timer() asks the core whether a timeout expired, and re-arms for the new
    // deadline otherwise. Arming cancels the wait armed before: its handler sees aborted.
    auto& timer = extra().timer;
    if (!timer)
        timer = std::make_unique<Timer>(stream_.get_executor());
    timer->expires_at(core_.deadline());
    timer->async_wait([self = this->shared_from_this()](boost::system::error_code const& ec)
                      { self->on_timer(ec); });
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_timer(boost::system::error_code const& ec) noexcept
{
    // Open, or in a TLS handshake (which the timeouts cover too).
    if (ec == boost::asio::error::operation_aborted || !core_.timing())
        return;
    auto const now = clock::now();
    if (core_.timed_out(now))
    {
        invoke_hook([this] { handle_timeout(); });
        core_.restart_clocks(now); // still open: the clocks restart
        after_event();
    }
    arm_timer();
}

template <class Stream, class Timer>
std::string basic_async_chat<Stream, Timer>::_get_data()
{
    std::string data;
    if (incoming_view_.empty())
        data.swap(incoming_);
    else if (incoming_view_.data() == incoming_.data())
        incoming_.clear(); // taken by _get_data_view()
    else
        data.assign(incoming_view_);
    incoming_view_ = {};
    return data;
}

template <class Stream, class Timer>
BOOST_NOINLINE void basic_async_chat<Stream, Timer>::collect_more(std::string_view data)
{
    if (!incoming_view_.empty() && incoming_view_.data() == incoming_.data())
    {
        // Taken by _get_data_view(): a new message begins. `data` may be that view itself, or
        // a part of it (a handler keeping the message to join it with the next one): assign()
        // copies overlapping bytes right, where clear() would overwrite the first with a NUL.
        incoming_view_ = {};
        if (core_.input.holds(data))
        {
            incoming_.clear();
            incoming_view_ = data;
        }
        else
        {
            incoming_.assign(data);
        }
        return;
    }
    else if (!incoming_view_.empty())
    {
        if (incoming_view_.data() + incoming_view_.size() == data.data() && core_.input.holds(data))
        {
            // The next bytes of the same read: the view grows.
            incoming_view_ = {incoming_view_.data(), incoming_view_.size() + data.size()};
            return;
        }
        incoming_.assign(std::exchange(incoming_view_, {}));
    }
    incoming_.append(data);
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::keep_incoming()
{
    if (core_.closed())
    {
        std::string().swap(incoming_);
        incoming_view_ = {};
    }
    else if (!incoming_view_.empty() && incoming_view_.data() != incoming_.data())
    {
        // Dropped first: if the copy fails, no view into a reused buffer stays behind. Room for
        // as much again: the rest of a long message, coming in the next read, is appended
        // without moving what is here (push() may have taken the last one's storage).
        std::string_view const partial = std::exchange(incoming_view_, {});
        incoming_.reserve(2 * partial.size());
        incoming_.assign(partial);
    }
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::handle_error(std::exception_ptr error)
{
    this->log_info(detail::uncaptured_message(describe(), error), "error");
    handle_close();
}

//----------------------------------------------------------------------------
// Hooks and errors.

template <class Stream, class Timer>
template <class F>
void basic_async_chat<Stream, Timer>::invoke_hook(F&& f) noexcept
{
    if (auto error = detail::call_hook<hook_scope>(*this, std::forward<F>(f)))
        report_error(error);
}

template <class Stream, class Timer>
bool basic_async_chat<Stream, Timer>::ask(bool (basic_async_chat::*predicate)()) noexcept
{
    bool answer = false;
    invoke_hook([&] { answer = (this->*predicate)(); });
    return answer;
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::report_error(std::exception_ptr const& error) noexcept
{
    if (extras_ && extras_->waited && !extras_->error)
    {
        // For async_close(): the error that closes the channel, if it is a system_error.
        try
        {
            std::rethrow_exception(error);
        }
        catch (boost::system::system_error const& e)
        {
            note_failure(e.code());
        }
        catch (...)
        {
        }
    }
    if (!detail::report_error<hook_scope>(
            *this, [&] { handle_error(error); }, [this] { return describe(); }
        ))
        do_close();
}

template <class Stream, class Timer>
std::string basic_async_chat<Stream, Timer>::describe() const
{
    // CPython's repr: the subclass, 'connected', the peer's address.
    return detail::channel_repr(*this, connected() ? "connected" : "", peer_name());
}

template <class Stream, class Timer>
std::string basic_async_chat<Stream, Timer>::peer_name() const
{
    if constexpr (detail::has_socket_v<Stream>)
    {
        boost::system::error_code ec;
        auto const ep =
            detail::socket_of<Stream>::get(const_cast<Stream&>(stream_)).remote_endpoint(ec);
        if (ec)
            return {};
        std::ostringstream peer;
        peer << ep;
        return peer.str();
    }
    else
        return {};
}

//----------------------------------------------------------------------------
// Carrying out the core's decisions. Every completion handler holds the channel; user code runs
// only inside a hook_scope; after each event after_event() starts what the core and readable()/
// writable() allow.

template <class Stream, class Timer>
template <class Data>
void basic_async_chat<Stream, Timer>::do_push(Data&& data)
{
    if (core_.closed() || core_.output_shut())
        return;
    core_.output.push(std::forward<Data>(data));
    // From user code (a push per message, the common case), nothing more: the event running it
    // checks the watermarks and writes once it returns (after_event()).
    if (core_.user_code() != 0)
        return;
    check_watermarks();
    do_write();
}

template <class Stream, class Timer>
detail::channel_map& basic_async_chat<Stream, Timer>::channel_map() const
{
    return detail::channel_map::of(
        boost::asio::query(get_executor(), boost::asio::execution::context)
    );
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::enter_map()
{
    // At once, not on the executor, so that channel_count() sees the channel as soon as
    // start() returns (asyncore registers in the constructor). The map is thread-safe.
    channel_map().add(map_slot_, this->weak_from_this());
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::leave_map() noexcept
{
    channel_map().remove(map_slot_, this->weak_from_this());
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::do_close() noexcept
{
    auto const was = core_.close();
    if (was == core_type::state::closed)
        return;
    leave_map();
    if (extras_ && extras_->timer)
        extras_->timer->cancel();
    if (extras_)
    {
        // The handlers are posted, not run: nothing of the user's runs in the middle of this.
        if (extras_->connect)
            std::exchange(extras_->connect, nullptr)
                ->complete(boost::asio::error::operation_aborted);
        boost::system::error_code ec;
        if (!core_.output.empty())
            ec = extras_->error ? extras_->error
                                : make_error_code(boost::asio::error::operation_aborted);
        detail::complete_all(extras_->close, ec);
    }
    // Closing cancels the pending read and write; their handlers see the channel closed and
    // return.
    close_stream(was);
    // Release what the user gave the channel: a producer that holds its channel would otherwise
    // keep both alive for ever. The batch of a write in flight stays until it completes (its
    // views are the write's buffers); producers' destructors run as user code. The message
    // gathered stays while user code runs, which may hold it as a view (_get_data_view()): a
    // read's delivery releases it once its hooks return (keep_incoming()). So does a message
    // that push() took into the queue as it was (push_queued()), whatever the collector holds
    // since: it is kept aside until the user code returns.
    if (core_.user_code() == 0)
    {
        std::string().swap(incoming_);
        incoming_view_ = {};
    }
    else
    {
        core_.output.reclaim(detail::reclaimed_message);
    }
    hook_scope scope(*this);
    core_.output.discard();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::close_stream(typename core_type::state was) noexcept
{
    boost::system::error_code ignored;
    bool const connected = was == core_type::state::open || was == core_type::state::connected;
    if constexpr (detail::has_socket_v<Stream>)
    {
        auto& socket = detail::socket_of<Stream>::get(stream_);
        if (tls_active())
        {
            // TLS after the handshake: a close_notify, once the read and write in flight have
            // ended (finish_tls_close()); they end now.
            if (was == core_type::state::open && lingering_time > lingering_time.zero() &&
                socket.is_open())
            {
                socket.cancel(ignored);
                core_.defer_teardown();
                return finish_tls_close();
            }
        }
        // A peer that has not sent EOF may have sent what we never read: lingering close.
        else if (connected && !core_.eof_seen() && lingering_time > lingering_time.zero() &&
                 lingering_bytes != 0 && socket.is_open())
        {
            socket.cancel(ignored);
            socket.shutdown(socket_type::shutdown_send, ignored);
            if (!ignored)
            {
                try
                {
                    auto closer = std::make_shared<detail::lingering_close<socket_type>>(
                        std::move(socket), lingering_bytes
                    );
                    closer->start(lingering_time);
                    return;
                }
                catch (...)
                {
                    // No memory for it: close at once.
                }
            }
        }
    }
    static_cast<void>(connected);
    detail::close_stream(stream_);
}

// After the close_notify exchange (or its failure: the peer sent more data instead): the
// socket's lingering close, so that records the peer sent and the channel never read do not
// make the kernel answer with a reset, which could destroy the end of the answer at the peer.
template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::linger_after_tls() noexcept
{
    if constexpr (has_tls)
    {
        auto& socket = detail::socket_of<Stream>::get(stream_);
        boost::system::error_code ec;
        if (socket.is_open() && lingering_bytes != 0)
            socket.shutdown(socket_type::shutdown_send, ec);
        if (socket.is_open() && lingering_bytes != 0 && !ec)
        {
            try
            {
                std::make_shared<detail::lingering_close<socket_type>>(
                    std::move(socket), lingering_bytes
                )
                    ->start(lingering_time);
                return;
            }
            catch (...)
            {
                // No memory for it: close at once.
            }
        }
    }
    detail::close_stream(stream_);
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::finish_tls_close() noexcept
{
    if constexpr (has_tls)
    {
        if (!core_.take_teardown())
            return;
        // Send the close_notify, and wait for the peer's for at most lingering_time; then close
        // the socket. The handlers hold the channel until then.
        try
        {
            auto const self = this->shared_from_this();
            auto timer = std::make_shared<boost::asio::steady_timer>(stream_.get_executor());
            timer->expires_after(lingering_time);
            timer->async_wait(
                [self, timer](boost::system::error_code const& ec)
                {
                    if (!ec)
                        detail::close_stream(self->stream_);
                }
            );
            tls_layer().async_shutdown(
                [self, timer](boost::system::error_code const&)
                {
                    timer->cancel();
                    self->linger_after_tls();
                }
            );
            return;
        }
        catch (...)
        {
            // No memory, or not owned by a shared_ptr: close at once.
        }
    }
    detail::close_stream(stream_);
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::after_event() noexcept
{
    if (core_.user_code() != 0)
        return;         // the event running the user code does it when the user code returns
    check_watermarks(); // for what the hooks pushed
    do_write();
    do_read();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::do_read() noexcept
{
    // While input is being delivered, on_read() starts the next read itself when it is done;
    // starting it from a hook (resume_reading()) could move the buffer under the hook's view.
    if (!core_.may_read())
        return;
    // readable() is user code: it may have closed the channel, or pushed (written here).
    bool const readable = ask(&basic_async_chat::readable);
    do_write();
    if (!readable || !core_.may_read())
        return;
    if (ac_in_buffer_size == 0)
    {
        report_error(std::make_exception_ptr(
            std::invalid_argument("asynchat::async_chat: ac_in_buffer_size must be greater than 0")
        ));
        return;
    }
    if constexpr (std::is_base_of_v<boost::asio::socket_base, Stream>)
    {
        // Sockets: when the peer keeps sending, try a read before waiting, as Asio does (see
        // channel_core::read_pacing): that saves the wait and the epoll_ctl with which Asio
        // re-arms it. The try is posted, so it comes after the handlers already queued, the
        // completion of the write just started among them, which gives the peer time to send
        // more. A request/response peer (one message a read) is never tried: that would be a
        // wasted call a request, and the queued tries delay the waits of other channels (p99
        // latency tripled in bench/ pingpong with 50 peers). Either way the buffer goes back to
        // the thread until the read: a connection keeps no 64 KiB buffer, only a partial
        // terminator if one is pending.
        boost::system::error_code ignored;
        if (!stream_.non_blocking())
            stream_.non_blocking(true, ignored);
        core_.read_started();
        core_.input.release(detail::spare_receive_buffer);
        if (core_.pacing.try_first())
        {
            boost::asio::post(
                stream_.get_executor(), [self = this->shared_from_this()] { self->on_read_try(); }
            );
            return;
        }
        // Wait for readability, then read without blocking (on_readable()). An idle
        // connection keeps this wait pending, so its operation is made small: typed on the
        // io_context's executor when it can be (detail::async_wait()), and allocated at its
        // exact size (read_wait).
        detail::async_wait(stream_, Stream::wait_read, read_wait{this->shared_from_this()});
        return;
    }
    // Other streams hold the buffer while the read waits. Over TLS a read returns one record
    // at most, 16 KiB: a larger buffer would only be idle memory.
    std::size_t size = ac_in_buffer_size;
    if (tls_active())
        size = std::min(size, detail::max_tls_record);
    char* room;
    try
    {
        room = core_.input.prepare(size, detail::spare_receive_buffer);
    }
    catch (...)
    {
        report_error(std::current_exception());
        return;
    }
    core_.read_started();
    stream_.async_read_some(
        boost::asio::buffer(room, size),
        [self = this->shared_from_this()](boost::system::error_code const& ec, std::size_t n)
        { self->on_read(ec, n); }
    );
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_readable(boost::system::error_code const& ec) noexcept
{
    core_.read_done();
    if (ec || core_.closed())
        return on_read(ec, 0);
    if (!read_now())
        do_read(); // a spurious wake-up: wait again
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_read_try() noexcept
{
    core_.read_done();
    if (!core_.open())
        return;
    bool const got = read_now();
    core_.pacing.tried(got);
    if (!got)
        do_read();
}

template <class Stream, class Timer>
bool basic_async_chat<Stream, Timer>::read_now() noexcept
{
    char* room;
    try
    {
        room = core_.input.prepare(ac_in_buffer_size, detail::spare_receive_buffer);
    }
    catch (...)
    {
        report_error(std::current_exception());
        return true;
    }
    boost::system::error_code ec;
    std::size_t const n = stream_.read_some(boost::asio::buffer(room, ac_in_buffer_size), ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
        return false;
    on_read(ec, n);
    return true;
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_read(
    boost::system::error_code const& ec, std::size_t n
) noexcept
{
    core_.read_done();
    if (core_.closed())
        return finish_tls_close();
    if (ec)
    {
        if (ec == boost::asio::error::eof)
        {
            // The peer will send no more, but may still read: handle_read_eof() decides (by
            // default, handle_close() once what is queued is written).
            core_.peer_eof();
            invoke_hook([this] { handle_read_eof(); });
            after_event();
        }
        else if (detail::is_disconnect(ec))
        {
            note_failure(ec);
            invoke_hook([this] { handle_close(); });
        }
        else
        {
            report_error(std::make_exception_ptr(boost::system::system_error(ec, "read")));
        }
        return;
    }
    core_.input.commit(n);
    core_.bytes_moved(true, count_io(bytes_received_, n));
    std::exception_ptr error;
    {
        hook_scope scope(*this);
        try
        {
            scan_handler h{*this};
            core_.input.process(h);
            core_.pacing.delivered(h.messages, n == ac_in_buffer_size);
        }
        catch (...)
        {
            error = std::current_exception();
        }
    }
    try
    {
        keep_incoming();
    }
    catch (...)
    {
        if (!error)
            error = std::current_exception();
    }
    if (error)
        report_error(error);
    if (core_.input.too_long())
    {
        // The peer exceeded max_message_size(): report it, then close whatever the handler did.
        report_error(std::make_exception_ptr(
            boost::system::system_error(make_error_code(error::message_too_long))
        ));
        do_close();
        return;
    }
    after_event();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::do_write() noexcept
{
    using step = typename core_type::write_step;
    for (;;)
    {
        std::exception_ptr error;
        switch (core_.next_write(error, sendfile_allowed()))
        {
        case step::none:
            return;
        case step::handle_close:
            // close_when_done()'s mark (CPython calls handle_close() there, not close()), or
            // the peer's EOF once everything queued is written.
            invoke_hook([this] { handle_close(); });
            continue;
        case step::report_error:
            // A producer failed here: everything before it is written.
            report_error(error);
            if (core_.reading() == core_type::read_side::held)
                do_close(); // while a STARTTLS upgrade waits: nothing more, plaintext or not
            continue;
        case step::shutdown:
            shutdown_send();
            continue;
        case step::send_file:
            // writable() is user code: it may have closed the channel, pushed, or dropped the
            // file (discard_buffers()).
            if (!ask(&basic_async_chat::writable) || core_.writing() || !core_.open())
                return;
            if (!core_.output.begin_file())
                continue;
            if (send_file({}))
                return; // the next step waits for the socket
            continue;
        case step::write:
            break;
        }
        // writable() is user code: it may have closed the channel, or pushed.
        if (!ask(&basic_async_chat::writable) || core_.writing() || !core_.open())
            return;
        if (ac_out_buffer_size == 0)
        {
            report_error(std::make_exception_ptr(
                std::invalid_argument("asynchat::async_chat: ac_out_buffer_size must be greater "
                                      "than 0")
            ));
            return;
        }
        if (core_.output.prepare(
                ac_out_buffer_size, detail::max_write_bytes, detail::max_write_pieces
            ))
        {
            pull();
            check_watermarks(); // what the producer gave counts as queued
            continue;
        }
        // The queue's own pieces: they stay put until on_write(), with the batch's entries.
        detail::write_pieces const& pieces = core_.output.pieces();
        if (pieces.empty())
            continue; // a mark is due, or the queue is empty
        BOOST_ASSERT(core_.writing());
        auto on_written =
            [self = this->shared_from_this()](boost::system::error_code const& ec, std::size_t n)
        { self->on_write(ec, n); };
        // async_write keeps a copy of the buffer sequence: a range over the pieces (which stay
        // put until on_write) rather than a vector, which would cost an allocation.
        if (pieces.size() == 1)
            boost::asio::async_write(stream_, pieces.front(), std::move(on_written));
        else
            boost::asio::async_write(
                stream_,
                boost::make_iterator_range(pieces.data(), pieces.data() + pieces.size()),
                std::move(on_written)
            );
        return;
    }
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::pull() noexcept
{
    producer& p = core_.output.begin_pull();
    std::string piece;
    std::exception_ptr error;
    {
        hook_scope scope(*this);
        try
        {
            piece = p.more();
        }
        catch (...)
        {
            error = std::current_exception();
        }
    }
    // Not ready: listen for its resume() (from any thread) before the queue may let it go.
    bool resumed = false;
    if (!error && piece.empty() && p.waiting())
    {
        resumed = detail::output_queue::link_of(p).listen(
            [weak = this->weak_from_this(), ex = stream_.get_executor()]
            {
                boost::asio::post(
                    ex,
                    [weak]
                    {
                        if (auto self = weak.lock())
                            self->on_resume();
                    }
                );
            }
        );
    }
    // The queue stays consistent whatever more() did (pushes, discard_buffers(), close()); a
    // producer it is done with dies after, as user code.
    std::unique_ptr<producer> done =
        error ? core_.output.fail_pull(std::move(error)) : core_.output.end_pull(std::move(piece));
    if (resumed)
        core_.output.wake();
    hook_scope scope(*this);
    done.reset();
    if (core_.closed())
        core_.output.discard(); // closed by the producer: what it gave is not sent either
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_resume() noexcept
{
    core_.output.wake();
    do_write();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_write(
    boost::system::error_code const& ec, std::size_t n
) noexcept
{
    // What was written is gone, even when the write failed part way or the channel closed
    // meanwhile: it must never be written twice.
    core_.output.consume(n);
    auto const now = count_io(bytes_sent_, n);
    if (core_.closed())
    {
        {
            hook_scope scope(*this);
            core_.output.discard();
        }
        return finish_tls_close();
    }
    if (ec)
    {
        if (detail::is_disconnect(ec))
        {
            note_failure(ec);
            invoke_hook([this] { handle_close(); });
        }
        else
            report_error(std::make_exception_ptr(boost::system::system_error(ec, "write")));
        return;
    }
    core_.bytes_moved(false, now);
    check_watermarks();
    after_event();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_connect(boost::system::error_code const& ec) noexcept
{
    if (core_.closed())
        return;
    std::unique_ptr<detail::pending_completion> op;
    if (extras_)
        op = std::move(extras_->connect);
    if (ec)
    {
        // Close the socket so that a later connect() starts from a fresh one.
        detail::close_stream(stream_);
        core_.connect_done(false);
        if (!op)
            return report_error(std::make_exception_ptr(boost::system::system_error(ec, "connect"))
            );
        // async_connect(): the channel closes, and the handler is told (last: a handler whose
        // executor runs it inline, use_future's, sees the channel closed).
        do_close();
        return op->complete(ec);
    }
    if (op)
        extras_->connect = std::move(op); // completed by on_connected()
    core_.connect_done(true);
    core_.restart_clocks(clock::now());
    arm_timer();
    if constexpr (is_tls)
        return begin_handshake(Stream::client, handshake_for::connect); // then on_connected()
    on_connected();
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_connected() noexcept
{
    invoke_hook([this] { handle_connect(); });
    check_watermarks(); // for what was pushed before
    after_event();
    // The async_connect() handler last, once the channel is as handle_connect() left it; if
    // that closed it, do_close() completed the handler already.
    if (extras_ && extras_->connect)
        std::exchange(extras_->connect, nullptr)->complete({});
}

//----------------------------------------------------------------------------
// Ordered callbacks, and files sent with sendfile(2).

// What push_callback() queues: a producer that calls `fn` when it is pulled (CPython's moment:
// everything before it written) and is exhausted then, as Zope's CallbackProducer. Dropped
// before that (close(), discard_buffers(), the channel's destruction), it tells a `fn` that
// takes an error code, in a handler of its own: never from the destructor, which may run in the
// middle of close() or of the user's discard_buffers().
template <class Stream, class Timer>
template <class F>
class basic_async_chat<Stream, Timer>::callback_producer final : public producer
{
public:
    static constexpr bool takes_error = std::is_invocable_v<F&, boost::system::error_code const&>;

    callback_producer(std::weak_ptr<basic_async_chat> chat, executor_type ex, F fn)
        : chat_(std::move(chat)), ex_(std::move(ex)), fn_(std::move(fn))
    {
    }

    ~callback_producer() override
    {
        if constexpr (takes_error)
        {
            if (called_)
                return;
            try
            {
                boost::asio::post(
                    ex_,
                    [chat = std::move(chat_), fn = std::move(fn_)]() mutable
                    {
                        boost::system::error_code const aborted =
                            boost::asio::error::operation_aborted;
                        if (auto self = chat.lock())
                        {
                            self->invoke_hook([&] { fn(aborted); });
                            self->after_event();
                            return;
                        }
                        try
                        {
                            fn(aborted); // the channel is gone: nobody to report to
                        }
                        catch (...)
                        {
                        }
                    }
                );
            }
            catch (...)
            {
                // No memory for the handler: the call is lost, as with a destroyed io_context.
            }
        }
    }

    std::string more() override
    {
        called_ = true;
        if constexpr (takes_error)
            fn_(boost::system::error_code());
        else
            fn_();
        return {};
    }

private:
    std::weak_ptr<basic_async_chat> chat_;
    executor_type ex_;
    F fn_;
    bool called_ = false;
};

template <class Stream, class Timer>
template <class F>
void basic_async_chat<Stream, Timer>::push_callback(F fn)
{
    static_assert(
        std::is_invocable_v<F&> || std::is_invocable_v<F&, boost::system::error_code const&>,
        "asynchat::async_chat::push_callback: fn must be callable as fn() or "
        "fn(boost::system::error_code)"
    );
    if constexpr (detail::is_nullable_callable<F>::value)
    {
        if (!static_cast<bool>(fn))
            throw std::invalid_argument("asynchat::async_chat::push_callback: empty callable");
    }
    push_with_producer(std::make_unique<callback_producer<F>>(
        this->weak_from_this(), get_executor(), std::move(fn)
    ));
}

template <class Stream, class Timer>
bool basic_async_chat<Stream, Timer>::sendfile_allowed() const noexcept
{
    if constexpr (detail::is_tcp_socket_v<Stream>)
        return use_sendfile;
    else
        return false;
}

// Invariant: between output_queue::begin_file() and end_file() exactly one of these is
// pending: a wait for the socket to be writable, or a posted next step; the queue reports a
// write in flight meanwhile, so nothing else is written.
template <class Stream, class Timer>
bool basic_async_chat<Stream, Timer>::send_file(boost::system::error_code ec) noexcept
{
    if constexpr (detail::is_tcp_socket_v<Stream>)
    {
        file_producer* const file = core_.output.file();
        if (file && !ec && core_.open())
        {
            boost::system::error_code ignored;
            if (!stream_.native_non_blocking())
                stream_.native_non_blocking(true, ignored);
            // Send until the socket is full (EAGAIN) or the file ends (0), so that the end is
            // seen as soon as the last byte went out, and what is queued behind the file (a
            // push_callback() waiting for it) is not held back by a wait; at most
            // max_sendfile_step bytes in one step, for the other channels' sake.
            std::size_t sent = 0;
            std::size_t n;
            do
            {
                n = detail::send_file(
                    *file, stream_.native_handle(), detail::max_sendfile_step - sent, ec
                );
                sent += n;
            } while (n != 0 && sent < detail::max_sendfile_step);
            if (sent != 0)
            {
                bytes_sent_with_sendfile_.store(
                    bytes_sent_with_sendfile_.load(std::memory_order_relaxed) + sent,
                    std::memory_order_relaxed
                );
                core_.bytes_moved(false, count_io(bytes_sent_, sent));
            }
            auto self = this->shared_from_this();
            if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
            {
                // The socket took what it could: go on once it is writable, as Asio's sendfile
                // example does.
                stream_.async_wait(
                    Stream::wait_write,
                    [self = std::move(self)](boost::system::error_code const& ec)
                    { self->on_file_writable(ec); }
                );
                return true;
            }
            if (n != 0)
            {
                // The step's budget is spent and more may fit: go on after the handlers already
                // queued, other channels' too.
                boost::asio::post(
                    stream_.get_executor(), [self = std::move(self)] { self->on_file_writable({}); }
                );
                return true;
            }
        }
        // The send ends here: the file was exhausted (and closed), the kernel refused it (still
        // open: it is pulled as any producer from now on), it failed, or close() or
        // discard_buffers() dropped it meanwhile. The producer dies as user code.
        bool const refused = file && !ec && file->is_open() && core_.open();
        bool const failed = ec && core_.open();
        std::exception_ptr error;
        if (failed && !detail::is_disconnect(ec))
            error = std::make_exception_ptr(boost::system::system_error(
                ec, "asynchat::file_producer: sendfile of " + (file ? file->name() : "a file")
            ));
        std::unique_ptr<producer> done = core_.output.end_file(!refused);
        {
            hook_scope scope(*this);
            done.reset();
        }
        if (error)
            report_error(error);
        else if (failed)
            invoke_hook([this] { handle_close(); }); // the peer reset the connection
        return false;
    }
    else
    {
        // Never begun: next_write() answers send_file only on a TCP socket.
        BOOST_ASSERT(!"send_file on a stream that is not a TCP socket");
        static_cast<void>(ec);
        return false;
    }
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_file_writable(boost::system::error_code const& ec) noexcept
{
    if (!send_file(ec))
        after_event();
}

//----------------------------------------------------------------------------
// TLS: the handshakes, and STARTTLS.

template <class Stream, class Timer>
template <class HandshakeType>
void basic_async_chat<Stream, Timer>::begin_handshake(
    HandshakeType type, handshake_for why
) noexcept
{
    if constexpr (has_tls)
    {
        core_.begin_handshake();
        tls_layer().async_handshake(
            type,
            [self = this->shared_from_this(), why](boost::system::error_code const& ec)
            { self->on_handshake(ec, why); }
        );
    }
    else
    {
        static_cast<void>(type);
        static_cast<void>(why);
    }
}

template <class Stream, class Timer>
void basic_async_chat<Stream, Timer>::on_handshake(
    boost::system::error_code const& ec, handshake_for why
) noexcept
{
    if (core_.closed())
        return; // close() (a timeout, say) ended it; the stream is closed
    if (ec)
    {
        std::unique_ptr<detail::pending_completion> op;
        if (why == handshake_for::connect && extras_)
            op = std::move(extras_->connect);
        if (!op)
            report_error(std::make_exception_ptr(boost::system::system_error(
                ec,
                why == handshake_for::upgrade ? "asynchat::async_chat::start_tls: TLS handshake"
                                              : "asynchat::async_chat: TLS handshake"
            )));
        do_close();
        if (op)
            op->complete(ec); // async_connect(): the handler is told, not handle_error()
        return;
    }
    core_.handshake_done();
    if (why == handshake_for::connect)
        return on_connected();
    check_watermarks(); // for what was pushed meanwhile
    after_event();
}

// STARTTLS's place in the output queue: pulled once everything queued before start_tls() is
// written, it upgrades the stream and begins the handshake; what follows it in the queue waits
// for the handshake (the core writes nothing meanwhile) and goes out encrypted.
template <class Stream, class Timer>
template <class Context, class HandshakeType>
class basic_async_chat<Stream, Timer>::tls_upgrade final : public producer
{
public:
    tls_upgrade(basic_async_chat& chat, Context& ctx, HandshakeType type)
        : chat_(chat), ctx_(ctx), type_(type)
    {
    }

    std::string more() override
    {
        // Plaintext the peer sent after the command is still pending (reads are held since):
        // refused (pipelined_input::refuse; discard dropped it already). The replies queued
        // before are written by now; what was pushed after start_tls() is never sent in
        // plaintext: do_write() closes the channel after reporting this error.
        if (!chat_.core_.input.pending().empty())
        {
            chat_.core_.input.discard();
            throw boost::system::system_error(
                make_error_code(error::plaintext_after_starttls), "asynchat::async_chat::start_tls"
            );
        }
        // A failure to make the TLS stream (no memory, say) is the producer's error: it goes
        // to handle_error() like any other, and closes the channel likewise.
        chat_.stream_.upgrade(ctx_);
        chat_.begin_handshake(type_, handshake_for::upgrade);
        return {};
    }

private:
    basic_async_chat& chat_;
    Context& ctx_;
    HandshakeType type_;
};

template <class Stream, class Timer>
template <
    class Context,
    class HandshakeType,
    class S,
    std::enable_if_t<detail::is_starttls_stream_v<S>, int>>
void basic_async_chat<Stream, Timer>::start_tls(
    Context& ctx, HandshakeType type, pipelined_input pipelined
)
{
    if (!in_own_hook())
        throw std::logic_error(
            "asynchat::async_chat::start_tls: call it from found_terminator() (on the channel's "
            "executor, in the channel's own hook)"
        );
    if (!core_.open() || stream_.is_tls())
        throw std::logic_error(
            "asynchat::async_chat::start_tls: the channel is not open, or already upgraded to TLS"
        );
    if (core_.reading() != core_type::read_side::idle)
        throw std::logic_error(
            "asynchat::async_chat::start_tls: a read is in flight or the peer's EOF was seen; "
            "call it from found_terminator() of the command that asks for TLS"
        );
    core_.output.push(std::make_unique<tls_upgrade<Context, HandshakeType>>(*this, ctx, type));
    core_.hold_reads();
    // What the peer sent after the command is pending in the receive buffer: from
    // found_terminator() exactly those bytes. Refused in on_read() once delivery stops.
    if (pipelined == pipelined_input::discard)
        core_.input.discard();
}

} // namespace asynchat

#endif
