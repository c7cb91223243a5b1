/* Stream-ordered allocation and memory pools: cudaMallocAsync/cudaFreeAsync
 * on the default pool, pool attributes, a pool of the program's own. */
#include "rt.h"

int main()
{
    const int count = 1 << 18;
    const size_t bytes = count * sizeof(unsigned int);
    cudaStream_t s;
    RT_CHECK(cudaStreamCreate(&s));
    cudaMemPool_t pool;
    RT_CHECK(cudaDeviceGetDefaultMemPool(&pool, 0));
    unsigned long long threshold = 64ull << 20, got = 0;
    RT_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
    RT_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &got));
    RT_EXPECT(got == threshold);
    int reuse = -1;
    RT_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolReuseAllowOpportunistic, &reuse));
    printf("default pool: release threshold %llu, opportunistic reuse %d\n", got, reuse);

    unsigned int *d, *host;
    RT_CHECK(cudaMallocHost(&host, bytes));
    RT_CHECK(cudaMallocAsync(&d, bytes, s));
    unsigned long long used = 0;
    RT_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used));
    RT_EXPECT(used >= bytes);
    printf("# used %llu\n", used);
    rm_fill_u32<<<64, 256, 0, s>>>(d, 0xabcdu, count);
    RT_CHECK(cudaMemcpyAsync(host, d, bytes, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaFreeAsync(d, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(host[0] == 0xabcdu && host[count - 1] == 0xabcdu);
    printf("stream-ordered allocation: filled and freed\n");

    /* a pool of our own, made current, then back to the default */
    cudaMemPoolProps props = {};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = 0;
    cudaMemPool_t mine, current;
    RT_CHECK(cudaMemPoolCreate(&mine, &props));
    RT_CHECK(cudaDeviceSetMemPool(0, mine));
    RT_CHECK(cudaDeviceGetMemPool(&current, 0));
    RT_EXPECT(current == mine);
    unsigned int *a, *b;
    RT_CHECK(cudaMallocAsync(&a, bytes, s));           /* from the current pool: mine */
    RT_CHECK(cudaMallocFromPoolAsync(&b, bytes, pool, s)); /* from the default pool */
    RT_CHECK(cudaMemsetAsync(a, 0x11, bytes, s));
    RT_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
    RT_CHECK(cudaMemcpyAsync(host, b, bytes, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaFreeAsync(a, s));
    RT_CHECK(cudaFreeAsync(b, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(host[7] == 0x11111111u);
    RT_CHECK(cudaMemPoolTrimTo(mine, 0));
    RT_CHECK(cudaDeviceSetMemPool(0, pool));
    RT_CHECK(cudaMemPoolDestroy(mine));
    printf("own pool: copied through both pools\n");

    RT_CHECK(cudaFreeHost(host));
    RT_CHECK(cudaStreamDestroy(s));
    printf("PASS rt_mempool\n");
    return 0;
}
