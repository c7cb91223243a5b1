/* cuSOLVER: LU with pivoting (getrf) and Cholesky (potrf) of dense
 * matrices in double precision. */
#include <cusolverDn.h>

#include "lib.h"

#define SOLVER(call) LIB_CHECK("cusolver", call, CUSOLVER_STATUS_SUCCESS)

enum { N = 128 };

static double *matrix(int spd)
{
    std::vector<float> f(N * N);
    lib_fill(f.data(), f.size(), 7);
    std::vector<double> m(N * N);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) /* symmetric, diagonally dominant when spd */
            m[i * N + j] = spd ? (i == j ? 2.0 * N : 0.5 * (f[i * N + j] + f[j * N + i])) : f[i * N + j];
    double *dev = nullptr;
    RT_OK(cudaMalloc(&dev, m.size() * sizeof(double)));
    RT_OK(cudaMemcpy(dev, m.data(), m.size() * sizeof(double), cudaMemcpyHostToDevice));
    return dev;
}

static void check_info(const int *d_info, const char *what)
{
    int info = -1;
    RT_OK(cudaMemcpy(&info, d_info, sizeof info, cudaMemcpyDeviceToHost));
    printf("%s info %d\n", what, info);
}

int main()
{
    cusolverDnHandle_t h;
    SOLVER(cusolverDnCreate(&h));
    int lwork = 0, *d_info = nullptr, *d_pivots = nullptr;
    double *work = nullptr, *a = matrix(0), *s = matrix(1);
    RT_OK(cudaMalloc(&d_info, sizeof(int)));
    RT_OK(cudaMalloc(&d_pivots, N * sizeof(int)));

    SOLVER(cusolverDnDgetrf_bufferSize(h, N, N, a, N, &lwork));
    RT_OK(cudaMalloc(&work, lwork * sizeof(double)));
    SOLVER(cusolverDnDgetrf(h, N, N, a, N, work, d_pivots, d_info));
    check_info(d_info, "getrf");
    lib_report("getrf factors", a, N * N);
    lib_report("getrf pivots", d_pivots, N);
    RT_OK(cudaFree(work));

    SOLVER(cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, N, s, N, &lwork));
    RT_OK(cudaMalloc(&work, lwork * sizeof(double)));
    SOLVER(cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, N, s, N, work, lwork, d_info));
    check_info(d_info, "potrf");
    lib_report("potrf factor", s, N * N);

    SOLVER(cusolverDnDestroy(h));
    for (void *p : {(void *)work, (void *)a, (void *)s, (void *)d_info, (void *)d_pivots})
        RT_OK(cudaFree(p));
    printf("PASS lib_cusolver\n");
    return 0;
}
