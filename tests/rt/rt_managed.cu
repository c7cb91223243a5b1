/* Managed memory through the runtime: cudaMallocManaged (global and host
 * attachment), CPU writes -> kernels -> synchronisation -> CPU reads, several
 * allocations (one of 8 MiB), stream attachment, prefetch and advice with
 * their range attributes, cudaMemcpy and cudaMemset naming managed memory,
 * pointer attributes, cudaFree. */
#include <cstring>

#include "rt.h"

static float sum(const float *p, int n)
{
    float s = 0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}

int main()
{
    int managed = 0;
    RT_CHECK(cudaDeviceGetAttribute(&managed, cudaDevAttrManagedMemory, 0));
    printf("managed memory supported: %d\n", managed);

    const int n = 100000;
    const size_t bytes = n * sizeof(float);
    float *a, *b, *c;
    RT_CHECK(cudaMallocManaged(&a, bytes));
    RT_CHECK(cudaMallocManaged(&b, bytes, cudaMemAttachGlobal));
    RT_CHECK(cudaMallocManaged(&c, bytes));
    for (int i = 0; i < n; i++)
        a[i] = (float)i, b[i] = 0.5f * (float)i;
    rm_vector_add<<<64, 256>>>(a, b, c, n);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < n; i++)
        RT_EXPECT(c[i] == 1.5f * (float)i);
    printf("vector add on managed memory: c[12345] = %g\n", c[12345]);

    /* the CPU changes the result, a kernel scales it on a stream */
    cudaStream_t s;
    RT_CHECK(cudaStreamCreate(&s));
    c[0] = 4.0f;
    rm_scale_f32<<<32, 128, 0, s>>>(c, 2.0f, n);
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(c[0] == 8.0f && c[777] == 3.0f * 777);
    printf("scaled on a stream: c[0] = %g, c[777] = %g\n", c[0], c[777]);

    /* a kernel reads what another kernel wrote, the CPU only the end */
    rm_vector_add<<<64, 256>>>(c, c, b, n);
    rm_scale_f32<<<64, 256>>>(b, 0.25f, n);
    cudaEvent_t e;
    RT_CHECK(cudaEventCreate(&e));
    RT_CHECK(cudaEventRecord(e, 0));
    RT_CHECK(cudaEventSynchronize(e));
    RT_EXPECT(b[1000] == 1.5f * 1000);
    printf("two kernels then an event: b[1000] = %g\n", b[1000]);

    /* attached to the host first, then to a stream */
    unsigned int *h;
    const int big = 2 << 20; /* 8 MiB */
    RT_CHECK(cudaMallocManaged(&h, big * sizeof(unsigned), cudaMemAttachHost));
    for (int i = 0; i < big; i++)
        h[i] = (unsigned)i;
    RT_CHECK(cudaStreamAttachMemAsync(s, h, 0, cudaMemAttachSingle));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(h[big - 1] == (unsigned)(big - 1));
    rm_fill_u32<<<128, 256, 0, s>>>(h + big / 2, 7u, big / 2);
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(h[0] == 0 && h[big / 2 - 1] == (unsigned)(big / 2 - 1) && h[big / 2] == 7u && h[big - 1] == 7u);
    printf("8 MiB attached to the host then to a stream: h[1] = %u, h[last] = %u\n", h[1], h[big - 1]);

    /* prefetch and advice are hints: they succeed and are remembered */
    cudaMemLocation dev0 = {cudaMemLocationTypeDevice, 0}, host = {cudaMemLocationTypeHost, 0};
    RT_CHECK(cudaMemPrefetchAsync(a, bytes, dev0, 0, s));
    RT_CHECK(cudaMemAdvise(a, bytes, cudaMemAdviseSetReadMostly, dev0));
    RT_CHECK(cudaMemAdvise(a, bytes, cudaMemAdviseSetPreferredLocation, dev0));
    RT_CHECK(cudaMemPrefetchAsync(a, bytes, host, 0, s));
    RT_CHECK(cudaStreamSynchronize(s));
    int read_mostly = -5, preferred = -5, last = -5;
    RT_CHECK(cudaMemRangeGetAttribute(&read_mostly, 4, cudaMemRangeAttributeReadMostly, a, bytes));
    RT_CHECK(cudaMemRangeGetAttribute(&preferred, 4, cudaMemRangeAttributePreferredLocation, a, bytes));
    RT_CHECK(cudaMemRangeGetAttribute(&last, 4, cudaMemRangeAttributeLastPrefetchLocation, a, bytes));
    printf("range attributes: read mostly %d, preferred location %d, last prefetch %d\n", read_mostly, preferred,
           last);
    RT_CHECK(cudaMemAdvise(a, bytes, cudaMemAdviseUnsetReadMostly, dev0));
    RT_CHECK(cudaMemRangeGetAttribute(&read_mostly, 4, cudaMemRangeAttributeReadMostly, a, bytes));
    printf("read mostly after unset: %d\n", read_mostly);
    RT_EXPECT(a[99] == 99.0f); /* still readable after the prefetches */

    /* copies and memsets naming managed memory */
    float *plain = (float *)malloc(bytes);
    for (int i = 0; i < n; i++)
        plain[i] = 3.0f;
    RT_CHECK(cudaMemcpy(a, plain, bytes, cudaMemcpyHostToDevice));
    RT_EXPECT(a[0] == 3.0f && a[n - 1] == 3.0f);
    b[5] = 42.0f;
    RT_CHECK(cudaMemcpy(plain, b, bytes, cudaMemcpyDeviceToHost));
    RT_EXPECT(plain[5] == 42.0f && plain[1000] == 1.5f * 1000);
    RT_CHECK(cudaMemcpy(c, a, bytes, cudaMemcpyDefault));
    RT_EXPECT(c[123] == 3.0f);
    float *d;
    RT_CHECK(cudaMalloc(&d, bytes));
    RT_CHECK(cudaMemcpy(d, b, bytes, cudaMemcpyDefault));
    RT_CHECK(cudaMemset(b, 0, bytes));
    RT_CHECK(cudaDeviceSynchronize());
    RT_EXPECT(sum(b, n) == 0.0f);
    RT_CHECK(cudaMemcpy(b, d, bytes, cudaMemcpyDeviceToDevice));
    RT_EXPECT(b[5] == 42.0f);
    printf("copies: a[0] = %g, plain[5] = %g, c[123] = %g, b[5] = %g\n", a[0], plain[5], c[123], b[5]);

    /* pointer attributes */
    cudaPointerAttributes at;
    RT_CHECK(cudaPointerGetAttributes(&at, a + 10));
    printf("managed pointer: type managed %d, device %d, device pointer same %d, host pointer same %d\n",
           at.type == cudaMemoryTypeManaged, at.device, at.devicePointer == (void *)(a + 10),
           at.hostPointer == (void *)(a + 10));
    RT_CHECK(cudaPointerGetAttributes(&at, d));
    printf("device pointer: type device %d\n", at.type == cudaMemoryTypeDevice);
    unsigned is_managed = 7;
    CU_CHECK(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, (CUdeviceptr)c));
    printf("IS_MANAGED of managed memory: %u\n", is_managed);
    CU_CHECK(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, (CUdeviceptr)d));
    printf("IS_MANAGED of device memory: %u\n", is_managed);
    CUdeviceptr start = 0;
    size_t size = 0;
    CU_CHECK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, (CUdeviceptr)(c + 50)));
    CU_CHECK(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, (CUdeviceptr)(c + 50)));
    printf("range of c + 50: start is c %d, size %zu\n", start == (CUdeviceptr)c, size);

    RT_CHECK(cudaFree(d));
    RT_CHECK(cudaFree(h));
    RT_CHECK(cudaFree(c));
    RT_CHECK(cudaFree(b));
    RT_CHECK(cudaFree(a));
    /* memory allocated after a free is coherent too */
    RT_CHECK(cudaMallocManaged(&a, 4096));
    a[0] = 1.0f;
    rm_scale_f32<<<1, 1>>>(a, 5.0f, 1);
    RT_CHECK(cudaDeviceSynchronize());
    RT_EXPECT(a[0] == 5.0f);
    RT_CHECK(cudaFree(a));
    RT_CHECK(cudaEventDestroy(e));
    RT_CHECK(cudaStreamDestroy(s));
    free(plain);
    printf("PASS rt_managed\n");
    return 0;
}
