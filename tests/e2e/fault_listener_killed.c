/* e2e (fault): only the listener dies (SIGKILL), not this session's
 * worker. The worker's control loop ends; it must go on serving the
 * channels it has (calls keep working, data intact) and only take no new
 * ones: a new thread's first call fails cleanly instead of hanging. */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BYTES = 1 << 16 };

static CUcontext ctx;

static void *new_thread(void *result)
{
    CUdeviceptr d = 0;
    CUresult r = cuCtxSetCurrent(ctx);
    if (r == CUDA_SUCCESS)
        r = cuMemAlloc(&d, 64);
    *(CUresult *)result = r;
    return NULL;
}

int main(void)
{
    const char *pid = getenv("RM_SERVER_PID");
    RM_EXPECT(pid && atoi(pid) > 0, "RM_SERVER_PID is not set: run through with_server.sh");
    CUdevice dev;
    CUdeviceptr d;
    static unsigned char in[BYTES], out[BYTES];
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, BYTES));
    alarm(60); /* a hang fails the test instead of blocking CI */
    RM_EXPECT(kill(atoi(pid), SIGKILL) == 0, "cannot signal the listener");
    usleep(200 * 1000); /* the worker sees its control socket hang up */
    for (int i = 0; i < 5; i++) {
        rm_fill_random(in, BYTES, (unsigned)i);
        CK(cuMemcpyHtoD(d, in, BYTES));
        CK(cuMemcpyDtoH(out, d, BYTES));
        rm_expect_bytes(out, in, BYTES, "round trip after the listener died");
    }
    CUresult r = CUDA_SUCCESS;
    pthread_t t;
    RM_EXPECT(pthread_create(&t, NULL, new_thread, &r) == 0 && pthread_join(t, NULL) == 0, "thread");
    RM_EXPECT(r != CUDA_SUCCESS, "a new channel was served with no listener");
    printf("new thread without a listener: %s\n", rm_err_name(r));
    CK(cuMemFree(d));
    rm_pass("listener_killed");
}
