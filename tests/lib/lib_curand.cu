/* cuRAND: host-API generators filling device memory. */
#include <curand.h>

#include "lib.h"

#define RAND(call) LIB_CHECK("curand", call, CURAND_STATUS_SUCCESS)

enum { N = 1 << 16 };

int main()
{
    float *f = nullptr;
    double *d = nullptr;
    unsigned *u = nullptr;
    RT_OK(cudaMalloc(&f, N * sizeof(float)));
    RT_OK(cudaMalloc(&d, N * sizeof(double)));
    RT_OK(cudaMalloc(&u, N * sizeof(unsigned)));
    const curandRngType_t kinds[] = {CURAND_RNG_PSEUDO_PHILOX4_32_10, CURAND_RNG_PSEUDO_XORWOW,
                                     CURAND_RNG_PSEUDO_MRG32K3A};
    const char *names[] = {"philox", "xorwow", "mrg32k3a"};
    for (int k = 0; k < 3; k++) {
        curandGenerator_t g;
        char what[64];
        RAND(curandCreateGenerator(&g, kinds[k]));
        RAND(curandSetPseudoRandomGeneratorSeed(g, 1234));
        RAND(curandGenerateUniform(g, f, N));
        snprintf(what, sizeof what, "%s uniform", names[k]);
        lib_report(what, f, N);
        RAND(curandGenerateNormalDouble(g, d, N, 0.0, 1.0));
        snprintf(what, sizeof what, "%s normal", names[k]);
        lib_report(what, d, N);
        RAND(curandGenerate(g, u, N));
        snprintf(what, sizeof what, "%s bits", names[k]);
        lib_report(what, u, N);
        RAND(curandDestroyGenerator(g));
    }
    RT_OK(cudaFree(f));
    RT_OK(cudaFree(d));
    RT_OK(cudaFree(u));
    printf("PASS lib_curand\n");
    return 0;
}
