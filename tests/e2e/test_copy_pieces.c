/* e2e and GPU suite: copies cut into pieces that the server pipelines
 * (src/server/sv_bulk.c): host-to-device pieces DMA'd from page-locked
 * slots while the next arrive, device-to-host replies sent piece by piece
 * as they land. Sizes around the piece and slot sizes (1 MiB pieces, 4
 * slots, 8 MiB replies) at odd host offsets, both ways; a copy over one
 * just made; device work right after a copy (it must see every piece);
 * an async device-to-host copy on a stream behind a memset; a refused copy
 * in the middle, after which copies go on. CTest also runs it with
 * REMORA_TCP_STREAMS=1, so that one connection's slots go round many times. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEV_BYTES = 40 << 20, MIB = 1 << 20 };

static uint8_t *host_buf(size_t n) /* n bytes at an odd offset of their own allocation */
{
    uint8_t *p = malloc(n + 8);
    RM_EXPECT(p, "out of host memory");
    return p + 3;
}

static void host_free(uint8_t *p) { free(p - 3); }

static void round_trip(CUdeviceptr d, size_t n, uint64_t seed)
{
    uint8_t *src = host_buf(n), *back = host_buf(n);
    rm_fill_random(src, n, seed);
    memset(back, 0, n);
    CK(cuMemcpyHtoD(d, src, n));
    CK(cuMemcpyDtoH(back, d, n));
    char what[64];
    snprintf(what, sizeof what, "round trip of %zu bytes", n);
    rm_expect_bytes(back, src, n, what);
    host_free(src);
    host_free(back);
}

/* B copied over the middle of A just copied: A's pieces all landed first. */
static void overlay(CUdeviceptr d)
{
    size_t n = 9 * MIB + 5, at = MIB / 2 + 1, m = 5 * MIB + 7;
    uint8_t *a = host_buf(n), *b = host_buf(m), *back = host_buf(n);
    rm_fill_random(a, n, 101);
    rm_fill_random(b, m, 102);
    CK(cuMemcpyHtoD(d, a, n));
    CK(cuMemcpyHtoD(d + at, b, m));
    memcpy(a + at, b, m);
    CK(cuMemcpyDtoH(back, d, n));
    rm_expect_bytes(back, a, n, "a copy over one just made");
    host_free(a);
    host_free(b);
    host_free(back);
}

/* A device-to-device copy and a memset right after a piecewise copy. */
static void device_work_after(CUdeviceptr d)
{
    size_t n = 6 * MIB + 11;
    uint8_t *src = host_buf(n), *back = host_buf(n);
    rm_fill_random(src, n, 103);
    CK(cuMemcpyHtoD(d, src, n));
    CK(cuMemcpyDtoD(d + 20 * MIB, d, n));
    CK(cuMemsetD8(d, 0x5A, 3));
    CK(cuMemcpyDtoH(back, d + 20 * MIB, n));
    rm_expect_bytes(back, src, n, "a device copy of what just arrived");
    CK(cuMemcpyDtoH(back, d, n));
    memset(src, 0x5A, 3);
    rm_expect_bytes(back, src, n, "a memset over what just arrived");
    host_free(src);
    host_free(back);
}

/* An async device-to-host copy on a stream, behind a memset on it. */
static void async_back(CUdeviceptr d)
{
    size_t n = 8 * MIB + 3;
    uint8_t *want = host_buf(n), *back = host_buf(n);
    CUstream s;
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CK(cuMemsetD8Async(d + 1, 0xC3, n, s));
    CK(cuMemcpyDtoHAsync(back, d + 1, n, s));
    CK(cuStreamSynchronize(s));
    memset(want, 0xC3, n);
    rm_expect_bytes(back, want, n, "an async copy behind a memset");
    CK(cuStreamDestroy(s));
    host_free(want);
    host_free(back);
}

/* A copy past the allocation is refused; the next ones work (its pieces'
 * failures were left for the next call, from 8 MiB up). */
static void refused_then_more(CUdeviceptr d)
{
    size_t n = 12 * MIB;
    uint8_t *buf = host_buf(n);
    rm_fill_random(buf, n, 104);
    RM_EXPECT(cuMemcpyHtoD(d + DEV_BYTES - MIB, buf, n) != CUDA_SUCCESS, "a copy past the allocation succeeded");
    RM_EXPECT(cuMemcpyDtoH(buf, d + DEV_BYTES - MIB, n) != CUDA_SUCCESS, "a copy past the allocation succeeded");
    host_free(buf);
    round_trip(d, 5 * MIB + 1, 105);
    round_trip(d, 17 * MIB + 1, 106);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, DEV_BYTES));
    static const size_t sizes[] = {MIB - 1, MIB, MIB + 1, 2 * MIB + 3, 4 * MIB - 1, 8 * MIB, 8 * MIB + 1,
                                   13 * MIB + 4093, 33 * MIB + 17};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        round_trip(d, sizes[i], i + 1);
    overlay(d);
    device_work_after(d);
    async_back(d);
    refused_then_more(d);
    CK(cuMemFree(d));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("copy_pieces");
    return 0;
}
