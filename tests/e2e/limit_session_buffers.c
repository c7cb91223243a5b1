/* e2e (remora only, with remora-server --session-buffers=32M): the host
 * memory one session's request buffers may hold is bounded. A 48 MiB module
 * image (one request) does not fit and is answered
 * CUDA_ERROR_OUT_OF_MEMORY; the session goes on unharmed (a copy round-trips,
 * a 12 MiB image loads), and two threads loading 6 MiB images at once fit
 * as well (a channel's buffer grows in powers of two: 8 MiB each). */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { MIB = 1 << 20 };

static CUcontext ctx;

static CUresult load_image(size_t bytes)
{
    char *text = rm_test_text_image(bytes, "limit_session_buffers");
    CUmodule mod;
    CUresult r = cuModuleLoadData(&mod, text);
    free(text);
    if (r == CUDA_SUCCESS)
        CK(cuModuleUnload(mod));
    return r;
}

static void *load_6m(void *unused)
{
    (void)unused;
    CK(cuCtxSetCurrent(ctx));
    CK(load_image(6 * MIB));
    return NULL;
}

int main(void)
{
    CUdevice dev;
    rm_test_init(&dev, &ctx);
    setenv("REMORA_MODULE_CACHE_MIN", "1000000000", 1); /* images sent whole, not by hash */
    CK_EXPECT(load_image(48 * MIB), CUDA_ERROR_OUT_OF_MEMORY);

    unsigned char in[4096], out[4096];
    rm_fill_random(in, sizeof in, 5);
    CUdeviceptr d;
    CK(cuMemAlloc(&d, sizeof in));
    CK(cuMemcpyHtoD(d, in, sizeof in));
    CK(cuMemcpyDtoH(out, d, sizeof out));
    rm_expect_bytes(out, in, sizeof in, "copy after the refused request");
    CK(cuMemFree(d));
    CK(load_image(12 * MIB));

    pthread_t t;
    RM_EXPECT(pthread_create(&t, NULL, load_6m, NULL) == 0, "pthread_create");
    CK(load_image(6 * MIB));
    RM_EXPECT(pthread_join(t, NULL) == 0, "pthread_join");
    printf("PASS limit_session_buffers\n");
    return 0;
}
