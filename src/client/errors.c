/* Client: cuGetErrorName / cuGetErrorString, answered locally. */
#include <cuda.h>

#include "errors.h"
#include "export.h"

const rm_cuda_error_t *rm_cuda_error_find(int code)
{
    size_t lo = 0, hi = rm_cuda_error_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rm_cuda_errors[mid].code == code)
            return &rm_cuda_errors[mid];
        if (rm_cuda_errors[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

CUresult CUDAAPI RM_IMPL(cuGetErrorName)(CUresult code, const char **str)
{
    const rm_cuda_error_t *e = rm_cuda_error_find(code);
    if (!str)
        return CUDA_ERROR_INVALID_VALUE;
    *str = e ? e->name : NULL;
    return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI RM_IMPL(cuGetErrorString)(CUresult code, const char **str)
{
    const rm_cuda_error_t *e = rm_cuda_error_find(code);
    if (!str)
        return CUDA_ERROR_INVALID_VALUE;
    *str = e ? e->text : NULL;
    return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
