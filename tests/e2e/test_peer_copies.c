/* e2e: peer access and copies between devices 0 and 1 (each with its own
 * context): cuDeviceCanAccessPeer, cuCtxEnablePeerAccess and
 * cuCtxDisablePeerAccess with the driver's errors (already enabled, not
 * enabled, a context's own device), then cuMemcpyPeer, cuMemcpyPeerAsync,
 * cuMemcpy (UVA) and cuMemcpyDtoD between the devices' memory, each checked,
 * and the pointer attribute naming each allocation's device. With one
 * device it says so and passes. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BYTES = 3 << 20 };

static void expect_on(CUdeviceptr p, int ordinal)
{
    int got = -1;
    CK(cuPointerGetAttribute(&got, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p));
    RM_EXPECT(got == ordinal, "allocation %llx on device %d, not %d", (unsigned long long)p, got, ordinal);
}

static void expect_device(CUdeviceptr p, const unsigned char *want, const char *what)
{
    unsigned char *got = malloc(BYTES);
    RM_EXPECT(got, "malloc");
    CK(cuMemcpyDtoH(got, p, BYTES));
    rm_expect_bytes(got, want, BYTES, what);
    printf("%s checksum %016llx\n", what, (unsigned long long)rm_checksum(got, BYTES));
    free(got);
}

int main(void)
{
    int count = 0, can = -1;
    CK(cuInit(0));
    CK(cuDeviceGetCount(&count));
    if (count < 2) {
        printf("peer_copies: %d device, needs 2 to copy between\n", count);
        rm_pass("peer_copies");
        return 0;
    }
    CUdevice dev[2];
    CUcontext ctx[2];
    CUdeviceptr d[2], e[2];
    for (int i = 0; i < 2; i++) {
        CK(cuDeviceGet(&dev[i], i));
        CK(cuCtxCreate(&ctx[i], NULL, 0, dev[i]));
        CK(cuMemAlloc(&d[i], BYTES));
        CK(cuMemAlloc(&e[i], BYTES));
        expect_on(d[i], i);
    }
    CK(cuDeviceCanAccessPeer(&can, dev[0], dev[1]));
    printf("can access peer 0->1 %d\n", can);
    CK(cuDeviceCanAccessPeer(&can, dev[1], dev[0]));
    printf("can access peer 1->0 %d\n", can);
    CK(cuDeviceCanAccessPeer(&can, dev[0], dev[0]));
    RM_EXPECT(can == 0, "device 0 is its own peer (%d)", can);
    CK_EXPECT(cuDeviceCanAccessPeer(&can, dev[0], count), CUDA_ERROR_INVALID_DEVICE);

    CK(cuDeviceCanAccessPeer(&can, dev[0], dev[1])); /* both ways on the machines we use */
    CK(cuCtxSetCurrent(ctx[0]));
    CK_EXPECT(cuCtxDisablePeerAccess(ctx[1]), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
    CK_EXPECT(cuCtxEnablePeerAccess(ctx[0], 0), CUDA_ERROR_INVALID_DEVICE); /* its own device */
    CK_EXPECT(cuCtxEnablePeerAccess(ctx[1], 1), CUDA_ERROR_INVALID_VALUE);  /* flags must be 0 */
    if (can) {
        CK(cuCtxEnablePeerAccess(ctx[1], 0));
        CK_EXPECT(cuCtxEnablePeerAccess(ctx[1], 0), CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);
        CK(cuCtxSetCurrent(ctx[1]));
        CK(cuCtxEnablePeerAccess(ctx[0], 0)); /* the other way is separate */
        CK(cuCtxSetCurrent(ctx[0]));
        printf("peer access enabled both ways\n");
    }

    unsigned char *a = malloc(BYTES), *b = malloc(BYTES);
    RM_EXPECT(a && b, "malloc");
    rm_fill_random(a, BYTES, 7);
    rm_fill_random(b, BYTES, 8);
    CK(cuMemcpyHtoD(d[0], a, BYTES));
    CK(cuCtxSetCurrent(ctx[1]));
    CK(cuMemcpyHtoD(d[1], b, BYTES));

    /* 0 -> 1 with cuMemcpyPeer from device 1's context */
    CK(cuMemcpyPeer(e[1], ctx[1], d[0], ctx[0], BYTES));
    expect_device(e[1], a, "peer 0->1");
    /* 1 -> 0 async on a stream of device 0's context */
    CUstream s;
    CK(cuCtxSetCurrent(ctx[0]));
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CK(cuMemcpyPeerAsync(e[0], ctx[0], d[1], ctx[1], BYTES, s));
    CK(cuStreamSynchronize(s));
    expect_device(e[0], b, "peer async 1->0");
    /* UVA: cuMemcpy and cuMemcpyDtoD work out the devices from the addresses */
    CK(cuMemsetD8(e[0], 0, BYTES));
    CK(cuMemcpy(e[0], d[1], BYTES));
    expect_device(e[0], b, "uva 1->0");
    CK(cuCtxSetCurrent(ctx[1]));
    CK(cuMemsetD8(e[1], 0, BYTES));
    CK(cuMemcpyDtoD(e[1], d[0], BYTES));
    expect_device(e[1], a, "dtod 0->1");
    /* part of a range, at an offset, into the other device */
    CK(cuMemcpyPeer(e[0] + 4096, ctx[0], d[1] + 8192, ctx[1], 65536));
    unsigned char *part = malloc(65536);
    RM_EXPECT(part, "malloc");
    CK(cuMemcpyDtoH(part, e[0] + 4096, 65536));
    rm_expect_bytes(part, b + 8192, 65536, "peer part 1->0");
    free(part);

    if (can) {
        CK(cuCtxDisablePeerAccess(ctx[0]));
        CK_EXPECT(cuCtxDisablePeerAccess(ctx[0]), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
        CK(cuCtxSetCurrent(ctx[0]));
        CK(cuCtxDisablePeerAccess(ctx[1]));
    }
    CK(cuCtxSetCurrent(ctx[0]));
    CK(cuStreamDestroy(s));
    for (int i = 0; i < 2; i++) {
        CK(cuCtxSetCurrent(ctx[i]));
        CK(cuMemFree(d[i]));
        CK(cuMemFree(e[i]));
    }
    for (int i = 0; i < 2; i++)
        CK(cuCtxDestroy(ctx[i]));
    free(a);
    free(b);
    rm_pass("peer_copies");
    return 0;
}
