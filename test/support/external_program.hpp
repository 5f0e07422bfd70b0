// asynchat: test fixtures: an outside program (openssl, curl, python3) on pipes, on an io_context
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_EXTERNAL_PROGRAM_HPP
#define ASYNCHAT_TEST_SUPPORT_EXTERNAL_PROGRAM_HPP

#include <asynchat/testing/run.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace asynchat::test {

/// True if `name` is an executable file in one of the directories of PATH.
inline bool program_available(std::string const& name)
{
    char const* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= dirs.size();)
    {
        std::size_t const end = std::min(dirs.find(':', start), dirs.size());
        std::string const dir = end == start ? "." : dirs.substr(start, end - start);
        if (::access((dir + "/" + name).c_str(), X_OK) == 0)
            return true;
        start = end + 1;
    }
    return false;
}

/** A program nobody here wrote, run as a child process with its stdin on a pipe the test writes
    and its stdout and stderr on one pipe that the test's io_context reads, so that the test runs
    its own server and the program on one thread, every wait bounded by a deadline.

    The child is in a process group of its own and inherits no descriptor but the three pipes
    (not the test's sockets, whose close the peer must see). The destructor kills the group and
    reaps the child. SIGPIPE is ignored from the first construction on, so that writing to a
    program that has exited is an error, not the end of the test.
*/
class external_program
{
public:
    /// Start `argv` (argv[0] is looked up in PATH) on `io`, which must outlive this object.
    /// @throws std::runtime_error if a pipe or fork() fails.
    external_program(boost::asio::io_context& io, std::vector<std::string> argv)
        : io_(io), state_(std::make_shared<state>(io))
    {
        std::signal(SIGPIPE, SIG_IGN);
        int in[2];
        int out[2];
        if (::pipe2(in, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe failed");
        if (::pipe2(out, O_CLOEXEC) != 0)
        {
            ::close(in[0]);
            ::close(in[1]);
            throw std::runtime_error("pipe failed");
        }
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("fork failed");
        if (pid_ == 0)
        {
            // The child: only async-signal-safe calls until exec.
            ::setpgid(0, 0);
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::dup2(out[1], 2);
            // Every other descriptor closed, the test's sockets included.
#ifdef SYS_close_range
            if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
                for (int fd = 3; fd < 4096; ++fd)
                    ::close(fd);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = in[1];
        state_->out.assign(out[0]);
        read(state_);
    }

    external_program(external_program const&) = delete;
    external_program& operator=(external_program const&) = delete;

    ~external_program()
    {
        if (stdin_ >= 0)
            ::close(stdin_);
        if (!status_)
        {
            ::kill(-pid_, SIGKILL);
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        boost::system::error_code ignored;
        state_->out.close(ignored); // the pending read ends; its handler holds the state
    }

    /// Write `text` to the program's stdin (a few KiB at most: the pipe holds them).
    /// @return False if the program no longer reads (it exited).
    bool send(std::string const& text)
    {
        for (std::size_t done = 0; done < text.size();)
        {
            ssize_t const n = ::write(stdin_, text.data() + done, text.size() - done);
            if (n <= 0)
                return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    /// Close the program's stdin: it reads EOF.
    void close_stdin()
    {
        if (stdin_ >= 0)
            ::close(stdin_);
        stdin_ = -1;
    }

    /// Run the io_context until the program's output contains `text`, at most `timeout`.
    /// @return Whether it does.
    bool wait_for(
        std::string const& text,
        std::chrono::steady_clock::duration timeout = std::chrono::seconds(20)
    )
    {
        return asynchat::testing::run_until(
                   io_,
                   [&] { return state_->output.find(text) != std::string::npos || state_->eof; },
                   timeout
               ) &&
               state_->output.find(text) != std::string::npos;
    }

    /** Run the io_context until the program has exited and all its output is read, at most
        `timeout`.

        @return Its exit status, 128 + the signal if a signal ended it, or nullopt at the
        deadline.
    */
    std::optional<int>
    wait_exit(std::chrono::steady_clock::duration timeout = std::chrono::seconds(20))
    {
        asynchat::testing::run_until(
            io_,
            [&]
            {
                if (!status_)
                {
                    int st = 0;
                    if (::waitpid(pid_, &st, WNOHANG) == pid_)
                        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
                return status_ && state_->eof;
            },
            timeout
        );
        return state_->eof ? status_ : std::nullopt;
    }

    /// Send the program `signal` (SIGTERM, say).
    void signal(int signal) { ::kill(pid_, signal); }

    /// Everything the program wrote so far, stdout and stderr interleaved.
    std::string const& output() const { return state_->output; }

private:
    // What the read in flight uses: it may outlive the object until the io_context runs it.
    struct state
    {
        explicit state(boost::asio::io_context& io) : out(io) {}
        boost::asio::posix::stream_descriptor out;
        std::string output;
        bool eof = false;
        char buffer[4096];
    };

    static void read(std::shared_ptr<state> const& s)
    {
        s->out.async_read_some(
            boost::asio::buffer(s->buffer),
            [s](boost::system::error_code ec, std::size_t n)
            {
                s->output.append(s->buffer, n);
                if (ec)
                    s->eof = true;
                else
                    read(s);
            }
        );
    }

    boost::asio::io_context& io_;
    std::shared_ptr<state> state_;
    pid_t pid_ = -1;
    int stdin_ = -1;
    std::optional<int> status_;
};

} // namespace asynchat::test

#endif
