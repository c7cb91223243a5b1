/* e2e (remora only): a session's device-memory limit. The server was
 * started with --mem-limit, and the environment may lower it
 * (REMORA_MEM_LIMIT, TENSOR_FUSION_CUDA_MEM_LIMIT, CUDA_DEVICE_MEMORY_LIMIT);
 * RM_TEST_MEM_LIMIT is the limit in bytes that must result (a multiple of
 * 8 MiB). The GPU then shows the limit as its size, cuMemGetInfo what is
 * left of it, and every way of allocating fails with
 * CUDA_ERROR_OUT_OF_MEMORY past it: plain, pitched, stream-ordered (default
 * pool and an own pool), VMM physical memory, arrays and mipmaps, graph
 * memory nodes; freeing makes room again, also when a context goes, and
 * memory the server keeps for reuse after a free counts only while allocated.
 * RM_TEST_MEM_LIMIT=bad: the environment holds a bad value, and cuInit must
 * fail with CUDA_ERROR_INVALID_VALUE and an error line saying
 * RM_TEST_MEM_ERROR. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t limit;

static void expect_free(uint64_t want, const char *when)
{
    size_t free_bytes = 0, total = 0;
    CK(cuMemGetInfo(&free_bytes, &total));
    RM_EXPECT(total == limit, "%s: cuMemGetInfo total %zu, limit %llu", when, total, (unsigned long long)limit);
    RM_EXPECT(free_bytes == want, "%s: cuMemGetInfo free %zu, want %llu", when, free_bytes, (unsigned long long)want);
}

/* Three quarters of the limit held, half of it more is refused. */
static void plain_and_pitch(void)
{
    CUdeviceptr a, b, c;
    size_t pitch;
    CK(cuMemAlloc(&a, limit / 4 * 3));
    expect_free(limit / 4, "after 3/4 of the limit");
    CK_EXPECT(cuMemAlloc(&b, limit / 2), CUDA_ERROR_OUT_OF_MEMORY);
    CK_EXPECT(cuMemAllocPitch(&b, &pitch, 1 << 20, limit / 2 >> 20, 4), CUDA_ERROR_OUT_OF_MEMORY);
    CK(cuMemAllocPitch(&b, &pitch, 1 << 20, limit / 8 >> 20, 4));
    CK_EXPECT(cuMemAlloc(&c, limit / 4), CUDA_ERROR_OUT_OF_MEMORY);
    CK(cuMemFree(a));
    CK(cuMemAlloc(&c, limit / 2)); /* freeing made room */
    CK(cuMemFree(b));
    CK(cuMemFree(c));
    expect_free(limit, "all freed");
    /* the server keeps freed memory mapped for the next allocation of its
     * size (mm.h): that counts as before, once allocated and not when freed */
    for (int round = 0; round < 3; round++) {
        CK(cuMemAlloc(&a, limit / 4 * 3));
        expect_free(limit / 4, "3/4 of the limit again");
        CK_EXPECT(cuMemAlloc(&b, limit / 2), CUDA_ERROR_OUT_OF_MEMORY);
        CK(cuMemFree(a));
        expect_free(limit, "3/4 freed again");
    }
}

static void stream_ordered(void)
{
    CUstream s;
    CUdeviceptr a, b;
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CK_EXPECT(cuMemAllocAsync(&a, limit + (8 << 20), s), CUDA_ERROR_OUT_OF_MEMORY);
    CK(cuMemAllocAsync(&a, limit / 4 * 3, s));
    CK_EXPECT(cuMemAllocAsync(&b, limit / 2, s), CUDA_ERROR_OUT_OF_MEMORY);
    CK(cuMemFreeAsync(a, s));
    CK(cuMemAllocAsync(&b, limit / 2, s)); /* un-charged when the free was issued */
    CUmemPoolProps props = {.allocType = CU_MEM_ALLOCATION_TYPE_PINNED,
                            .location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0}};
    CUmemoryPool pool;
    CK(cuMemPoolCreate(&pool, &props));
    CK_EXPECT(cuMemAllocFromPoolAsync(&a, limit / 4 * 3, pool, s), CUDA_ERROR_OUT_OF_MEMORY);
    CK(cuMemAllocFromPoolAsync(&a, limit / 4, pool, s));
    CK(cuMemFreeAsync(a, s));
    CK(cuMemFreeAsync(b, s));
    CK(cuStreamSynchronize(s));
    CK(cuMemPoolDestroy(pool));
    CK(cuStreamDestroy(s));
    expect_free(limit, "stream-ordered freed");
}

