/* cuSPARSE: y = A x with A a banded CSR matrix (generic API). */
#include <cusparse.h>

#include "lib.h"

#define SPARSE(call) LIB_CHECK("cusparse", call, CUSPARSE_STATUS_SUCCESS)

enum { ROWS = 4096, BAND = 5 };

template <typename T> static T *to_device(const std::vector<T> &v)
{
    T *dev = nullptr;
    RT_OK(cudaMalloc(&dev, v.size() * sizeof(T)));
    RT_OK(cudaMemcpy(dev, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return dev;
}

int main()
{
    std::vector<int> offsets(1, 0), columns;
    for (int r = 0; r < ROWS; r++) {
        for (int c = r - BAND / 2; c <= r + BAND / 2; c++)
            if (c >= 0 && c < ROWS)
                columns.push_back(c);
        offsets.push_back((int)columns.size());
    }
    std::vector<float> values(columns.size());
    lib_fill(values.data(), values.size(), 5);
    int *d_off = to_device(offsets), *d_col = to_device(columns);
    float *d_val = to_device(values), *x = lib_device_floats(ROWS, 6), *y = nullptr;
    RT_OK(cudaMalloc(&y, ROWS * sizeof(float)));

    cusparseHandle_t h;
    cusparseSpMatDescr_t a;
    cusparseDnVecDescr_t vx, vy;
    SPARSE(cusparseCreate(&h));
    SPARSE(cusparseCreateCsr(&a, ROWS, ROWS, (int64_t)values.size(), d_off, d_col, d_val, CUSPARSE_INDEX_32I,
                             CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    SPARSE(cusparseCreateDnVec(&vx, ROWS, x, CUDA_R_32F));
    SPARSE(cusparseCreateDnVec(&vy, ROWS, y, CUDA_R_32F));
    const float one = 1.0f, zero = 0.0f;
    size_t bytes = 0;
    void *work = nullptr;
    SPARSE(cusparseSpMV_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a, vx, &zero, vy, CUDA_R_32F,
                                   CUSPARSE_SPMV_CSR_ALG1, &bytes));
    RT_OK(cudaMalloc(&work, bytes ? bytes : 1));
    SPARSE(cusparseSpMV(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a, vx, &zero, vy, CUDA_R_32F,
                        CUSPARSE_SPMV_CSR_ALG1, work));
    lib_report("spmv", y, ROWS);
    SPARSE(cusparseDestroySpMat(a));
    SPARSE(cusparseDestroyDnVec(vx));
    SPARSE(cusparseDestroyDnVec(vy));
    SPARSE(cusparseDestroy(h));
    for (void *p : {(void *)d_off, (void *)d_col, (void *)d_val, (void *)x, (void *)y, work})
        RT_OK(cudaFree(p));
    printf("PASS lib_cusparse\n");
    return 0;
}
