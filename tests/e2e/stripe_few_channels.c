/* e2e: a striped copy whose helpers cannot all connect (CTest starts the
 * server with --max-channels=2: the thread's own channel and one helper's).
 * The parts of the helpers that could not connect go over the thread's own
 * channel: the bytes arrive, the copies succeed, and later copies use one
 * connection. */
#include "testutil.h"

#include <stdlib.h>

enum { BYTES = (16 << 20) + 5 };

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    uint8_t *src = malloc(BYTES), *back = malloc(BYTES);
    RM_EXPECT(src && back, "out of host memory");
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, BYTES));
    for (int round = 0; round < 3; round++) {
        rm_fill_random(src, BYTES, (uint64_t)round);
        CK(cuMemcpyHtoD(d, src, BYTES));
        CK(cuMemcpyDtoH(back, d, BYTES));
        rm_expect_bytes(back, src, BYTES, "a round trip with helpers short of channels");
    }
    CK(cuMemFree(d));
    CK(cuDevicePrimaryCtxRelease(dev));
    (void)ctx;
    free(src);
    free(back);
    rm_pass("stripe_few_channels");
    return 0;
}