static void vmm(void)
{
    CUmemAllocationProp prop = {.type = CU_MEM_ALLOCATION_TYPE_PINNED,
                                .location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0}};
    size_t g = 0;
    CK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
    RM_EXPECT(g && (limit / 4) % g == 0, "granularity %zu", g);
    CUmemGenericAllocationHandle h, h2;
    CK_EXPECT(cuMemCreate(&h, limit + g, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
    CK(cuMemCreate(&h, limit / 4 * 3, &prop, 0));
    CK_EXPECT(cuMemCreate(&h2, limit / 2, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
    CUdeviceptr va;
    CK(cuMemAddressReserve(&va, limit / 4 * 3, 0, 0, 0));
    CK(cuMemMap(va, limit / 4 * 3, 0, h, 0)); /* a mapping takes nothing more */
    expect_free(limit / 4, "one VMM allocation mapped");
    CK(cuMemUnmap(va, limit / 4 * 3));
    CK(cuMemAddressFree(va, limit / 4 * 3));
    CK(cuMemRelease(h));
    CK(cuMemCreate(&h2, limit / 2, &prop, 0));
    CK(cuMemRelease(h2));
    expect_free(limit, "VMM released");
}

static void arrays(void)
{
    /* float, one channel: rows of 4 KiB */
    CUDA_ARRAY3D_DESCRIPTOR d = {.Width = 1024, .Height = limit / 4096 + 1, .Format = CU_AD_FORMAT_FLOAT,
                                 .NumChannels = 1};
    CUarray a, b;
    CK_EXPECT(cuArray3DCreate(&a, &d), CUDA_ERROR_OUT_OF_MEMORY);
    d.Height = limit / 4096 / 2 + 1;
    CK(cuArray3DCreate(&a, &d));
    expect_free(limit / 2 - 4096, "an array of half the limit and a row");
    CK_EXPECT(cuArray3DCreate(&b, &d), CUDA_ERROR_OUT_OF_MEMORY);
    CUmipmappedArray m; /* as big, and its levels a third more */
    CK_EXPECT(cuMipmappedArrayCreate(&m, &d, 4), CUDA_ERROR_OUT_OF_MEMORY);
    CK(cuArrayDestroy(a));
    CK(cuMipmappedArrayCreate(&m, &d, 4));
    CK(cuMipmappedArrayDestroy(m));
    expect_free(limit, "arrays destroyed");
}

static void graph_memory(void)
{
    CUgraph g;
    CUgraphNode node;
    CUdeviceptr p;
    CK(cuGraphCreate(&g, 0));
    CUDA_MEM_ALLOC_NODE_PARAMS params = {
        .poolProps = {.allocType = CU_MEM_ALLOCATION_TYPE_PINNED,
                      .location = {.type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0}},
        .bytesize = limit + (8 << 20)};
    CK_EXPECT(cuGraphAddMemAllocNode(&node, g, NULL, 0, &params), CUDA_ERROR_OUT_OF_MEMORY);
    params.bytesize = limit / 4 * 3;
    CK(cuGraphAddMemAllocNode(&node, g, NULL, 0, &params));
    CK_EXPECT(cuMemAlloc(&p, limit / 2), CUDA_ERROR_OUT_OF_MEMORY); /* while the graph lives */
    CK(cuGraphDestroy(g));
    CK(cuMemAlloc(&p, limit / 2));
    CK(cuMemFree(p));
    expect_free(limit, "graph destroyed");
}

/* What a destroyed context held is given back. */
static void context_end(CUdevice dev, CUcontext primary)
{
    CUcontext c;
    CUdeviceptr p;
    CK(cuCtxCreate(&c, NULL, 0, dev));
    CK(cuMemAlloc(&p, limit / 4 * 3));
    CK(cuCtxDestroy(c));
    CK(cuCtxSetCurrent(primary));
    CK(cuMemAlloc(&p, limit / 4 * 3));
    CK(cuMemFree(p));
}

int main(void)
{
    const char *want = getenv("RM_TEST_MEM_LIMIT");
    RM_EXPECT(want && *want, "RM_TEST_MEM_LIMIT is not set");
    if (strcmp(want, "bad") == 0) {
        /* the error line must name the variable: stderr goes to a file meanwhile */
        const char *says = getenv("RM_TEST_MEM_ERROR");
        FILE *log = tmpfile();
        int saved = dup(2);
        RM_EXPECT(says && log && saved >= 0 && dup2(fileno(log), 2) == 2, "stderr redirected");
        CUresult r = cuInit(0);
        dup2(saved, 2);
        char text[4096] = "";
        rewind(log);
        text[fread(text, 1, sizeof text - 1, log)] = 0;
        RM_EXPECT(r == CUDA_ERROR_INVALID_VALUE, "cuInit %s", rm_err_name(r));
        RM_EXPECT(strstr(text, says), "the error says '%s': %s", says, text);
        printf("PASS limit_memory (bad value refused)\n");
        return 0;
    }
    limit = strtoull(want, NULL, 10);
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    size_t total = 0;
    CK(cuDeviceTotalMem(&total, dev));
    RM_EXPECT(total == limit, "cuDeviceTotalMem %zu, limit %llu", total, (unsigned long long)limit);
    expect_free(limit, "at start");
    plain_and_pitch();
    stream_ordered();
    vmm();
    arrays();
    graph_memory();
    context_end(dev, ctx);
    printf("PASS limit_memory (%llu MiB)\n", (unsigned long long)(limit >> 20));
    return 0;
}
