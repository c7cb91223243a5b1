/* e2e (remora only): a client process forks after using CUDA. The child is
 * a new client with a session of its own (natively, CUDA in such a child is
 * not supported); the parent's session is untouched, and the child does not
 * hold the parent's connections. */
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

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr kept;
    unsigned value = 0;
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
    CK(cuMemFree(kept));
    rm_pass("fork");
    return 0;
}
