/* e2e: one of a striped copy's connections dies mid-copy (REMORA_FAULT
 * close_after_bytes, set here before the first connection so that only the
 * client's writes count: every stripe of a 16 MiB copy over 4 streams
 * writes 4 MiB, the thread's own channel far less). The copy must fail with
 * an error, within seconds; nothing else may be lost: the session, memory
 * written before, and the thread's own channel go on, and later copies go
 * over that channel (striping off). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { KEPT = 1 << 20, BIG = 16 << 20 };

int main(void)
{
    setenv("REMORA_FAULT", "close_after_bytes:3145728", 1);
    setenv("REMORA_TCP_STREAMS", "4", 1);
    setenv("REMORA_STRIPE_MIN", "4194304", 1);
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr kept, big;
    uint8_t *want = malloc(KEPT), *got = malloc(BIG), *src = malloc(BIG);
    RM_EXPECT(want && got && src, "out of host memory");
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&kept, KEPT));
    CK(cuMemAlloc(&big, BIG));
    rm_fill_random(want, KEPT, 1);
    rm_fill_random(src, BIG, 2);
    CK(cuMemcpyHtoD(kept, want, KEPT)); /* not striped: the thread's channel */
    CK(cuMemsetD8(big, 0x5A, BIG));

    alarm(120); /* a hang fails the test instead of blocking CI */
    CUresult r = cuMemcpyHtoD(big, src, BIG);
    printf("# striped copy with its connections cut: %s\n", rm_err_name(r));
    RM_EXPECT(r != CUDA_SUCCESS, "a striped copy whose connections died reported success");

    /* nothing else is lost */
    CK(cuCtxSynchronize());
    memset(got, 0, KEPT);
    CK(cuMemcpyDtoH(got, kept, KEPT));
    rm_expect_bytes(got, want, KEPT, "memory written before the failed copy");
    CK(cuMemcpyDtoH(got, big, BIG)); /* big, but over one connection now */
    size_t written = 0;
    for (size_t i = 0; i < BIG; i++)
        RM_EXPECT(got[i] == src[i] || got[i] == 0x5A, "byte %zu is neither old nor new", i);
    for (size_t i = 0; i < BIG; i++)
        written += got[i] == src[i] && src[i] != 0x5A;
    printf("# %zu of %d bytes of the failed copy arrived\n", written, BIG);
    CUdeviceptr more;
    CK(cuMemAlloc(&more, KEPT));
    CK(cuMemcpyHtoD(more, want, KEPT));
    CK(cuMemcpyDtoH(got, more, KEPT));
    rm_expect_bytes(got, want, KEPT, "a copy after the failed one");
    CK(cuMemFree(more));
    CK(cuMemFree(big));
    CK(cuMemFree(kept));
    CK(cuDevicePrimaryCtxRelease(dev));
    (void)ctx;
    free(want);
    free(got);
    free(src);
    rm_pass("stripe_lost");
    return 0;
}
