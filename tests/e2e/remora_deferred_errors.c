/* e2e (remora only): the error of an async call is reported by the next
 * synchronising call, once; calls in between that create things (memory,
 * streams) succeed and keep what they made. (Natively the bad async call
 * itself would fail, so this runs only through remora.) */
#include "testutil.h"

#include <stdio.h>

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    CUstream s;
    unsigned v = 0;
    rm_test_init(&dev, &ctx);
    /* an async memset on memory the session does not own: queued */
    CK(cuMemsetD32Async((CUdeviceptr)0x1000, 1, 16, NULL));
    /* a creating call in between is not handed the deferred error */
    CK(cuMemAlloc(&d, 64));
    CK(cuStreamCreate(&s, 0));
    CK(cuMemsetD32Async(d, 0xfeedu, 16, s));
    /* the synchronising call reports it, once */
    CK_EXPECT(cuStreamSynchronize(s), CUDA_ERROR_INVALID_VALUE);
    CK(cuStreamSynchronize(s));
    CK(cuMemcpyDtoH(&v, d, 4));
    RM_EXPECT(v == 0xfeedu, "memory reads %#x", v);
    CK(cuStreamDestroy(s));
    CK(cuMemFree(d));
    rm_pass("deferred_errors");
    return 0;
}
