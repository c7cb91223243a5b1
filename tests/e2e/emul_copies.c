/* e2e: the network emulator charges its rate to copies whatever carries
 * their bytes — the stream (tcp), or shared segments beside it (shm:
 * page-locked memory in a segment, pageable memory staged through one).
 * Run with REMORA_EMULATE=bw=1Gbit: each 4 MiB copy, host to device and
 * back, pageable and page-locked, must take at least 4 MiB at 1 Gbit/s
 * (33.6 ms). Like unit.test_emul_accuracy, only that lower bound is
 * asserted (load can make a copy slower, never faster); the times are
 * printed. The bytes must arrive intact too. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BYTES = 4 << 20 };
static const double link_bits_per_s = 1e9; /* the REMORA_EMULATE the test runs with */

static void copy_both_ways(enum rm_host_kind kind, CUdeviceptr d)
{
    uint8_t *h = rm_host_alloc(kind, BYTES), *want = malloc(BYTES);
    RM_EXPECT(h && want, "out of host memory");
    rm_fill_random(want, BYTES, 7);
    memcpy(h, want, BYTES);
    double least_us = BYTES * 8.0 / link_bits_per_s * 1e6, t0 = rm_now_us();
    CK(cuMemcpyHtoD(d, h, BYTES));
    double up = rm_now_us() - t0;
    memset(h, 0, BYTES);
    t0 = rm_now_us();
    CK(cuMemcpyDtoH(h, d, BYTES));
    double down = rm_now_us() - t0;
    rm_expect_bytes(h, want, BYTES, "4 MiB after the round trip");
    printf("# %s: 4 MiB up %.1f ms, down %.1f ms (the link alone: %.1f ms)\n", rm_host_kind_name(kind),
           up / 1e3, down / 1e3, least_us / 1e3);
    RM_EXPECT(up >= least_us, "%s: 4 MiB up in %.1f ms, faster than the emulated link allows",
           rm_host_kind_name(kind), up / 1e3);
    RM_EXPECT(down >= least_us, "%s: 4 MiB down in %.1f ms, faster than the emulated link allows",
           rm_host_kind_name(kind), down / 1e3);
    rm_host_free(kind, h);
    free(want);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    CUdeviceptr d;
    CK(cuMemAlloc(&d, BYTES));
    copy_both_ways(RM_HOST_PAGEABLE, d);
    copy_both_ways(RM_HOST_PINNED, d);
    CK(cuMemFree(d));
    CK(cuDevicePrimaryCtxRelease(dev));
    (void)ctx;
    rm_pass("emul_copies");
    return 0;
}
