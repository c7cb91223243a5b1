/* e2e (remora only): a client process forks after using CUDA. The child is
 * a new client with a session of its own (natively, CUDA in such a child is
 * not supported); the parent's session is untouched, and the child does not
 * hold the parent's connections. Then it forks a child that execs this
 * program again ("--exec-child"), which uses CUDA from a fresh image: it
 * inherits the environment (under remora run: the library path and the
 * server), and the parent's session still works after it. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { N = 1 << 16 };

static void round_trip(unsigned seed)
{
    static unsigned char in[N], out[N];
    CUdeviceptr d;
    rm_fill_random(in, N, seed);
    CK(cuMemAlloc(&d, N));
    CK(cuMemcpyHtoD(d, in, N));
    CK(cuMemcpyDtoH(out, d, N));
    rm_expect_bytes(out, in, N, "round trip");
    CK(cuMemFree(d));
}

/* fork, then exec this program as "--exec-child"; its exit status. */
static int fork_exec_child(void)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    RM_EXPECT(len > 0, "readlink /proc/self/exe");
    self[len] = 0;
    fflush(stdout);
    pid_t pid = fork();
    RM_EXPECT(pid >= 0, "fork");
    if (pid == 0) {
        execl(self, self, "--exec-child", (char *)NULL);
        _exit(127);
    }
    int status;
    RM_EXPECT(waitpid(pid, &status, 0) == pid, "waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int exec_child_main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    RM_EXPECT(rm_test_is_remora(), "the exec'd child does not use remora (no REMORA_SERVER)");
    round_trip(9);
    printf("exec child ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr kept;
    unsigned value = 0;
    if (argc > 1 && strcmp(argv[1], "--exec-child") == 0)
        return exec_child_main();
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&kept, 4));
    CK(cuMemsetD32(kept, 0x1234u, 1));
    pid_t pid = fork();
    RM_EXPECT(pid >= 0, "fork");
    if (pid == 0) {
        CUdevice cdev;
        CUcontext cctx;
        rm_test_init(&cdev, &cctx);
        round_trip(7);
        /* the parent's allocation is not the child's */
        RM_EXPECT(cuMemFree(kept) != CUDA_SUCCESS, "child freed the parent's memory");
        _exit(0);
    }
    int status;
    RM_EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "child failed (status %#x)", status);
    round_trip(8);
    CK(cuMemcpyDtoH(&value, kept, 4));
    RM_EXPECT(value == 0x1234u, "parent memory reads %#x after the child", value);
    int code = fork_exec_child();
    RM_EXPECT(code == 0, "the exec'd child exited with %d", code);
    round_trip(10);
    CK(cuMemcpyDtoH(&value, kept, 4));
    RM_EXPECT(value == 0x1234u, "parent memory reads %#x after the exec'd child", value);
    CK(cuMemFree(kept));
    rm_pass("fork");
    return 0;
}
