/* e2e (remora only): the memory manager gives each device its own address
 * arena, device N's at the server's --va-base (default 0x200000000000) + N
 * TiB. Allocations of several sizes on every device land in their device's
 * arena, keep their data, and never overlap another device's. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAX_DEVICES = 8, SIZES = 3 };

#define VA_BASE 0x200000000000ull
#define ARENA (1ull << 40)

int main(void)
{
    static const size_t size[SIZES] = {4096, 3u << 20, 17u << 20};
    int count = 0;
    CUcontext ctx[MAX_DEVICES];
    CUdeviceptr p[MAX_DEVICES][SIZES];
    CK(cuInit(0));
    CK(cuDeviceGetCount(&count));
    RM_EXPECT(count >= 1 && count <= MAX_DEVICES, "device count %d", count);
    for (int d = 0; d < count; d++) {
        CUdevice dev;
        CK(cuDeviceGet(&dev, d));
        CK(cuCtxCreate(&ctx[d], NULL, 0, dev));
        for (int k = 0; k < SIZES; k++) {
            CK(cuMemAlloc(&p[d][k], size[k]));
            unsigned long long off = p[d][k] - VA_BASE;
            RM_EXPECT(p[d][k] >= VA_BASE && off / ARENA == (unsigned long long)d,
                      "device %d: %zu bytes at %llx, outside its arena %llx", d, size[k],
                      (unsigned long long)p[d][k], VA_BASE + d * ARENA);
            CK(cuMemsetD32(p[d][k], 0xD0u + (unsigned)d, size[k] / 4));
        }
        printf("device %d arena %llx: %d allocations in it\n", d, VA_BASE + d * ARENA, SIZES);
    }
    for (int d = 0; d < count; d++) {
        CK(cuCtxSetCurrent(ctx[d]));
        for (int k = 0; k < SIZES; k++) {
            unsigned *h = malloc(size[k]);
            RM_EXPECT(h, "malloc");
            CK(cuMemcpyDtoH(h, p[d][k], size[k]));
            for (size_t i = 0; i < size[k] / 4; i++)
                RM_EXPECT(h[i] == 0xD0u + (unsigned)d, "device %d allocation %d word %zu: %x", d, k, i, h[i]);
            free(h);
            CK(cuMemFree(p[d][k]));
        }
        CK(cuCtxDestroy(ctx[d]));
    }
    rm_pass("multi_arenas");
    return 0;
}
