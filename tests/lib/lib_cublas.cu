/* cuBLAS: SGEMM, DGEMM, HGEMM and a cuBLASLt matmul. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include "lib.h"

#define BLAS(call) LIB_CHECK("cublas", call, CUBLAS_STATUS_SUCCESS)

enum { M = 192, N = 160, K = 128 };

template <typename T> static T *device_as(const float *src, size_t n)
{
    std::vector<T> host(n);
    std::vector<float> f(n);
    RT_OK(cudaMemcpy(f.data(), src, n * sizeof(float), cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++)
        host[i] = (T)f[i];
    T *dev = nullptr;
    RT_OK(cudaMalloc(&dev, n * sizeof(T)));
    RT_OK(cudaMemcpy(dev, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    return dev;
}

int main()
{
    cublasHandle_t h;
    BLAS(cublasCreate(&h));
    float *a = lib_device_floats(M * K, 1), *b = lib_device_floats(K * N, 2), *c = nullptr;
    RT_OK(cudaMalloc(&c, M * N * sizeof(float)));
    const float one = 1.0f, zero = 0.0f;
    BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, &one, a, M, b, K, &zero, c, M));
    lib_report("sgemm", c, M * N);

    double *da = device_as<double>(a, M * K), *db = device_as<double>(b, K * N), *dc = nullptr;
    RT_OK(cudaMalloc(&dc, M * N * sizeof(double)));
    const double done = 1.0, dzero = 0.0;
    BLAS(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, M, N, K, &done, da, M, db, N, &dzero, dc, M));
    lib_report("dgemm", dc, M * N);

    __half *ha = device_as<__half>(a, M * K), *hb = device_as<__half>(b, K * N), *hc = nullptr;
    RT_OK(cudaMalloc(&hc, M * N * sizeof(__half)));
    const __half hone = __float2half(1.0f), hzero = __float2half(0.0f);
    BLAS(cublasHgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, &hone, ha, M, hb, K, &hzero, hc, M));
    lib_report("hgemm", hc, M * N);

    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    BLAS(cublasLtCreate(&lt));
    BLAS(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    BLAS(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, M, K, M));
    BLAS(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, K, N, K));
    BLAS(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, M, N, M));
    RT_OK(cudaMemset(c, 0, M * N * sizeof(float)));
    BLAS(cublasLtMatmul(lt, op, &one, a, la, b, lb, &zero, c, lc, c, lc, nullptr, nullptr, 0, 0));
    RT_OK(cudaDeviceSynchronize());
    lib_report("lt matmul", c, M * N);
    BLAS(cublasLtMatrixLayoutDestroy(la));
    BLAS(cublasLtMatrixLayoutDestroy(lb));
    BLAS(cublasLtMatrixLayoutDestroy(lc));
    BLAS(cublasLtMatmulDescDestroy(op));
    BLAS(cublasLtDestroy(lt));

    BLAS(cublasDestroy(h));
    for (void *p : {(void *)a, (void *)b, (void *)c, (void *)da, (void *)db, (void *)dc, (void *)ha,
                    (void *)hb, (void *)hc})
        RT_OK(cudaFree(p));
    printf("PASS lib_cublas\n");
    return 0;
}
