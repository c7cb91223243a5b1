/* Waiting for child processes and describing how they ended. */
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

int rm_proc_wait(pid_t pid, int ms, int *status)
{
    const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
    for (int waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited >= ms)
            return 0;
        nanosleep(&tick, NULL);
    }
}

int rm_proc_exit_code(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

void rm_proc_describe(int status, char *out, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(out, len, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
