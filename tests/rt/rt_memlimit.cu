/* A device-memory limit as the runtime sees it. With RM_TEST_MEM_LIMIT set
 * (bytes; the e2e run starts remora-server --mem-limit with it) the GPU's
 * memory is the limit (cudaMemGetInfo, cudaGetDeviceProperties), and
 * cudaMalloc and cudaMallocAsync past it fail with cudaErrorMemoryAllocation
 * until memory is freed. Without it (the GPU suite, natively and through
 * remora) the same allocations of an eighth of the GPU's memory all succeed. */
#include "rt.h"

int main()
{
    const char *want = getenv("RM_TEST_MEM_LIMIT");
    size_t free_bytes = 0, total = 0;
    RT_CHECK(cudaMemGetInfo(&free_bytes, &total));
    cudaDeviceProp prop;
    RT_CHECK(cudaGetDeviceProperties(&prop, 0));
    RT_EXPECT(prop.totalGlobalMem == total);
    size_t limit = want ? strtoull(want, NULL, 10) : total / 8;
    cudaError_t over = want ? cudaErrorMemoryAllocation : cudaSuccess;
    if (want) {
        RT_EXPECT(total == limit);
        RT_EXPECT(free_bytes == limit);
    }
    void *a = NULL, *b = NULL;
    RT_CHECK(cudaMalloc(&a, limit / 4 * 3));
    RT_CHECK(cudaMemGetInfo(&free_bytes, &total));
    RT_EXPECT(!want || free_bytes == limit / 4);
    RT_EXPECT(cudaMalloc(&b, limit / 2) == over);
    RT_EXPECT(cudaGetLastError() == over); /* and the error is not sticky */
    if (b)
        RT_CHECK(cudaFree(b));
    cudaStream_t s;
    RT_CHECK(cudaStreamCreate(&s));
    RT_EXPECT(cudaMallocAsync(&b, limit / 2, s) == over);
    cudaGetLastError();
    if (!want)
        RT_CHECK(cudaFreeAsync(b, s));
    RT_CHECK(cudaFree(a));
    RT_CHECK(cudaMallocAsync(&b, limit / 2, s)); /* freeing made room */
    RT_CHECK(cudaFreeAsync(b, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_CHECK(cudaStreamDestroy(s));
    printf("PASS rt_memlimit\n");
    return 0;
}
