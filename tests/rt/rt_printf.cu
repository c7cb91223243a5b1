/* Device printf: what kernels print reaches the program's stdout, at the
 * point where the program waits for them, between its own lines. The first
 * CUDA call is a launch: cudart looks its kernel up before any context
 * exists (which remora once answered with CUDA_ERROR_INVALID_CONTEXT). */
#include "rt.h"

int main()
{
    printf("before\n");
    rm_print<<<2, 64>>>(7);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaDeviceSynchronize());
    printf("after the first\n");
    cudaStream_t s;
    RT_CHECK(cudaStreamCreate(&s));
    for (int i = 0; i < 3; i++)
        rm_print<<<1, 32, 0, s>>>(100 + i);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaStreamSynchronize(s));
    printf("after three\n");
    RT_CHECK(cudaStreamDestroy(s));
    printf("PASS rt_printf\n");
    return 0;
}
