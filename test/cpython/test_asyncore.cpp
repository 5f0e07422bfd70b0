// asynchat: a port of the tests in CPython 3.11's Lib/test/test_asyncore.py that apply
// SPDX-License-Identifier: BSL-1.0
//
// Not ported: test_readwriteexc/test_readwrite (they drive asyncore.readwrite() with dummy
// objects: here every event goes through the same hook guard, tested in test/dispatcher.cpp),
// test_compact_traceback and test_strerror (no equivalent), the use_poll variants (Asio picks
// the reactor), and the AF_UNIX variants (the dispatcher is TCP; async_chat covers Unix
// sockets). close() in a constructor works as in Python; start() arms the events.

// Test that the header is self-contained.
#include <asynchat/dispatcher.hpp>

#define BOOST_TEST_MODULE cpython_test_asyncore
#include <asynchat/dispatcher_with_send.hpp>
#include <asynchat/file_dispatcher.hpp>
#include <asynchat/loop.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <unistd.h>

#include "support/captured.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;
using tcp = asio::ip::tcp;

namespace {

struct ipv4
{
    static tcp::endpoint any() { return {asio::ip::make_address("127.0.0.1"), 0}; }
};

struct ipv6
{
    static tcp::endpoint any() { return {asio::ip::make_address("::1"), 0}; }
};

using families = boost::mpl::list<ipv4, ipv6>;

// Hooks that must not run fail the test, as CPython's BaseTestHandler raises.
class base_test_handler : public asynchat::dispatcher
{
public:
    using dispatcher::dispatcher;
    bool flag = false;

protected:
    void handle_accept() override { BOOST_ERROR("handle_accept not supposed to be called"); }
    void handle_accepted(socket_type, endpoint_type) override
    {
        BOOST_ERROR("handle_accepted not supposed to be called");
    }
    void handle_connect() override { BOOST_ERROR("handle_connect not supposed to be called"); }
    void handle_expt() override { BOOST_ERROR("handle_expt not supposed to be called"); }
    void handle_close() override { BOOST_ERROR("handle_close not supposed to be called"); }
    void handle_error(std::exception_ptr e) override
    {
        try
        {
            std::rethrow_exception(e);
        }
        catch (std::exception const& x)
        {
            BOOST_ERROR("unexpected error: " << x.what());
        }
        close();
    }
};

// A server that listens and hands each connection to a new Handler.
template <class Handler = base_test_handler>
class base_server : public asynchat::dispatcher
{
public:
    base_server(asio::io_context& io, tcp::endpoint addr) : dispatcher(io.get_executor())
    {
        create_socket(addr.protocol());
        set_reuse_addr();
        bind(addr);
        listen(5);
    }

    tcp::endpoint address() const { return local_endpoint(); }

    std::shared_ptr<Handler> last;

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        last = std::make_shared<Handler>(std::move(sock));
        last->start();
    }
    void handle_error(std::exception_ptr e) override { std::rethrow_exception(e); }
};

class base_client : public base_test_handler
{
public:
    base_client(asio::io_context& io, tcp::endpoint address) : base_test_handler(io.get_executor())
    {
        create_socket(address.protocol());
        connect(address);
    }

protected:
    void handle_connect() override {}
};

template <class T, class... Args>
std::shared_ptr<T> make_started(Args&&... args)
{
    auto p = std::make_shared<T>(std::forward<Args>(args)...);
    p->start();
    return p;
}

// CPython's loop_waiting_for_flag: up to 100 passes of 10 ms, then fail.
void loop_waiting_for_flag(asio::io_context& io, bool const& flag)
{
    for (int count = 0; count < 500 && asynchat::channel_count(io) != 0; ++count)
    {
        asynchat::loop(io, std::chrono::milliseconds(10), 1);
        if (flag)
        {
            asynchat::close_all(io);
            io.poll();
            BOOST_TEST(flag);
            return;
        }
    }
    BOOST_FAIL("flag not set");
}

} // namespace

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(HelperFunctionTests)

