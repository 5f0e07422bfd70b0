// asynchat: test kit: a socket whose Nth read or write fails with an error the test chooses
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_FAULTY_SOCKET_HPP
#define ASYNCHAT_TESTING_FAULTY_SOCKET_HPP

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>

namespace asynchat::testing {

/** Which read and which write of a faulty_socket fail, and with what; and how many there were.

    Reads and writes are counted from 1, separately, from the socket's construction. The Nth
    read set by fail_read() fails with its error instead of returning what it read (those bytes
    are lost, as with a real failure); the Nth write set by fail_write() writes nothing and
    fails. The ones after it succeed again. A read counts when it returns bytes, EOF or an
    error, not when it would block or was cancelled (how often a read finds the socket empty
    depends on timing); every write counts.

    Shared (`std::shared_ptr`) between the test, which sets it, and the socket, which the
    channel owns.

    @par Python
    No equivalent; Beast's `test::fail_count` (the Nth operation fails) is the model.

    @par Thread safety
    Safe from any thread.
*/
class fail_count
{
public:
    /// Make the `n`th read (1 for the first) fail with `ec` (0: no read fails).
    void fail_read(std::size_t n, boost::system::error_code ec)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        read_at_ = n;
        read_error_ = ec;
    }

    /// Make the `n`th write (1 for the first) fail with `ec` (0: no write fails).
    void fail_write(std::size_t n, boost::system::error_code ec)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        write_at_ = n;
        write_error_ = ec;
    }

    /// The reads counted so far (the failed one included).
    std::size_t reads() const noexcept { return reads_.load(); }

    /// The writes counted so far (the failed one included).
    std::size_t writes() const noexcept { return writes_.load(); }

    /// Count a read; true, with its error in `ec`, if it is the one to fail.
    bool next_read_fails(boost::system::error_code& ec)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (++reads_ != read_at_)
            return false;
        ec = read_error_;
        return true;
    }

    /// Count a write; true, with its error in `ec`, if it is the one to fail.
    bool next_write_fails(boost::system::error_code& ec)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (++writes_ != write_at_)
            return false;
        ec = write_error_;
        return true;
    }

private:
    mutable std::mutex mutex_;
    std::atomic<std::size_t> reads_{0};
    std::atomic<std::size_t> writes_{0};
    std::size_t read_at_ = 0;
    std::size_t write_at_ = 0;
    boost::system::error_code read_error_;
    boost::system::error_code write_error_;
};

/** The socket `Socket` with failures injected where a fail_count says: the Stream of a channel
    under test, `basic_async_chat<faulty_socket<tcp::socket>>`, to test its handle_error() and
    handle_close() paths.

    It is a `Socket` (it derives from it) whose read_some(), async_read_some(), write_some() and
    async_write_some() count and, the Nth time, fail: the channel calls them on its Stream type,
    so they are the ones it uses (its readiness wait, async_wait(), is not a read and is
    Socket's). receive() and send() are Socket's and are not counted.

    @tparam Socket A stream socket: `boost::asio::ip::tcp::socket` or
    `boost::asio::local::stream_protocol::socket`.

    @par Python
    No equivalent; Beast's `test::stream` with a `fail_count` is the model.

    @par Thread safety
    As `Socket`.
*/
template <class Socket>
class faulty_socket : public Socket
{
public:
    /// The executor: Socket's.
    using executor_type = typename Socket::executor_type;

    /** Take over the connected `socket`; `faults` says which operations fail (null: none).

        @param socket A socket, usually one end of a connected pair.
        @param faults Shared with the test, which may change it before or while the socket runs.
    */
    faulty_socket(Socket socket, std::shared_ptr<fail_count> faults)
        : Socket(std::move(socket)),
          faults_(faults ? std::move(faults) : std::make_shared<fail_count>())
    {
    }

