/* e2e and GPU suite: copies big enough to be striped over several
 * connections (stripe.h: 4 MiB and more by default; CTest also runs this
 * with REMORA_STRIPE_MIN=1048576) move exactly the bytes an unstriped copy
 * moves: odd sizes, odd device and
 * host offsets, both directions, synchronous and async device-to-host, and
 * two threads striping at once (one of them finds the helpers busy and
 * copies over its own channel). Each range is checked against the bytes
 * read back in small (unstriped) pieces, and the bytes around it must stay
 * untouched. Over shm nothing is striped and all of it must hold too. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEV_BYTES = 24 << 20, SMALL = 256 << 10, GUARD = 0xA5 };

/* Device bytes [off, off + n) read back in pieces too small to stripe. */
static void read_small(uint8_t *dst, CUdeviceptr d, size_t n)
{
    for (size_t o = 0; o < n; o += SMALL)
        CK(cuMemcpyDtoH(dst + o, d + o, n - o < SMALL ? n - o : SMALL));
}

static void one_copy(CUdeviceptr base, size_t dev_off, size_t host_off, size_t n, int async, uint64_t seed)
{
    uint8_t *src = malloc(host_off + n), *back = malloc(host_off + n), *small = malloc(n + 2 * SMALL);
    RM_EXPECT(src && back && small, "out of host memory");
    rm_fill_random(src + host_off, n, seed);
    CK(cuMemsetD8(base, GUARD, DEV_BYTES));
    CK(cuMemcpyHtoD(base + dev_off, src + host_off, n)); /* striped when n is big enough */
    memset(back, 0, host_off + n);
    if (async) {
        CUstream s; /* a blocking stream: ordered after the memset and copy on the NULL stream */
        CK(cuStreamCreate(&s, CU_STREAM_DEFAULT));
        CK(cuMemcpyDtoHAsync(back + host_off, base + dev_off, n, s));
        CK(cuStreamSynchronize(s));
        CK(cuStreamDestroy(s));
    } else {
        CK(cuMemcpyDtoH(back + host_off, base + dev_off, n));
    }
    char what[96];
    snprintf(what, sizeof what, "%zu bytes at device +%zu, host +%zu (%s)", n, dev_off, host_off,
             async ? "async back" : "sync back");
    rm_expect_bytes(back + host_off, src + host_off, n, what);
    /* what an unstriped read sees: the range, and guard bytes either side */
    size_t lo = dev_off < SMALL ? dev_off : SMALL, hi = DEV_BYTES - dev_off - n < SMALL ? DEV_BYTES - dev_off - n : SMALL;
    read_small(small, base + dev_off - lo, lo + n + hi);
    rm_expect_bytes(small + lo, src + host_off, n, what);
    for (size_t i = 0; i < lo; i++)
        RM_EXPECT(small[i] == GUARD, "%s: byte %zu before the range changed", what, lo - i);
    for (size_t i = 0; i < hi; i++)
        RM_EXPECT(small[lo + n + i] == GUARD, "%s: byte %zu after the range changed", what, i);
    free(src);
    free(back);
    free(small);
}

typedef struct {
    CUcontext ctx;
    CUdeviceptr d;
    uint64_t seed;
} worker_t;

/* A thread of its own striping into its own buffer, several times. */
static void *worker(void *arg)
{
    worker_t *w = arg;
    enum { N = (6 << 20) + 333 };
    uint8_t *src = malloc(N), *back = malloc(N);
    RM_EXPECT(src && back, "out of host memory");
    CK(cuCtxSetCurrent(w->ctx));
    for (int i = 0; i < 4; i++) {
        rm_fill_random(src, N, w->seed + (uint64_t)i);
        CK(cuMemcpyHtoD(w->d, src, N));
        CK(cuMemcpyDtoH(back, w->d, N));
        rm_expect_bytes(back, src, N, "a thread's striped round trip");
    }
    free(src);
    free(back);
    return NULL;
}

static void two_threads(CUcontext ctx)
{
    worker_t w[2] = {{ctx, 0, 100}, {ctx, 0, 200}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CK(cuMemAlloc(&w[i].d, 7 << 20));
    for (int i = 0; i < 2; i++)
        RM_EXPECT(pthread_create(&t[i], NULL, worker, &w[i]) == 0, "pthread_create");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        CK(cuMemFree(w[i].d));
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, DEV_BYTES));
    static const struct {
        size_t dev_off, host_off, n;
    } cases[] = {
        {0, 0, 2 << 20},                     /* two parts of 1 MiB */
        {3, 1, (1 << 20) - 1},               /* just under it: not striped */
        {4097, 7, (4 << 20) + 13},           /* four parts, odd everything */
        {1, 0, (5 << 20) + 4093},
        {65536, 4095, (9 << 20) + 7},
        {5, 3, (16 << 20) + 1},              /* parts of several chunks... */
        {(24 << 20) - (17 << 20) - 1, 2, 17 << 20}, /* ...ending one byte before the end */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int async = 0; async < 2; async++)
            one_copy(d, cases[i].dev_off, cases[i].host_off, cases[i].n, async, 10 * i + (size_t)async);
    two_threads(ctx);
    CK(cuMemFree(d));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("striped_copies");
    return 0;
}