BOOST_AUTO_TEST_CASE(test_closeall)
{
    // Setup: ten open channels in the map.
    asio::io_context io;
    auto server = make_started<base_server<>>(io, ipv4::any());
    std::vector<std::shared_ptr<base_client>> channels;
    for (int i = 0; i < 10; ++i)
        channels.push_back(make_started<base_client>(io, server->address()));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return asynchat::channel_count(io) == 21; }));

    // Event
    asynchat::close_all(io);

    // Check: the map is empty at once, and every socket is closed once the closes have run.
    BOOST_TEST(asynchat::channel_count(io) == 0u);
    run_until(
        io,
        [&]
        {
            return std::none_of(
                channels.begin(), channels.end(), [](auto& c) { return c->socket().is_open(); }
            );
        }
    );
    for (auto const& c : channels)
        BOOST_TEST(!c->socket().is_open());
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(DispatcherTests)

struct exposed : asynchat::dispatcher
{
    using dispatcher::dispatcher;
    using dispatcher::handle_connect;
    using dispatcher::handle_expt;
    using dispatcher::handle_read;
    using dispatcher::handle_write;
    using dispatcher::readable;
    using dispatcher::writable;
};

BOOST_AUTO_TEST_CASE(test_basic)
{
    asio::io_context io;
    exposed d(io.get_executor());
    BOOST_TEST(d.readable());
    BOOST_TEST(d.writable());
}

BOOST_AUTO_TEST_CASE(test_log)
{
    asio::io_context io;
    exposed d(io.get_executor());
    captured err(std::cerr);
    d.log("Lovely spam! Wonderful spam!");
    d.log("I don't like spam!");
    BOOST_TEST(err.text() == "log: Lovely spam! Wonderful spam!\nlog: I don't like spam!\n");
}

BOOST_AUTO_TEST_CASE(test_log_info)
{
    asio::io_context io;
    exposed d(io.get_executor());
    captured out(std::cout);
    d.log_info("Have you got anything without spam?", "EGGS");
    d.log_info("Why can't she have egg bacon spam and sausage?");
    d.log_info("THAT'S got spam in it!", "SPAM");
    BOOST_TEST(
        out.text() == "EGGS: Have you got anything without spam?\n"
                      "info: Why can't she have egg bacon spam and sausage?\n"
                      "SPAM: THAT'S got spam in it!\n"
    );
}

