/* Benchmark: peer copies between devices 0 and 1 (cuMemcpyPeer, peer access
 * enabled both ways where the devices allow it), 64 and 256 MiB, each way,
 * the median of several runs, as "metric value unit" lines for bench/run's
 * table (native and remora in one run). It needs two devices: with fewer it
 * says so on a '#' line and exits 0. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

enum { RUNS = 9 };

static double copy_gbps(CUdeviceptr dst, CUcontext dctx, CUdeviceptr src, CUcontext sctx, size_t bytes)
{
    double t[RUNS];
    CK(cuMemcpyPeer(dst, dctx, src, sctx, bytes)); /* warm-up */
    CK(cuCtxSynchronize());
    for (int r = 0; r < RUNS; r++) {
        double t0 = rm_now_us();
        CK(cuMemcpyPeer(dst, dctx, src, sctx, bytes));
        CK(cuCtxSynchronize());
        t[r] = rm_now_us() - t0;
    }
    return (double)bytes / (rm_median(t, RUNS) * 1e3);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int count = 0, can[2] = {0, 0};
    CK(cuInit(0));
    CK(cuDeviceGetCount(&count));
    if (count < 2) {
        printf("# bench_peer: %d device, needs 2 devices for peer copies: not run\n", count);
        return 0;
    }
    CUcontext ctx[2];
    CUdeviceptr buf[2];
    const size_t max = (quick ? 64u : 256u) << 20;
    for (int i = 0; i < 2; i++) {
        CUdevice dev;
        CK(cuDeviceGet(&dev, i));
        CK(cuCtxCreate(&ctx[i], NULL, 0, dev));
        CK(cuMemAlloc(&buf[i], max));
        CK(cuMemsetD8(buf[i], (unsigned char)i, max));
    }
    CK(cuDeviceCanAccessPeer(&can[0], 0, 1));
    CK(cuDeviceCanAccessPeer(&can[1], 1, 0));
    for (int i = 0; i < 2; i++) {
        CK(cuCtxSetCurrent(ctx[i]));
        if (can[i])
            CK(cuCtxEnablePeerAccess(ctx[1 - i], 0));
    }
    printf("# bench_peer: peer access 0->1 %d, 1->0 %d\n", can[0], can[1]);
    for (size_t bytes = 64u << 20; bytes <= max; bytes *= 4) {
        for (int from = 0; from < 2; from++) {
            int to = 1 - from;
            CK(cuCtxSetCurrent(ctx[to]));
            printf("memcpy_peer_%dto%d_%zuMiB %.3f GB/s\n", from, to, bytes >> 20,
                   copy_gbps(buf[to], ctx[to], buf[from], ctx[from], bytes));
        }
    }
    for (int i = 0; i < 2; i++) {
        CK(cuCtxSetCurrent(ctx[i]));
        CK(cuMemFree(buf[i]));
    }
    for (int i = 0; i < 2; i++)
        CK(cuCtxDestroy(ctx[i]));
    return 0;
}