    /// An unopened socket on `ex` that never fails (the client channel's constructor uses it).
    explicit faulty_socket(executor_type const& ex)
        : Socket(ex), faults_(std::make_shared<fail_count>())
    {
    }

    /// Move, the fail_count shared.
    faulty_socket(faulty_socket&&) = default;
    /// Move-assign, the fail_count shared.
    faulty_socket& operator=(faulty_socket&&) = default;

    /// The failures, and the counts.
    fail_count& faults() const noexcept { return *faults_; }

    /// Socket's read_some(), counted; the failing read returns 0 and the error in `ec`.
    template <class MutableBufferSequence>
    std::size_t read_some(MutableBufferSequence const& buffers, boost::system::error_code& ec)
    {
        std::size_t const n = Socket::read_some(buffers, ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
            return n;
        boost::system::error_code injected;
        if (!faults_->next_read_fails(injected))
            return n;
        ec = injected;
        return 0;
    }

    /// read_some(), throwing `boost::system::system_error` on failure.
    template <class MutableBufferSequence>
    std::size_t read_some(MutableBufferSequence const& buffers)
    {
        boost::system::error_code ec;
        std::size_t const n = read_some(buffers, ec);
        if (ec)
            throw boost::system::system_error(ec, "read_some");
        return n;
    }

    /** Socket's async_read_some(), counted; the failing read completes with the error and 0.

        @par Completion Signature
        `void(boost::system::error_code, std::size_t)`, as Socket's.
    */
    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(MutableBufferSequence const& buffers, ReadToken&& token)
    {
        return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, MutableBufferSequence const& b)
            {
                auto const ex = boost::asio::get_associated_executor(handler, this->get_executor());
                Socket::async_read_some(
                    b,
                    boost::asio::bind_executor(
                        ex,
                        [h = std::move(handler),
                         faults = faults_](boost::system::error_code ec, std::size_t n) mutable
                        {
                            boost::system::error_code injected;
                            if (ec != boost::asio::error::operation_aborted &&
                                faults->next_read_fails(injected))
                            {
                                ec = injected;
                                n = 0;
                            }
                            std::move(h)(ec, n);
                        }
                    )
                );
            },
            token,
            buffers
        );
    }

    /// Socket's write_some(), counted; the failing write writes nothing, returns 0 and the error.
    template <class ConstBufferSequence>
    std::size_t write_some(ConstBufferSequence const& buffers, boost::system::error_code& ec)
    {
        if (faults_->next_write_fails(ec))
            return 0;
        return Socket::write_some(buffers, ec);
    }

    /// write_some(), throwing `boost::system::system_error` on failure.
    template <class ConstBufferSequence>
    std::size_t write_some(ConstBufferSequence const& buffers)
    {
        boost::system::error_code ec;
        std::size_t const n = write_some(buffers, ec);
        if (ec)
            throw boost::system::system_error(ec, "write_some");
        return n;
    }

    /** Socket's async_write_some(), counted; the failing write writes nothing and completes
        with the error and 0, posted (never inside this call).

        @par Completion Signature
        `void(boost::system::error_code, std::size_t)`, as Socket's.
    */
    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(ConstBufferSequence const& buffers, WriteToken&& token)
    {
        return boost::asio::
            async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
                [this](auto handler, ConstBufferSequence const& b)
                {
                    boost::system::error_code injected;
                    if (faults_->next_write_fails(injected))
                    {
                        auto const ex =
                            boost::asio::get_associated_executor(handler, this->get_executor());
                        boost::asio::post(
                            this->get_executor(),
                            boost::asio::bind_executor(
                                ex,
                                [h = std::move(handler), injected]() mutable
                                { std::move(h)(injected, 0); }
                            )
                        );
                        return;
                    }
                    Socket::async_write_some(b, std::move(handler));
                },
                token,
                buffers
            );
    }

private:
    std::shared_ptr<fail_count> faults_;
};

} // namespace asynchat::testing

#endif