BOOST_AUTO_TEST_CASE(test_unhandled)
{
    asio::io_context io;
    exposed d(io.get_executor());
    d.ignore_log_types.clear();
    captured out(std::cout);
    d.handle_expt();
    d.handle_read();
    d.handle_write();
    d.handle_connect();
    BOOST_TEST(
        out.text() == "warning: unhandled incoming priority event\n"
                      "warning: unhandled read event\n"
                      "warning: unhandled write event\n"
                      "warning: unhandled connect event\n"
    );
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(DispatcherWithSendTests)

BOOST_AUTO_TEST_CASE(test_send)
{
    // Setup: a capture server reading until EOF; a client that never reads.
    struct dispatcherwithsend_noread : asynchat::dispatcher_with_send
    {
        using dispatcher_with_send::dispatcher_with_send;
        bool readable() override { return false; }
        void handle_connect() override {}
    };
    asio::io_context io;
    loopback_tcp::listener l(io);
    std::string const data = "Suppose there isn't a 16-ton weight?";
    auto d = std::make_shared<dispatcherwithsend_noread>(io.get_executor());
    d->create_socket();
    d->connect(l.endpoint());
    d->start();
    tcp::socket conn(io);
    l.acceptor.async_accept(conn, [](boost::system::error_code) {});
    BOOST_TEST_REQUIRE(run_until(io, [&] { return d->connected() && conn.is_open(); }));

    // Event
    d->send(data);
    d->send(data);
    d->send("\n");
    for (int n = 0; n < 1000 && d->pending() != 0; ++n)
        asynchat::loop(io, std::chrono::milliseconds(1), 1);
    d->close();
    asynchat::loop(io, std::chrono::milliseconds(1), 1);

    // Check
    BOOST_TEST(read_to_eof(conn) == data + data + "\n");
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(FileWrapperTest)

struct pipe_fixture
{
    pipe_fixture() { BOOST_TEST_REQUIRE(::pipe(fds) == 0); }
    ~pipe_fixture()
    {
        for (int fd : fds)
            if (fd >= 0)
                ::close(fd);
    }
    int fds[2] = {-1, -1};
    std::string const d = "It's not dead, it's sleeping!";
};

BOOST_FIXTURE_TEST_CASE(test_recv, pipe_fixture)
{
    asio::io_context io;
    BOOST_TEST_REQUIRE(::write(fds[1], d.data(), d.size()) == static_cast<ssize_t>(d.size()));
    auto w = std::make_shared<asynchat::file_dispatcher>(io.get_executor(), fds[0]);
    // The dispatcher owns a duplicate: closing ours does not affect it.
    ::close(fds[0]);
    fds[0] = -1;
    BOOST_TEST(w->recv(13) == "It's not dead");
    BOOST_TEST(w->recv(1024) == ", it's sleeping!");
    w->close();
}

BOOST_FIXTURE_TEST_CASE(test_send, pipe_fixture)
{
    asio::io_context io;
    auto w = std::make_shared<asynchat::file_dispatcher>(io.get_executor(), fds[1]);
    std::string const d1 = "Come again?";
    std::string const d2 = "I want to buy some cheese.";
    BOOST_TEST(w->send(d1) == d1.size());
    BOOST_TEST(w->send(d2) == d2.size());
    w->close();
    asynchat::loop(io, std::chrono::milliseconds(1), 1);
    ::close(fds[1]);
    fds[1] = -1;
    std::string got(d1.size() + d2.size(), '\0');
    BOOST_TEST(::read(fds[0], got.data(), got.size()) == static_cast<ssize_t>(got.size()));
    BOOST_TEST(got == d1 + d2);
}

BOOST_FIXTURE_TEST_CASE(test_dispatcher, pipe_fixture)
{
    // Setup: a file_dispatcher that collects what it reads.
    struct file_reader : asynchat::file_dispatcher
    {
        using file_dispatcher::file_dispatcher;
        std::string data;
        void handle_read() override { data += recv(1024); }
        bool writable() override { return false; }
        void handle_close() override { close(); }
    };
    asio::io_context io;
    BOOST_TEST_REQUIRE(::write(fds[1], d.data(), d.size()) == static_cast<ssize_t>(d.size()));
    ::close(fds[1]);
    fds[1] = -1;
    auto s = make_started<file_reader>(io.get_executor(), fds[0]);

    // Event: asyncore.loop(timeout=0.01, count=5), then to the end of the file.
    asynchat::loop(io, std::chrono::milliseconds(10), 5);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return asynchat::channel_count(io) == 0; }));

    // Check
    BOOST_TEST(s->data == d);
}

