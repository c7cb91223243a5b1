/* e2e (remora only): device addresses never alias host memory of the client.
 * The server hands out addresses of its own process; remora's client keeps
 * each device range reserved, so no host mapping lands on it, and when an
 * address the server offers is host memory here, the client takes another.
 * Here: an allocation is freed and the client maps host memory where the
 * next allocation would go (the fake backend hands out addresses in order:
 * right after the freed one), so the server's next answer is host memory
 * here; the allocation the program gets must not overlap it, and an
 * undirected cuMemcpy from that host memory must read it as host memory. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

enum { BYTES = 64 << 20, PAGE = 4096 };

static int mapped_by_us(CUdeviceptr p)
{
    void *want = (void *)(uintptr_t)(p & ~(uint64_t)(PAGE - 1));
    void *got = mmap(want, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == want) {
        munmap(got, PAGE);
        return 0;
    }
    if (got != MAP_FAILED)
        munmap(got, PAGE);
    return 1; /* something is mapped there: the reservation */
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d, d2;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, BYTES));
    RM_EXPECT(mapped_by_us(d) && mapped_by_us(d + BYTES - 1), "a device range is reserved in the client");
    CK(cuMemFree(d));
    RM_EXPECT(!mapped_by_us(d), "a freed range is released");

    /* host memory where the server will place the next range */
    void *want = (void *)(uintptr_t)((d + BYTES) & ~(uint64_t)(PAGE - 1));
    unsigned char *host = mmap(want, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                               -1, 0);
    RM_EXPECT(host == want, "host page at the freed device address");
    for (int i = 0; i < PAGE; i++)
        host[i] = (unsigned char)(i * 7 + 3);

    CK(cuMemAlloc(&d2, BYTES));
    uintptr_t h = (uintptr_t)host;
    RM_EXPECT(d2 + BYTES <= h || d2 >= h + PAGE, "a new device range does not overlap host memory");
    CK(cuMemcpy(d2, (CUdeviceptr)h, PAGE)); /* UVA: host to device */
    unsigned char back[PAGE];
    CK(cuMemcpyDtoH(back, d2, PAGE));
    rm_expect_bytes(back, host, PAGE, "UVA copy from host memory at a former device address");
    CK(cuMemFree(d2));
    munmap(host, PAGE);
    CK(cuDevicePrimaryCtxRelease(dev));
    printf("PASS remora_uva\n");
    return 0;
}
