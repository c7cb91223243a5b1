/* e2e (fault): the server goes away under a running client. The client's
 * next calls must fail with an error (and a log line) within seconds, never
 * hang, and keep failing cleanly. Stops the server named by RM_SERVER_PID
 * (with_server.sh exports it), so it only runs in the e2e suite. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { BYTES = 1 << 20 };

int main(void)
{
    const char *pid = getenv("RM_SERVER_PID");
    RM_EXPECT(pid && atoi(pid) > 0, "RM_SERVER_PID is not set: run through with_server.sh");
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    static unsigned char buf[BYTES];
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, BYTES));
    CK(cuMemcpyHtoD(d, buf, BYTES));

    alarm(60); /* a hang fails the test instead of blocking CI */
    RM_EXPECT(kill(atoi(pid), SIGTERM) == 0, "cannot signal the server");
    CUresult r = CUDA_SUCCESS;
    double start = rm_now_us();
    while (r == CUDA_SUCCESS && rm_now_us() - start < 30e6) {
        r = cuMemcpyHtoD(d, buf, BYTES);
        if (r == CUDA_SUCCESS)
            usleep(10000);
    }
    RM_EXPECT(r != CUDA_SUCCESS, "calls kept succeeding after the server stopped");
    printf("first failure: %s\n", rm_err_name(r));
    CUresult again = cuCtxSynchronize();
    RM_EXPECT(again != CUDA_SUCCESS, "a later call succeeded");
    printf("later call: %s\n", rm_err_name(again));
    rm_pass("server_killed");
    return 0;
}
