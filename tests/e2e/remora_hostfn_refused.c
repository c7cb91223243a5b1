/* e2e (remora only): host functions the server cannot take (a stream
 * callback under stream capture, which CUDA refuses; a host function on a
 * stream handle that is not the session's) fail, are never run, and leave
 * nothing waiting: later copies, which wait for the host functions pending
 * on their stream, go on. */
#include "testutil.h"

#include <stdio.h>

static int ran;

static void CUDA_CB mark(void *p) { ran++; }
static void CUDA_CB mark_callback(CUstream s, CUresult status, void *p) { ran++; }

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUstream s;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CK(cuMemAlloc(&d, 64));

    CK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED));
    CK(cuStreamAddCallback(s, mark_callback, NULL, 0)); /* refused by the server: reported later */
    CUgraph g = NULL;
    CUresult r = cuStreamEndCapture(s, &g);
    RM_EXPECT(r != CUDA_SUCCESS, "capture with a refused host function fails (%d)", (int)r);

    CK(cuLaunchHostFunc((CUstream)(uintptr_t)0x0400000000000123ull, mark, NULL)); /* not a stream of ours */
    CK_EXPECT(cuCtxSynchronize(), CUDA_ERROR_INVALID_HANDLE); /* its error, deferred */
    unsigned char host[64] = {1};
    CK(cuMemcpyHtoD(d, host, sizeof host));      /* waits for host functions on every stream */
    CK(cuMemcpyHtoDAsync(d, host, sizeof host, s)); /* ...and on s */
    CK(cuStreamSynchronize(s));
    RM_EXPECT(ran == 0, "refused host functions never ran (%d)", ran);
    CK(cuMemFree(d));
    CK(cuStreamDestroy(s));
    printf("PASS remora_hostfn_refused\n");
    return 0;
}
