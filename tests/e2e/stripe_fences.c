/* e2e (stripe_fences.sh): synchronous host-to-device copies big enough to
 * be striped, with nothing asynchronous around them but the context set at
 * the start: the parts of one copy, each on its own helper's connection,
 * must not wait for one another on the server (they did: each piece a
 * helper sent made the other helpers' next pieces wait for it, and the
 * parts went one after the other). The bytes are checked. */
#include "testutil.h"

#include <stdlib.h>

enum { BYTES = (32 << 20) + 4093, ROUNDS = 3 };

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, BYTES));
    uint8_t *src = malloc(BYTES), *back = malloc(BYTES);
    RM_EXPECT(src && back, "out of host memory");
    for (int i = 0; i < ROUNDS; i++) {
        rm_fill_random(src, BYTES, (uint64_t)i + 1);
        CK(cuMemcpyHtoD(d, src, BYTES));
        CK(cuMemcpyDtoH(back, d, BYTES));
        rm_expect_bytes(back, src, BYTES, "striped host-to-device copy");
    }
    free(src);
    free(back);
    CK(cuMemFree(d));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("stripe_fences");
    return 0;
}
