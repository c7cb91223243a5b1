/* Shared by the library programs (tests/lib/lib_*.cu): NVIDIA's libraries
 * (cuBLAS, cuFFT, cuRAND, cuSPARSE, cuSOLVER, cuDNN) as a user links them,
 * on whichever libcuda.so.1 the loader finds. Each prints a checksum of
 * every result (the GPU suite compares a remora run with the native one
 * byte for byte: same GPU, same library, same algorithms) and ends with
 * "PASS <name>". The library kernels are NVIDIA's, so these run on a GPU
 * only; CI builds them. */
#ifndef RM_LIB_H
#define RM_LIB_H

#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>
#include <cuda_runtime.h>

#define LIB_CHECK(what, call, ok)                                                                  \
    do {                                                                                           \
        long long lib_status_ = (long long)(call);                                                 \
        if (lib_status_ != (long long)(ok)) {                                                      \
            printf("FAIL %s:%d: %s: %s status %lld\n", __FILE__, __LINE__, #call, what,            \
                   lib_status_);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define RT_OK(call) LIB_CHECK("cudart", call, cudaSuccess)

/* Deterministic inputs in [-1, 1). */
static inline void lib_fill(float *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / (float)(1u << 23) - 1.0f;
    }
}

/* FNV-1a of the bytes: equal outputs, equal sums. */
static inline unsigned long long lib_sum(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    unsigned long long h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Copies n elements of device memory back and prints their checksum. */
template <typename T> static void lib_report(const char *what, const T *dev, size_t n)
{
    std::vector<T> host(n);
    RT_OK(cudaMemcpy(host.data(), dev, n * sizeof(T), cudaMemcpyDeviceToHost));
    printf("%s checksum %016llx\n", what, lib_sum(host.data(), n * sizeof(T)));
}

/* A device copy of n deterministic floats. */
static inline float *lib_device_floats(size_t n, uint32_t seed)
{
    std::vector<float> host(n);
    lib_fill(host.data(), n, seed);
    float *dev = nullptr;
    RT_OK(cudaMalloc(&dev, n * sizeof(float)));
    RT_OK(cudaMemcpy(dev, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    return dev;
}

#endif
