/* e2e: copies with REMORA_COMPRESS (src/client/zcopy.h) move exactly the
 * bytes: compressible data, incompressible data (sent as it is), and a mix
 * that changes from one 8 MiB chunk to the next, at odd sizes and offsets,
 * both directions, synchronous and async. compress.sh runs it per codec
 * and checks from REMORA_STATS that compressed messages were used. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEV_BYTES = 20 << 20 };

typedef enum { TEXT, RANDOM, MIXED } kind_t;

static void fill(uint8_t *p, size_t n, kind_t k, uint64_t seed)
{
    static const char words[] = "the quick remora rides the shark to the GPU ";
    rm_fill_random(p, n, seed);
    for (size_t i = 0; i < n; i++)
        if (k == TEXT || (k == MIXED && (i >> 23) % 2 == 0)) /* MIXED: every other 8 MiB */
            p[i] = (uint8_t)words[(i + seed) % (sizeof words - 1)];
}

static void one(CUdeviceptr d, size_t dev_off, size_t n, kind_t k, int async, uint64_t seed)
{
    uint8_t *src = malloc(n + 3), *back = malloc(n + 3);
    RM_EXPECT(src && back, "out of host memory");
    fill(src + 3, n, k, seed);
    memset(back, 0, n + 3);
    CUstream s = NULL;
    if (async)
        CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    if (async) {
        CK(cuMemcpyHtoDAsync(d + dev_off, src + 3, n, s));
        CK(cuMemcpyDtoHAsync(back + 1, d + dev_off, n, s));
        CK(cuStreamSynchronize(s));
        CK(cuStreamDestroy(s));
    } else {
        CK(cuMemcpyHtoD(d + dev_off, src + 3, n));
        CK(cuMemcpyDtoH(back + 1, d + dev_off, n));
    }
    char what[96];
    snprintf(what, sizeof what, "%zu bytes (%s, %s) at device +%zu", n, k == TEXT ? "text" : k == RANDOM ? "random" : "mixed",
             async ? "async" : "sync", dev_off);
    rm_expect_bytes(back + 1, src + 3, n, what);
    free(src);
    free(back);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, DEV_BYTES));
    static const size_t sizes[] = {(64 << 10) + 1, (1 << 20) + 7, (8 << 20) + 3, (17 << 20) + 5};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int k = TEXT; k <= MIXED; k++)
            for (int async = 0; async < 2; async++)
                one(d, 1 + i * 4095, sizes[i], (kind_t)k, async, i * 10 + (size_t)k);
    CK(cuMemFree(d));
    CK(cuDevicePrimaryCtxRelease(dev));
    (void)ctx;
    rm_pass("compress_copies");
    return 0;
}
