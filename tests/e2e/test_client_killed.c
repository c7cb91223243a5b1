/* e2e: a client killed mid-copy — a forked child (forked before any CUDA call)
 * allocates 256 MiB and copies in a loop until the parent SIGKILLs it. The
 * parent's own copies must keep working and verifying before, during and after
 * the kill, and device free memory must come back to where it was before the
 * child started (through remora: the server frees a dead session's memory). */
#define _GNU_SOURCE
#include "testutil.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    CHILD_BYTES = 256 << 20,
    CHILD_CHUNK = 64 << 20,
    PARENT_BYTES = 1 << 20,
    ITERATIONS_AFTER_KILL = 300,
    KILL_AFTER_MS = 300,
    RECOVER_TIMEOUT_MS = 5000,
};
static const size_t recover_margin = 32u << 20; /* bytes of free memory allowed to stay used */

static void write_byte(int fd)
{
    char c = 1;
    RM_EXPECT(write(fd, &c, 1) == 1, "pipe write");
}

/* Wait up to timeout_ms for one byte on fd; 0 if none came. */
static int read_byte(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, timeout_ms) == 1 && read(fd, &c, 1) == 1;
}

/* Child: wait for the parent's go, allocate, report ready, copy until killed. */
static void child_main(int go_fd, int ready_fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed parent */
    if (getppid() != parent || !read_byte(go_fd, 60000))
        _exit(3);
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    void *host = rm_host_alloc(RM_HOST_PINNED, CHILD_CHUNK);
    rm_fill_random(host, CHILD_CHUNK, 11);
    CK(cuMemAlloc(&d, CHILD_BYTES));
    CK(cuMemcpyHtoD(d, host, CHILD_CHUNK));
    write_byte(ready_fd);
    for (size_t off = 0;; off = (off + CHILD_CHUNK) % CHILD_BYTES) {
        CK(cuMemcpyHtoD(d + off, host, CHILD_CHUNK));
        CK(cuMemcpyDtoH(host, d + off, CHILD_CHUNK));
    }
}

static pid_t start_child(int *go_fd, int *ready_fd)
{
    int go[2], ready[2];
    pid_t parent = getpid();
    RM_EXPECT(pipe(go) == 0 && pipe(ready) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    RM_EXPECT(pid >= 0, "fork");
    if (pid == 0) {
        close(go[1]);
        close(ready[0]);
        child_main(go[0], ready[1], parent);
    }
    close(go[0]);
    close(ready[1]);
    *go_fd = go[1];
    *ready_fd = ready[0];
    return pid;
}

/* The parent's unit of work: a 1 MiB round trip through the device, verified. */
static void parent_iteration(CUdeviceptr d, unsigned char *in, unsigned char *out, uint64_t i)
{
    rm_fill_random(in, PARENT_BYTES, i);
    CK(cuMemcpyHtoD(d, in, PARENT_BYTES));
    CK(cuMemcpyDtoH(out, d, PARENT_BYTES));
    rm_expect_bytes(out, in, PARENT_BYTES, "parent round trip");
}

static size_t free_memory(void)
{
    size_t free_mem = 0, total = 0;
    CK(cuMemGetInfo(&free_mem, &total));
    return free_mem;
}

/* Poll until free memory is back within the margin of `before`; 1 on success. */
static int wait_memory_recovered(size_t before)
{
    double deadline = rm_now_us() + RECOVER_TIMEOUT_MS * 1e3;
    size_t now;
    while ((now = free_memory()) + recover_margin < before && rm_now_us() < deadline)
        usleep(20000);
    printf("# free memory before child %zu MiB, after kill %zu MiB\n", before >> 20, now >> 20);
    return now + recover_margin >= before;
}

int main(void)
{
    int go_fd, ready_fd, status;
    pid_t child = start_child(&go_fd, &ready_fd);

    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    uint64_t iter = 0;
    rm_test_init(&dev, &ctx);
    unsigned char *in = rm_host_alloc(RM_HOST_PINNED, PARENT_BYTES);
    unsigned char *out = rm_host_alloc(RM_HOST_PAGEABLE, PARENT_BYTES);
    CK(cuMemAlloc(&d, PARENT_BYTES));
    parent_iteration(d, in, out, iter++);
    size_t before = free_memory();

    write_byte(go_fd);
    RM_EXPECT(read_byte(ready_fd, 60000), "child never became ready");
    printf("# free memory with child running %zu MiB\n", free_memory() >> 20);
    for (double end = rm_now_us() + KILL_AFTER_MS * 1e3; rm_now_us() < end;)
        parent_iteration(d, in, out, iter++);
    RM_EXPECT(kill(child, SIGKILL) == 0, "kill");
    RM_EXPECT(waitpid(child, &status, 0) == child, "waitpid");
    RM_EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "child ended on its own (status %#x) before the kill", status);

    for (int i = 0; i < ITERATIONS_AFTER_KILL; i++)
        parent_iteration(d, in, out, iter++);
    RM_EXPECT(wait_memory_recovered(before), "device memory not freed after the child died");
    printf("# parent iterations %llu\n", (unsigned long long)iter);
    printf("parent survived child kill\n");

    CK(cuMemFree(d));
    rm_host_free(RM_HOST_PINNED, in);
    rm_host_free(RM_HOST_PAGEABLE, out);
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("client_killed");
    return 0;
}
