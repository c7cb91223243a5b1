/* Runtime error paths: what cudaGetLastError and the calls themselves
 * report for bad arguments, and that a program goes on working after them. */
#include "rt.h"

int main()
{
    float *d;
    RT_CHECK(cudaMalloc(&d, 1024));
    RT_EXPECT(cudaGetLastError() == cudaSuccess);

    /* a launch with too many threads per block: reported at once and by
     * cudaGetLastError (driver 580 answers CUDA_ERROR_INVALID_VALUE) */
    rm_null<<<1, 4096>>>();
    cudaError_t e = cudaGetLastError();
    printf("oversized block: %s\n", cudaGetErrorName(e));
    RT_EXPECT(e == cudaErrorInvalidValue);
    RT_EXPECT(cudaGetLastError() == cudaSuccess); /* not sticky: read once */

    /* copies with a pointer that is not device memory */
    e = cudaMemcpy(d, (void *)0x10, 16, cudaMemcpyDeviceToDevice);
    printf("bad copy: %s\n", cudaGetErrorName(e));
    RT_EXPECT(e != cudaSuccess);
    RT_EXPECT(cudaGetLastError() == e);

    /* freeing what was never allocated */
    e = cudaFree((void *)0x1234);
    printf("bad free: %s\n", cudaGetErrorName(e));
    RT_EXPECT(e != cudaSuccess);
    (void)cudaGetLastError();

    /* an invalid device and an invalid stream */
    e = cudaSetDevice(1000);
    printf("bad device: %s\n", cudaGetErrorName(e));
    RT_EXPECT(e == cudaErrorInvalidDevice);
    (void)cudaGetLastError();
    printf("error strings: %s / %s\n", cudaGetErrorString(cudaErrorInvalidValue),
           cudaGetErrorName(cudaErrorMemoryAllocation));

    /* an allocation larger than the device */
    void *huge = nullptr;
    e = cudaMalloc(&huge, (size_t)1 << 50);
    printf("huge malloc: %s\n", cudaGetErrorName(e));
    RT_EXPECT(e == cudaErrorMemoryAllocation);
    RT_EXPECT(cudaGetLastError() == cudaErrorMemoryAllocation);

    /* the context still works */
    rm_fill_u32<<<1, 32>>>((unsigned int *)d, 9u, 256);
    RT_CHECK(cudaGetLastError());
    unsigned int v = 0;
    RT_CHECK(cudaMemcpy(&v, d, 4, cudaMemcpyDeviceToHost));
    RT_EXPECT(v == 9u);
    RT_CHECK(cudaFree(d));
    printf("PASS rt_errors\n");
    return 0;
}
