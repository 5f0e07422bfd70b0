// asynchat: dispatcher
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/dispatcher.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/assert.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <fcntl.h>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>

namespace asynchat {

namespace {

// accept() failed for want of a resource that closing connections gives back: the pending
// connection stays in the backlog, so the listener stays readable and would fail again at once.
bool is_exhaustion(boost::system::error_code const& ec) noexcept
{
    namespace errc = boost::system::errc;
    return ec == errc::too_many_files_open || ec == errc::too_many_files_open_in_system ||
           ec == errc::no_buffer_space || ec == errc::not_enough_memory;
}

} // namespace

dispatcher::dispatcher(executor_type const& ex) : dispatcher_base(ex), socket_(ex), acceptor_(ex) {}

dispatcher::dispatcher(socket_type sock)
    : dispatcher_base(sock.get_executor()), socket_(std::move(sock)), acceptor_(get_executor())
{
    boost::system::error_code ec;
    auto const peer = socket_.remote_endpoint(ec);
    if (!ec && socket_.is_open())
    {
        mark_connected();
        addr_ = peer;
    }
    socket_.non_blocking(true, ec);
}

dispatcher::~dispatcher() = default;

//----------------------------------------------------------------------------
// The asyncore socket API.

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

void dispatcher::set_reuse_port()
{
    using reuse_port = boost::asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    if (!socket_.is_open())
        throw std::logic_error(
            "asynchat::dispatcher::set_reuse_port: no socket yet: call create_socket() first "
            "(its protocol, IPv4 or IPv6, is the listener's)"
        );
    boost::system::error_code ec;
    socket_.set_option(reuse_port(true), ec);
    if (ec)
        throw boost::system::system_error(ec, "asynchat::dispatcher::set_reuse_port: SO_REUSEPORT");
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

void dispatcher::begin_deferred()
{
    if (pending_connect_)
        begin_connect(*std::exchange(pending_connect_, std::nullopt));
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
    if (!take_accepted(ec, sock.native_handle()))
        return std::nullopt;
    return std::make_pair(std::move(sock), peer);
}

bool dispatcher::take_accepted(boost::system::error_code const& ec, int fd)
{
    // Progress is a connection taken off the backlog, aborted ones included; a failure that
    // leaves the backlog as it was is not, so that the next event waits (see arm()).
    if (ec == boost::asio::error::connection_aborted)
        note_progress(wait_kind::read);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again ||
        ec == boost::asio::error::connection_aborted)
        return false;
    if (is_exhaustion(ec))
    {
        // Pause instead of failing: handle_error()'s default would close the listener, and a
        // handle_error() that does not would be called again at once, for as long as the
        // descriptors stay exhausted. The next arm() of reads waits the pause (read_pause_)
        // before it lets the listener accept again; each exhaustion in a row doubles it.
        if (read_pause_.count() == 0)
        {
            accept_backoff_ =
                accept_backoff_.count() == 0
                    ? accept_backoff_initial
                    : std::min<std::chrono::milliseconds>(2 * accept_backoff_, accept_backoff_max);
            read_pause_ = accept_backoff_;
            log_info(
                "accept: " + ec.message() + "; not accepting for " +
                    std::to_string(accept_backoff_.count()) + " ms",
                "error"
            );
        }
        return false;
    }
    if (ec)
        throw boost::system::system_error(ec, "accept");
    note_progress(wait_kind::read);
    accept_backoff_ = std::chrono::milliseconds(0);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return true;
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
    // A strand of the dispatcher's executor would run every channel through the dispatcher's
    // own strand when it is one (the usual case): all channels serialised, and two locks a
    // handler. So look through a strand to the execution context's own executor.
    executor_type const& ex = get_executor();
    if (auto io = plain_executor<boost::asio::io_context::executor_type>(ex))
        return strand_per_socket ? executor_type(boost::asio::make_strand(*io))
                                 : executor_type(*io);
    if (auto pool = plain_executor<boost::asio::thread_pool::executor_type>(ex))
        return boost::asio::make_strand(*pool);
    return boost::asio::make_strand(ex);
}

dispatcher::endpoint_type dispatcher::local_endpoint() const
{
    return accepting() ? acceptor_.local_endpoint() : socket_.local_endpoint();
}

std::string dispatcher::repr_address() const
{
    std::ostringstream address;
    if (addr_)
        address << *addr_;
    return address.str();
}

//----------------------------------------------------------------------------
// Default hooks.

void dispatcher::route_read_event()
{
    if (accepting())
        handle_accept();
    else
        handle_read();
}

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

//----------------------------------------------------------------------------
// The socket as the source of events.

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
