/* Shared by the runtime-API programs (tests/rt/rt_*.cu): NVIDIA's cudart,
 * linked statically and as libcudart.so, on top of whichever libcuda.so.1
 * the loader finds (the real driver or remora's). Each program prints
 * deterministic lines (the GPU suite compares them with a native run; '#'
 * lines are not compared) and ends with "PASS <name>". The kernels are
 * tests/kernels/rm_kernels.cu with C++ linkage, which the fake backend knows
 * by their mangled names. */
#ifndef RM_RT_H
#define RM_RT_H

#include <cstdio>
#include <cstdlib>
#include <cuda.h>
#include <cuda_runtime.h>

#define RM_KERNEL __global__
#include "../kernels/rm_kernels.cu"

#define RT_CHECK(call)                                                                             \
    do {                                                                                           \
        cudaError_t rt_err_ = (call);                                                              \
        if (rt_err_ != cudaSuccess) {                                                              \
            printf("FAIL %s:%d: %s: %s (%d)\n", __FILE__, __LINE__, #call,                         \
                   cudaGetErrorName(rt_err_), (int)rt_err_);                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* For the driver calls some programs make beside the runtime's. */
#define CU_CHECK(call)                                                                             \
    do {                                                                                           \
        CUresult cu_err_ = (call);                                                                 \
        if (cu_err_ != CUDA_SUCCESS) {                                                             \
            printf("FAIL %s:%d: %s: %d\n", __FILE__, __LINE__, #call, (int)cu_err_);              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define RT_EXPECT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
