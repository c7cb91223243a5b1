/* e2e (remora only, server started with --pinned-limit=128M): over shm://
 * page-locked memory is shared segments the server registers, and a
 * session may hold at most the server's limit of them: an allocation that
 * needs a segment past it fails with CUDA_ERROR_OUT_OF_MEMORY, as on a
 * host out of page-locked memory, and what fits still works. Over TCP
 * page-locked memory stays in the client: no limit applies. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    const char *server = getenv("REMORA_SERVER");
    int shm = server && strncmp(server, "shm:", 4) == 0;
    void *small = NULL, *big = NULL, *more = NULL;
    CK(cuMemHostAlloc(&small, 16u << 20, 0)); /* the first segment: 64 MiB */
    CUresult r = cuMemHostAlloc(&big, 100u << 20, 0);
    if (shm)
        RM_EXPECT(r == CUDA_ERROR_OUT_OF_MEMORY && big == NULL, "100 MiB past a 128 MiB limit: %d", (int)r);
    else
        RM_EXPECT(r == CUDA_SUCCESS, "100 MiB over TCP: %d", (int)r);
    CK(cuMemHostAlloc(&more, 16u << 20, 0)); /* fits in the first segment */
    memset(more, 0x5a, 16u << 20);
    CUdeviceptr d;
    CK(cuMemAlloc(&d, 4096));
    CK(cuMemcpyHtoD(d, more, 4096));
    unsigned char back[4096];
    CK(cuMemcpyDtoH(back, d, sizeof back));
    RM_EXPECT(back[0] == 0x5a && back[4095] == 0x5a, "copy through the pinned buffer");
    CK(cuMemFree(d));
    CK(cuMemFreeHost(small));
    CK(cuMemFreeHost(more));
    if (big)
        CK(cuMemFreeHost(big));
    printf("PASS limit_pinned\n");
    return 0;
}
