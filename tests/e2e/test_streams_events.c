/* e2e: streams and events — several streams, cuStreamWaitEvent ordering work
 * across streams, event record/synchronize/query/elapsed time, stream query,
 * stream priorities (range, clamping). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

enum { NSTREAMS = 4, N = 1 << 22, FILLS = 20 };

static CUmodule mod;
static CUfunction fill;

static void launch_fill(CUstream s, CUdeviceptr p, unsigned value, int n)
{
    void *params[] = {&p, &value, &n};
    rm_launch_1d(fill, s, (size_t)n, params);
}

static void expect_all(const unsigned *v, size_t n, unsigned want, const char *what)
{
    for (size_t i = 0; i < n; i++)
        RM_EXPECT(v[i] == want, "%s: element %zu is %u, want %u", what, i, v[i], want);
}

/* Stream i fills its buffer FILLS times (last value wins) and records an event;
 * stream i+1 waits for that event before copying the buffer out. Without the
 * wait the copy could see an earlier fill. */
static void check_cross_stream_wait(CUstream *s)
{
    CUdeviceptr buf[NSTREAMS], copy[NSTREAMS];
    CUevent done[NSTREAMS];
    unsigned *host = malloc((size_t)N * 4);
    RM_EXPECT(host != NULL, "malloc");
    for (int i = 0; i < NSTREAMS; i++) {
        CK(cuMemAlloc(&buf[i], (size_t)N * 4));
        CK(cuMemAlloc(&copy[i], (size_t)N * 4));
        CK(cuEventCreate(&done[i], CU_EVENT_DISABLE_TIMING));
    }
    for (int i = 0; i < NSTREAMS; i++) {
        for (unsigned v = 1; v <= FILLS; v++)
            launch_fill(s[i], buf[i], 1000u * (unsigned)i + v, N);
        CK(cuEventRecord(done[i], s[i]));
    }
    for (int i = 0; i < NSTREAMS; i++) {
        CUstream next = s[(i + 1) % NSTREAMS];
        CK(cuStreamWaitEvent(next, done[i], 0));
        CK(cuMemcpyDtoDAsync(copy[i], buf[i], (size_t)N * 4, next));
    }
    for (int i = 0; i < NSTREAMS; i++) {
        CK(cuStreamSynchronize(s[i]));
        CK(cuStreamQuery(s[i]));
        CK(cuEventQuery(done[i]));
    }
    for (int i = 0; i < NSTREAMS; i++) {
        CK(cuMemcpyDtoH(host, copy[i], (size_t)N * 4));
        expect_all(host, N, 1000u * (unsigned)i + FILLS, "copy after cuStreamWaitEvent");
        CK(cuMemFree(buf[i]));
        CK(cuMemFree(copy[i]));
        CK(cuEventDestroy(done[i]));
    }
    free(host);
    printf("cross_stream_wait %d streams ok\n", NSTREAMS);
}

static void check_event_timing(CUstream s)
{
    CUevent start, stop, untimed;
    CUdeviceptr p;
    float ms = -1.0f;
    CK(cuEventCreate(&start, CU_EVENT_DEFAULT));
    CK(cuEventCreate(&stop, CU_EVENT_BLOCKING_SYNC));
    CK(cuEventCreate(&untimed, CU_EVENT_DISABLE_TIMING));
    CK(cuMemAlloc(&p, (size_t)N * 4));

    CK(cuEventRecord(start, s));
    for (unsigned v = 0; v < FILLS; v++)
        launch_fill(s, p, v, N);
    CK(cuEventRecord(stop, s));
    CK(cuEventRecord(untimed, s));
    CUresult q = cuEventQuery(stop);
    RM_EXPECT(q == CUDA_SUCCESS || q == CUDA_ERROR_NOT_READY, "cuEventQuery -> %s",
              rm_err_name(q));
    CK(cuEventSynchronize(stop));
    CK(cuEventQuery(stop));
    CK(cuEventElapsedTime(&ms, start, stop));
    RM_EXPECT(ms >= 0.0f, "elapsed %f ms", ms);
    printf("# %d fills of %d elements: %.3f ms\n", FILLS, N, ms);
    CK_EXPECT(cuEventElapsedTime(&ms, start, untimed), CUDA_ERROR_INVALID_HANDLE);

    CK(cuStreamSynchronize(s));
    CK(cuStreamQuery(s));
    CK(cuMemFree(p));
    CK(cuEventDestroy(start));
    CK(cuEventDestroy(stop));
    CK(cuEventDestroy(untimed));
    printf("event_timing ok\n");
}

static int stream_priority(CUstream s)
{
    int p = 12345;
    CK(cuStreamGetPriority(s, &p));
    return p;
}

/* Lower numbers are higher priorities; out-of-range requests are clamped. */
static void check_priorities(void)
{
    int least = 0, greatest = 0;
    CUstream hi, lo, clamped;
    CK(cuCtxGetStreamPriorityRange(&least, &greatest));
    RM_EXPECT(greatest <= least, "priority range least %d greatest %d", least, greatest);
    printf("priority_range least %d greatest %d\n", least, greatest);
    int only = 1; /* either may be NULL (cuDNN's cudnnSetStream asks for one) */
    CK(cuCtxGetStreamPriorityRange(NULL, &only));
    RM_EXPECT(only == greatest, "greatest alone %d", only);
    CK(cuCtxGetStreamPriorityRange(&only, NULL));
    RM_EXPECT(only == least, "least alone %d", only);
    CK(cuCtxGetStreamPriorityRange(NULL, NULL));
    CK(cuStreamCreateWithPriority(&hi, CU_STREAM_NON_BLOCKING, greatest));
    CK(cuStreamCreateWithPriority(&lo, CU_STREAM_NON_BLOCKING, least));
    CK(cuStreamCreateWithPriority(&clamped, CU_STREAM_NON_BLOCKING, greatest - 100));
    RM_EXPECT(stream_priority(hi) == greatest, "high priority stream has %d", stream_priority(hi));
    RM_EXPECT(stream_priority(lo) == least, "low priority stream has %d", stream_priority(lo));
    RM_EXPECT(stream_priority(clamped) == greatest, "clamped priority %d",
              stream_priority(clamped));
    CK(cuStreamQuery(hi));
    CK(cuStreamDestroy(hi));
    CK(cuStreamDestroy(lo));
    CK(cuStreamDestroy(clamped));
    printf("priorities ok\n");
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUstream s[NSTREAMS];
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    fill = rm_test_function(mod, "rm_fill_u32");
    for (int i = 0; i < NSTREAMS; i++)
        CK(cuStreamCreate(&s[i], i % 2 ? CU_STREAM_NON_BLOCKING : CU_STREAM_DEFAULT));

    check_cross_stream_wait(s);
    check_event_timing(s[1]);
    check_priorities();

    for (int i = 0; i < NSTREAMS; i++)
        CK(cuStreamDestroy(s[i]));
    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("streams_events");
    return 0;
}
