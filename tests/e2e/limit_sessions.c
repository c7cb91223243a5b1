/* e2e (remora only, server started with --max-sessions-per-peer=2): one
 * peer (this host's address over TCP, this user over shm) may hold two
 * sessions. This process and a child that keeps its session hold them; a
 * second child's session is refused with a clear error; once the first
 * child has gone, a third child gets a session again. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* In a forked child (a session of its own): 0 if cuInit succeeds. */
static int child_session(void)
{
    CUresult r = cuInit(0);
    int n = 0;
    if (r == CUDA_SUCCESS)
        r = cuDeviceGetCount(&n);
    return r == CUDA_SUCCESS ? 0 : 1;
}

static int run_child(void)
{
    fflush(stdout);
    pid_t pid = fork();
    RM_EXPECT(pid >= 0, "fork");
    if (pid == 0)
        _exit(child_session());
    int status = 0;
    RM_EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child");
    return WEXITSTATUS(status);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    int ready[2], release[2];
    RM_EXPECT(pipe(ready) == 0 && pipe(release) == 0, "pipe");
    fflush(stdout);
    pid_t holder = fork();
    RM_EXPECT(holder >= 0, "fork");
    if (holder == 0) { /* holds the second session until told */
        char c = child_session() == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(release[0], &c, 1) != 1)
            _exit(2);
        _exit(0);
    }
    char c = 0;
    RM_EXPECT(read(ready[0], &c, 1) == 1 && c == 'y', "the second session was refused");
    RM_EXPECT(run_child() == 1, "a third session from the same peer was let in");
    RM_EXPECT(write(release[1], "x", 1) == 1, "release");
    int status = 0;
    RM_EXPECT(waitpid(holder, &status, 0) == holder && WIFEXITED(status) && WEXITSTATUS(status) == 0, "holder");
    /* the holder's worker ends when its channels close; the listener then frees its place */
    int got = 1;
    for (int tries = 0; tries < 100 && (got = run_child()) != 0; tries++)
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    RM_EXPECT(got == 0, "no session again after the holder left");
    CUdeviceptr d;
    CK(cuMemAlloc(&d, 64)); /* this process's session was never disturbed */
    CK(cuMemFree(d));
    printf("PASS limit_sessions\n");
    return 0;
}
