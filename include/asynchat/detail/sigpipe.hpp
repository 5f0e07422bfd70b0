// asynchat: writing to a pipe or socket without letting SIGPIPE end the process
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_SIGPIPE_HPP
#define ASYNCHAT_DETAIL_SIGPIPE_HPP

#include <cerrno>
#include <csignal>
#include <ctime>
#include <pthread.h>

namespace asynchat::detail {

/** Call `write()` (a write(2) or sendfile(2) to a pipe or socket whose reader may be gone) with
    SIGPIPE blocked in this thread, and take back the SIGPIPE the call raised, so that it
    reports EPIPE instead of ending the process (SIGPIPE's default action). A process that
    ignores or blocks SIGPIPE itself, or had one pending already, is left as it was. CPython
    ignores SIGPIPE at start-up; an Asio program does not, and sockets use MSG_NOSIGNAL, which
    write(2) on a pipe and sendfile(2) do not have.

    @return What `write()` returned; errno is what the call left.
*/
template <class Write>
auto without_sigpipe(Write&& write) -> decltype(write())
{
    sigset_t pipe_only;
    sigset_t before;
    sigset_t pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
    ::sigpending(&pending);
    bool const ours = !sigismember(&before, SIGPIPE) && !sigismember(&pending, SIGPIPE);
    auto const result = write();
    int const err = errno;
    if (ours && ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
    {
        timespec const now{0, 0};
        while (::sigtimedwait(&pipe_only, nullptr, &now) < 0 && errno == EINTR)
        {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
    errno = err;
    return result;
}

} // namespace asynchat::detail

#endif
