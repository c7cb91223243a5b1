/* Runtime API basics: devices and properties, memory, copies of every
 * direction (also cudaMemcpyDefault), memset, kernel launches with <<<>>>,
 * module globals through symbols, page-locked memory. */
#include <cstring>

#include "rt.h"

int main()
{
    int n = 0;
    RT_CHECK(cudaGetDeviceCount(&n));
    RT_EXPECT(n >= 1);
    cudaDeviceProp prop;
    RT_CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("device 0: %s, cc %d.%d, %d SMs\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
    int dev = -1;
    RT_CHECK(cudaSetDevice(0));
    RT_CHECK(cudaGetDevice(&dev));
    RT_EXPECT(dev == 0);

    const int count = 100000;
    const size_t bytes = count * sizeof(float);
    float *ha = (float *)malloc(bytes), *hb = (float *)malloc(bytes), *hc = (float *)malloc(bytes);
    for (int i = 0; i < count; i++)
        ha[i] = (float)i, hb[i] = 0.5f * (float)i;
    float *a, *b, *c;
    RT_CHECK(cudaMalloc(&a, bytes));
    RT_CHECK(cudaMalloc(&b, bytes));
    RT_CHECK(cudaMalloc(&c, bytes));
    RT_CHECK(cudaMemcpy(a, ha, bytes, cudaMemcpyHostToDevice));
    RT_CHECK(cudaMemcpy(b, hb, bytes, cudaMemcpyDefault));
    rm_vector_add<<<64, 256>>>(a, b, c, count);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaMemcpy(hc, c, bytes, cudaMemcpyDeviceToHost));
    for (int i = 0; i < count; i++)
        RT_EXPECT(hc[i] == 1.5f * (float)i);
    printf("vector add: c[12345] = %g\n", hc[12345]);

    /* device to device, then scale in place */
    RT_CHECK(cudaMemcpy(b, c, bytes, cudaMemcpyDeviceToDevice));
    rm_scale_f32<<<32, 128>>>(b, 2.0f, count);
    RT_CHECK(cudaMemcpy(hb, b, bytes, cudaMemcpyDefault));
    RT_EXPECT(hb[777] == 3.0f * 777);

    /* memset: bytes, then a kernel fill */
    RT_CHECK(cudaMemset(a, 0x3f, bytes));
    RT_CHECK(cudaMemcpy(ha, a, 16, cudaMemcpyDeviceToHost));
    unsigned int word;
    memcpy(&word, ha, 4);
    RT_EXPECT(word == 0x3f3f3f3fu);
    rm_fill_u32<<<8, 64>>>((unsigned int *)a, 7u, count);
    RT_CHECK(cudaDeviceSynchronize());
    RT_CHECK(cudaMemcpy(&word, (char *)a + bytes - 4, 4, cudaMemcpyDeviceToHost));
    RT_EXPECT(word == 7u);

    /* globals by symbol */
    float table[256];
    for (int i = 0; i < 256; i++)
        table[i] = (float)i;
    RT_CHECK(cudaMemcpyToSymbol(rm_table, table, sizeof table));
    rm_table_sum<<<1, 1>>>(c);
    float sum = 0;
    RT_CHECK(cudaMemcpy(&sum, c, sizeof sum, cudaMemcpyDeviceToHost));
    RT_EXPECT(sum == 255.0f * 256 / 2);
    int zero = 0, counter = 0;
    RT_CHECK(cudaMemcpyToSymbol(rm_counter, &zero, sizeof zero));
    for (int i = 0; i < 5; i++)
        rm_add_counter<<<4, 32>>>(i);
    RT_CHECK(cudaMemcpyFromSymbol(&counter, rm_counter, sizeof counter));
    RT_EXPECT(counter == 10);
    printf("globals: table sum %g, counter %d\n", sum, counter);

    /* page-locked memory and an async round trip */
    float *pinned;
    RT_CHECK(cudaMallocHost(&pinned, bytes));
    for (int i = 0; i < count; i++)
        pinned[i] = 1.0f;
    RT_CHECK(cudaMemcpyAsync(a, pinned, bytes, cudaMemcpyHostToDevice, 0));
    rm_scale_f32<<<16, 256>>>(a, 4.0f, count);
    RT_CHECK(cudaMemcpyAsync(pinned, a, bytes, cudaMemcpyDeviceToHost, 0));
    RT_CHECK(cudaStreamSynchronize(0));
    RT_EXPECT(pinned[0] == 4.0f && pinned[count - 1] == 4.0f);
    size_t free_b = 0, total_b = 0;
    RT_CHECK(cudaMemGetInfo(&free_b, &total_b));
    RT_EXPECT(free_b > 0 && free_b <= total_b);

    RT_CHECK(cudaFreeHost(pinned));
    RT_CHECK(cudaFree(a));
    RT_CHECK(cudaFree(b));
    RT_CHECK(cudaFree(c));
    free(ha), free(hb), free(hc);
    printf("PASS rt_basics\n");
    return 0;
}
