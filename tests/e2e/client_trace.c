/* Calls whose REMORA_TRACE lines tests/e2e/trace.sh checks: a string
 * written by the call, an unimplemented call, a failing call, the legacy
 * ABI of a call remora implements over the newer one (only the call the
 * program made is shown), and a call from a second thread. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>

#undef cuDeviceGetUuid
CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev); /* the CUDA 9.2 ABI */

static void *second_thread(void *ctx)
{
    CUdeviceptr d;
    CK(cuCtxSetCurrent(ctx));
    CK(cuMemAlloc(&d, 4096));
    CK(cuMemFree(d));
    return NULL;
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    char name[64];
    char luid[8];
    unsigned mask;
    CUuuid uuid;
    pthread_t t;
    rm_test_init(&dev, &ctx);
    CK(cuDeviceGetName(name, sizeof name, dev));
    CK_EXPECT(cuDeviceGetLuid(luid, &mask, dev), CUDA_ERROR_NOT_SUPPORTED);
    CK_EXPECT(cuMemFree(0xdead0000), CUDA_ERROR_INVALID_VALUE);
    CK(cuDeviceGetUuid(&uuid, dev));
    RM_EXPECT(pthread_create(&t, NULL, second_thread, ctx) == 0, "pthread_create");
    RM_EXPECT(pthread_join(t, NULL) == 0, "pthread_join");
    rm_pass("client_trace");
    return 0;
}
