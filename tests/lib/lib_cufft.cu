/* cuFFT: a 1D complex transform forward and back, and a 2D real one. */
#include <cufft.h>

#include "lib.h"

#define FFT(call) LIB_CHECK("cufft", call, CUFFT_SUCCESS)

enum { N1 = 4096, NX = 96, NY = 64 };

int main()
{
    cufftComplex *x = (cufftComplex *)lib_device_floats(2 * N1, 3);
    cufftHandle p1;
    FFT(cufftPlan1d(&p1, N1, CUFFT_C2C, 1));
    FFT(cufftExecC2C(p1, x, x, CUFFT_FORWARD));
    lib_report("c2c forward", x, N1);
    FFT(cufftExecC2C(p1, x, x, CUFFT_INVERSE));
    lib_report("c2c inverse", x, N1);
    FFT(cufftDestroy(p1));

    float *r = lib_device_floats(NX * NY, 4);
    cufftComplex *spec = nullptr;
    RT_OK(cudaMalloc(&spec, NX * (NY / 2 + 1) * sizeof(cufftComplex)));
    cufftHandle p2;
    FFT(cufftPlan2d(&p2, NX, NY, CUFFT_R2C));
    FFT(cufftExecR2C(p2, r, spec));
    lib_report("r2c 2d", spec, NX * (NY / 2 + 1));
    FFT(cufftDestroy(p2));
    RT_OK(cudaFree(x));
    RT_OK(cudaFree(r));
    RT_OK(cudaFree(spec));
    printf("PASS lib_cufft\n");
    return 0;
}
