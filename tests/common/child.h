/* A second client process for the IPC programs: this program run again
 * as "--child ARG ARG", with handles passed as hex digits. Header-only: C
 * and CUDA C++ use it. */
#ifndef RM_TEST_CHILD_H
#define RM_TEST_CHILD_H

#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* out holds 2 * n + 1 characters. */
static inline void rm_to_hex(const void *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", ((const unsigned char *)p)[i]);
}

/* False unless hex is exactly 2 * n hex digits. */
static inline bool rm_from_hex(const char *hex, void *p, size_t n)
{
    if (strlen(hex) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        ((unsigned char *)p)[i] = (unsigned char)v;
    }
    return true;
}

/* Runs this program as "--child a b" in the same environment and waits
 * for it: its exit status, or -1 when it could not start or did not exit. */
static inline int rm_run_child(char *a, char *b)
{
    char self[4096], flag[] = "--child";
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return -1;
    self[len] = 0;
    char *args[] = {self, flag, a, b, NULL};
    pid_t pid;
    int status = 0;
    if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
