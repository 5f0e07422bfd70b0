// asynchat: test fixtures: a forked child process that reports by lines, descriptor exhaustion
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_CHILD_PROCESS_HPP
#define ASYNCHAT_TEST_SUPPORT_CHILD_PROCESS_HPP

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <exception>
#include <fcntl.h>
#include <functional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace asynchat::test {

/** A forked child process that runs `body` and reports to the parent through a pipe.

    For what must not happen to the test process itself, such as lowering RLIMIT_NOFILE. The
    child writes lines with report() (and what it prints, after report_output()); the parent
    reads them with read_line() or read_line_with(), each read with a deadline. The child ends with
   _exit() (0 after `body`, 1 if it threw, after reporting "exception: <what>"), so no test
   framework teardown runs twice. Fork only while the test process has one thread. The destructor
   kills a child that is still running.
*/
class child_process
{
public:
    explicit child_process(std::function<void()> body)
    {
        int fds[2];
        if (::pipe(fds) != 0)
            throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("fork failed");
        if (pid_ == 0)
        {
            ::close(fds[0]);
            report_fd() = fds[1];
            int status = 0;
            try
            {
                body();
            }
            catch (std::exception const& e)
            {
                report(std::string("exception: ") + e.what());
                status = 1;
            }
            ::_exit(status);
        }
        ::close(fds[1]);
        from_child_ = fds[0];
    }

    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    ~child_process()
    {
        if (pid_ > 0)
        {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(from_child_);
    }

    /// In the child: write `line` and a newline to the parent.
    static void report(std::string line)
    {
        line += '\n';
        for (std::size_t done = 0; done < line.size();)
        {
            ssize_t const n = ::write(report_fd(), line.data() + done, line.size() - done);
            if (n <= 0)
                return;
            done += static_cast<std::size_t>(n);
        }
    }

    /// In the child: send what it prints (stdout, stderr) to the parent too, as lines.
    static void report_output()
    {
        std::fflush(stdout);
        ::dup2(report_fd(), STDOUT_FILENO);
        ::dup2(report_fd(), STDERR_FILENO);
    }

    /// The next line the child reported that contains `text`, skipping others; "" after
    /// `timeout` or at EOF.
    std::string read_line_with(
        std::string const& text,
        std::chrono::steady_clock::duration timeout = std::chrono::seconds(10)
    )
    {
        auto const deadline = std::chrono::steady_clock::now() + timeout;
        std::string line;
        while (next_line(deadline, line))
            if (line.find(text) != std::string::npos)
                return line;
        return {};
    }

    /// The next line the child reported, without its newline; "" after `timeout` or at EOF.
    std::string read_line(std::chrono::steady_clock::duration timeout = std::chrono::seconds(10))
    {
        std::string line;
        next_line(std::chrono::steady_clock::now() + timeout, line);
        return line;
    }

private:
    // Takes the next whole line into `line`; false at the deadline or EOF.
    bool next_line(std::chrono::steady_clock::time_point deadline, std::string& line)
    {
        for (;;)
        {
            auto const end = buffer_.find('\n');
            if (end != std::string::npos)
            {
                line = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return true;
            }
            auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()
            );
            pollfd p{from_child_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                return false;
            char chunk[512];
            ssize_t const n = ::read(from_child_, chunk, sizeof chunk);
            if (n <= 0)
                return false;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    static int& report_fd()
    {
        static int fd = -1;
        return fd;
    }

    pid_t pid_ = -1;
    int from_child_ = -1;
    std::string buffer_;
};

/** In a child process: lower the soft RLIMIT_NOFILE so that exactly `spare` more descriptors
    can be opened (as `prlimit --nofile=N` does for a program). Descriptors are numbered from
    the lowest free one, so the limit leaves `spare` free numbers below it; descriptors open
    above it (a shell's 255, say) stay open.
*/
inline void limit_descriptors(int spare)
{
    std::vector<int> open_now;
    if (DIR* d = ::opendir("/proc/self/fd"))
    {
        int const own = ::dirfd(d);
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.' && std::atoi(e->d_name) != own)
                open_now.push_back(std::atoi(e->d_name));
        ::closedir(d);
    }
    int limit = 0;
    for (int free_below = 0; free_below < spare; ++limit)
        if (std::find(open_now.begin(), open_now.end(), limit) == open_now.end())
            ++free_below;
    rlimit r{};
    ::getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = static_cast<rlim_t>(limit);
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0)
        throw std::runtime_error("setrlimit(RLIMIT_NOFILE) failed");
}

/** Open /dev/null until open() fails (EMFILE): every descriptor is then in use. Returns them.

    Under UBSan, the first check of each dynamic type (a virtual call, a member call through a
    base) opens a pipe, and reports a bad vptr when it cannot: have the code that will run while
    descriptors are exhausted run once before (the checks are cached), or its children fail.
*/
inline std::vector<int> exhaust_descriptors()
{
    std::vector<int> held;
    for (int i = 0; i < 100000; ++i)
    {
        int const fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return held;
        held.push_back(fd);
    }
    throw std::runtime_error("exhaust_descriptors: no limit (call limit_descriptors() first)");
}

/// Close what exhaust_descriptors() opened.
inline void release_descriptors(std::vector<int>& held)
{
    for (int fd : held)
        ::close(fd);
    held.clear();
}

} // namespace asynchat::test

#endif
