/* e2e (fault): one session's worker is SIGKILLed while its client copies.
 * That client's next call must fail with a CUDA error within seconds (never
 * hang); this process's own session, served by another worker, must keep
 * working throughout; the listener must reap the dead worker and give back
 * its descriptors (its fd count back to what it was); and a new session
 * must be served after it. Finds the workers as the listener's children
 * (RM_SERVER_PID, exported by with_server.sh). */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CHUNK = 4 << 20, MAX_WORKERS = 64 };

static int listener;

/* The listener's children: their pids in out[], how many. */
static int workers(int out[MAX_WORKERS])
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", listener, listener);
    FILE *f = fopen(path, "r");
    RM_EXPECT(f != NULL, "cannot read %s", path);
    int n = 0;
    while (n < MAX_WORKERS && fscanf(f, "%d", &out[n]) == 1)
        n++;
    fclose(f);
    return n;
}

static int listener_fds(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", listener);
    DIR *d = opendir(path);
    RM_EXPECT(d != NULL, "cannot read %s", path);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void round_trip(CUdeviceptr d, unsigned seed, const char *what)
{
    static unsigned char in[1 << 16], out[1 << 16];
    rm_fill_random(in, sizeof in, seed);
    CK(cuMemcpyHtoD(d, in, sizeof in));
    CK(cuMemcpyDtoH(out, d, sizeof out));
    rm_expect_bytes(out, in, sizeof in, what);
}

/* A child process (forked before any CUDA call): a session of its own that
 * copies until a call fails; it writes that call's error name to report. */
static void victim_main(int go, int ready, int report)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char c;
    if (read(go, &c, 1) != 1)
        _exit(3);
    alarm(60); /* a hang fails the test instead of blocking CI */
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    void *host = malloc(CHUNK);
    RM_EXPECT(host != NULL, "malloc");
    rm_fill_random(host, CHUNK, 3);
    CK(cuMemAlloc(&d, CHUNK));
    RM_EXPECT(write(ready, "r", 1) == 1, "pipe");
    CUresult r;
    while ((r = cuMemcpyHtoD(d, host, CHUNK)) == CUDA_SUCCESS && (r = cuMemcpyDtoH(host, d, CHUNK)) == CUDA_SUCCESS)
        ;
    const char *name = rm_err_name(r);
    RM_EXPECT(write(report, name, strlen(name)) == (ssize_t)strlen(name), "pipe");
    _exit(0);
}

/* Another child: a new session once the worker is gone. */
static void late_main(int go, int ready, int report)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char c;
    if (read(go, &c, 1) != 1)
        _exit(3);
    alarm(60);
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, 1 << 16));
    round_trip(d, 4, "a new session after the worker died");
    CK(cuMemFree(d));
    (void)ready, (void)report;
    _exit(0);
}

static pid_t fork_child(void (*child_main)(int, int, int), int *go, int *ready, int *report)
{
    int g[2], r[2], p[2];
    RM_EXPECT(pipe(g) == 0 && pipe(r) == 0 && pipe(p) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    RM_EXPECT(pid >= 0, "fork");
    if (pid == 0) {
        close(g[1]), close(r[0]), close(p[0]);
        child_main(g[0], r[1], p[1]);
    }
    close(g[0]), close(r[1]), close(p[1]);
    *go = g[1], *ready = r[0], *report = p[0];
    return pid;
}

static int wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

int main(void)
{
    const char *pid = getenv("RM_SERVER_PID");
    RM_EXPECT(pid && atoi(pid) > 0, "RM_SERVER_PID is not set: run through with_server.sh");
    listener = atoi(pid);
    int go, ready, report, late_go, unused1, unused2;
    pid_t victim = fork_child(victim_main, &go, &ready, &report); /* before any CUDA call */
    pid_t late = fork_child(late_main, &late_go, &unused1, &unused2);

    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, 1 << 16));
    round_trip(d, 1, "before");
    int mine[MAX_WORKERS], all[MAX_WORKERS];
    RM_EXPECT(workers(mine) == 1, "expected only this session's worker");
    int fds_before = listener_fds();

    RM_EXPECT(write(go, "g", 1) == 1, "pipe");
    RM_EXPECT(wait_readable(ready, 60000), "the victim session did not start");
    int n = workers(all), worker = 0;
    for (int i = 0; i < n; i++)
        if (all[i] != mine[0])
            worker = all[i];
    RM_EXPECT(worker > 0, "the victim's worker is not among the listener's children");
    usleep(100 * 1000); /* mid-copy */
    RM_EXPECT(kill(worker, SIGKILL) == 0, "cannot kill worker %d", worker);
    round_trip(d, 2, "own session while another's worker dies");

    RM_EXPECT(wait_readable(report, 30000), "the victim's calls did not fail within 30 s of its worker's death");
    char err[64] = {0};
    RM_EXPECT(read(report, err, sizeof err - 1) > 0, "no error from the victim");
    int status;
    RM_EXPECT(waitpid(victim, &status, 0) == victim && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the victim did not exit cleanly");
    printf("call after the worker died: %s\n", strncmp(err, "CUDA_ERROR_", 11) == 0 ? "a CUDA error" : err);

    int left = 2, fds = 0;
    for (int i = 0; i < 100 && (left != 1 || fds != fds_before); i++) {
        usleep(50 * 1000);
        left = workers(all), fds = listener_fds();
    }
    RM_EXPECT(left == 1, "the listener did not reap the dead worker (%d children)", left);
    RM_EXPECT(fds == fds_before, "listener fds %d, %d before the victim", fds, fds_before);
    round_trip(d, 3, "after");
    RM_EXPECT(write(late_go, "g", 1) == 1, "pipe");
    RM_EXPECT(waitpid(late, &status, 0) == late && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "a new session after the worker died failed");
    CK(cuMemFree(d));
    rm_pass("worker_killed");
}