BOOST_FIXTURE_TEST_CASE(test_close_twice, pipe_fixture)
{
    asio::io_context io;
    auto f = make_started<asynchat::file_dispatcher>(io.get_executor(), fds[0]);
    asynchat::loop(io, std::chrono::milliseconds(1), 1);
    BOOST_TEST(asynchat::channel_count(io) == 1u);
    // close() from outside the executor takes effect when the io_context next runs.
    f->close();
    io.poll();
    BOOST_TEST(!f->descriptor().is_open());
    f->close(); // calling close twice should not fail
    io.poll();
    BOOST_TEST(asynchat::channel_count(io) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

//----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(BaseTestAPI)

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_connect, Family, families)
{
    // make sure handle_connect is called on connect()
    struct test_client : base_client
    {
        using base_client::base_client;
        void handle_connect() override { flag = true; }
    };
    asio::io_context io;
    auto server = make_started<base_server<>>(io, Family::any());
    auto client = make_started<test_client>(io, server->address());
    loop_waiting_for_flag(io, client->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_accept, Family, families)
{
    // make sure handle_accept() is called when a client connects
    struct test_listener : base_test_handler
    {
        test_listener(asio::io_context& io, tcp::endpoint addr)
            : base_test_handler(io.get_executor())
        {
            create_socket(addr.protocol());
            bind(addr);
            listen(5);
        }
        void handle_accept() override { flag = true; }
    };
    asio::io_context io;
    auto server = make_started<test_listener>(io, Family::any());
    auto client = make_started<base_client>(io, server->local_endpoint());
    loop_waiting_for_flag(io, server->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_accepted, Family, families)
{
    // make sure handle_accepted() is called when a client connects
    struct test_listener : base_test_handler
    {
        test_listener(asio::io_context& io, tcp::endpoint addr)
            : base_test_handler(io.get_executor())
        {
            create_socket(addr.protocol());
            bind(addr);
            listen(5);
        }
        void handle_accept() override { dispatcher::handle_accept(); }
        void handle_accepted(socket_type sock, endpoint_type) override
        {
            sock.close();
            flag = true;
        }
    };
    asio::io_context io;
    auto server = make_started<test_listener>(io, Family::any());
    auto client = make_started<base_client>(io, server->local_endpoint());
    loop_waiting_for_flag(io, server->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_read, Family, families)
{
    // make sure handle_read is called on data received
    struct test_client : base_client
    {
        using base_client::base_client;
        void handle_read() override { flag = true; }
    };
    struct test_handler : base_test_handler
    {
        explicit test_handler(socket_type conn) : base_test_handler(std::move(conn))
        {
            send(std::string(1024, 'x'));
        }
    };
    asio::io_context io;
    auto server = make_started<base_server<test_handler>>(io, Family::any());
    auto client = make_started<test_client>(io, server->address());
    loop_waiting_for_flag(io, client->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_write, Family, families)
{
    // make sure handle_write is called
    struct test_client : base_client
    {
        using base_client::base_client;
        void handle_write() override { flag = true; }
    };
    asio::io_context io;
    auto server = make_started<base_server<>>(io, Family::any());
    auto client = make_started<test_client>(io, server->address());
    loop_waiting_for_flag(io, client->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_close, Family, families)
{
    // make sure handle_close is called when the other end closes the connection
    struct test_client : base_client
    {
        using base_client::base_client;
        // in order to make handle_close be called we are supposed to make at least one recv()
        void handle_read() override { recv(1024); }
        void handle_close() override
        {
            flag = true;
            close();
        }
    };
    struct test_handler : base_test_handler
    {
        explicit test_handler(socket_type conn) : base_test_handler(std::move(conn)) { close(); }
    };
    asio::io_context io;
    auto server = make_started<base_server<test_handler>>(io, Family::any());
    auto client = make_started<test_client>(io, server->address());
    loop_waiting_for_flag(io, client->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_close_after_conn_broken, Family, families)
{
    // Check that ECONNRESET/EPIPE is correctly handled (issues #5661 and #11265).
    static std::string const data(128, '\0');
    struct test_client : base_client
    {
        using base_client::base_client;
        void handle_write() override { send(data); }
        void handle_close() override
        {
            flag = true;
            close();
        }
        void handle_expt() override
        {
            flag = true;
            close();
        }
    };
    struct test_handler : base_test_handler
    {
        using base_test_handler::base_test_handler;
        void handle_read() override
        {
            recv(data.size());
            close();
        }
        bool writable() override { return false; }
    };
    asio::io_context io;
    auto server = make_started<base_server<test_handler>>(io, Family::any());
    auto client = make_started<test_client>(io, server->address());
    loop_waiting_for_flag(io, client->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_expt, Family, families)
{
    // Make sure handle_expt is called on OOB data received.
    struct test_client : base_client
    {
        using base_client::base_client;
        void handle_expt() override
        {
            char c;
            socket().receive(asio::buffer(&c, 1), asio::socket_base::message_out_of_band);
            flag = true;
        }
    };
    struct test_handler : base_test_handler
    {
        explicit test_handler(socket_type conn) : base_test_handler(std::move(conn))
        {
            char const c = static_cast<char>(244);
            socket().send(asio::buffer(&c, 1), asio::socket_base::message_out_of_band);
        }
    };
    asio::io_context io;
    auto server = make_started<base_server<test_handler>>(io, Family::any());
    auto client = make_started<test_client>(io, server->address());
    loop_waiting_for_flag(io, client->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_handle_error, Family, families)
{
    struct test_client : base_client
    {
        using base_client::base_client;
        void handle_write() override { throw std::domain_error("1.0 / 0"); }
        void handle_error(std::exception_ptr e) override
        {
            flag = true;
            try
            {
                std::rethrow_exception(e);
            }
            catch (std::domain_error const&)
            {
            }
            catch (...)
            {
                BOOST_ERROR("exception not raised");
            }
        }
    };
    asio::io_context io;
    auto server = make_started<base_server<>>(io, Family::any());
    auto client = make_started<test_client>(io, server->address());
    loop_waiting_for_flag(io, client->flag);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_connection_attributes, Family, families)
{
    asio::io_context io;
    auto server = make_started<base_server<>>(io, Family::any());
    auto client = make_started<base_client>(io, server->address());

    // we start disconnected
    BOOST_TEST(!server->connected());
    BOOST_TEST(server->accepting());
    BOOST_TEST(!client->accepting());

    // execute some loops so that client connects to server
    asynchat::loop(io, std::chrono::milliseconds(10), 100);
    BOOST_TEST(!server->connected());
    BOOST_TEST(server->accepting());
    BOOST_TEST(client->connected());
    BOOST_TEST(!client->accepting());

    // disconnect the client (on the executor: from here, when the io_context next runs)
    client->close();
    io.poll();
    BOOST_TEST(!server->connected());
    BOOST_TEST(server->accepting());
    BOOST_TEST(!client->connected());
    BOOST_TEST(!client->accepting());

    // stop serving
    server->close();
    io.poll();
    BOOST_TEST(!server->connected());
    BOOST_TEST(!server->accepting());
    asynchat::close_all(io);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_create_socket, Family, families)
{
    asio::io_context io;
    auto s = std::make_shared<asynchat::dispatcher>(io.get_executor());
    s->create_socket(Family::any().protocol());
    BOOST_TEST((s->socket().local_endpoint().protocol() == Family::any().protocol()));
    BOOST_TEST(s->socket().non_blocking());
    // Not inherited by child processes (CPython checks get_inheritable()).
    BOOST_TEST((::fcntl(s->socket().native_handle(), F_GETFD) & FD_CLOEXEC) != 0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_bind, Family, families)
{
    asio::io_context io;
    auto s1 = std::make_shared<asynchat::dispatcher>(io.get_executor());
    s1->create_socket(Family::any().protocol());
    s1->bind(Family::any());
    s1->listen(5);
    auto const port = s1->local_endpoint().port();
    auto s2 = std::make_shared<asynchat::dispatcher>(io.get_executor());
    s2->create_socket(Family::any().protocol());
    // EADDRINUSE indicates the socket was correctly bound
    BOOST_CHECK_THROW(s2->bind({Family::any().address(), port}), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_set_reuse_addr, Family, families)
{
    asio::io_context io;
    auto s = std::make_shared<asynchat::dispatcher>(io.get_executor());
    s->create_socket(Family::any().protocol());
    asio::socket_base::reuse_address option;
    s->socket().get_option(option);
    BOOST_TEST(!option.value());
    s->set_reuse_addr();
    s->socket().get_option(option);
    BOOST_TEST(option.value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(test_quick_connect, Family, families)
{
    // see: http://bugs.python.org/issue10340 -- a connection reset before it is accepted
    // must not break the server's loop.
    asio::io_context io;
    auto server = make_started<base_server<>>(io, Family::any());
    {
        tcp::socket s(io);
        s.connect(server->address());
        s.set_option(asio::socket_base::linger(true, 0));
    }
    asynchat::loop(io, std::chrono::milliseconds(10), 5);
    BOOST_TEST(server->accepting());
    asynchat::close_all(io);
}

BOOST_AUTO_TEST_SUITE_END()
