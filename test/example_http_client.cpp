// asynchat: drives both example/http_client clients against example/http_server over loopback
// SPDX-License-Identifier: BSL-1.0

// Test that the header is self-contained.
#include "http_client/http_client.hpp"

#define BOOST_TEST_MODULE example_http_client
#include <boost/test/unit_test.hpp>

#include "http_server/http_server.hpp"
#include "support/loopback.hpp"

namespace asio = boost::asio;
using namespace asynchat::test;

namespace {

struct server_fixture
{
    asio::io_context io;
    std::shared_ptr<http::server> server = std::make_shared<http::server>(
        io, http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)
    );
    server_fixture() { server->start(); }
    ~server_fixture()
    {
        asynchat::close_all(io);
        io.poll();
    }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(dispatcher_client_fetches_the_page, server_fixture)
{
    auto d = std::make_shared<http_client::dispatcher_client>(io, server->local_endpoint(), "/");
    d->start();
    // Until the client is closed: the map then holds only the server.
    BOOST_TEST_REQUIRE(
        run_until(io, [&] { return asynchat::channel_count(io) == 1 && !d->response.empty(); })
    );
    BOOST_TEST(d->response.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u);
    BOOST_TEST(d->response.find("\r\n\r\nhello from asynchat\n") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(async_chat_client_splits_head_and_body, server_fixture)
{
    auto c = std::make_shared<http_client::chat_client>(io, "/missing");
    c->connect(server->local_endpoint());
    BOOST_TEST_REQUIRE(run_until(io, [&] { return c->done; }));
    BOOST_TEST(c->head.rfind("HTTP/1.0 404 Not Found\r\n", 0) == 0u);
    BOOST_TEST(c->body == "no such page: /missing\n");
}
