/* Client: export-table entries NVIDIA's libraries (cuBLAS, and through it
 * PyTorch, CuPy, JAX) call, measured with tools/driver-probe's watch on
 * driver 580 (notes in proto/export_tables.spec):
 *  - tools_tls [2](CUcontext *out, int, void *): the driver wrote the
 *    calling thread's current context and answered 0, whatever the other
 *    arguments were (cuBLAS calls it when it creates a handle and before
 *    its first kernels);
 *  - cublas_interface [4](CUcontext, uint64_t *out, void *): the driver
 *    wrote 1 (8 bytes) and answered 0 for a context cuBLAS had just been
 *    handed by [2]. */
#include <cuda.h>
#include <stdint.h>

#include "ctx_current.h"

CUresult rm_xt_current_ctx(CUcontext *out, int what, void *arg)
{
    (void)what;
    (void)arg;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    *out = rm_ctx_current();
    return CUDA_SUCCESS;
}

CUresult rm_xt_ctx_usable(CUcontext ctx, uint64_t *out, void *arg)
{
    (void)ctx;
    (void)arg;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    *out = 1;
    return CUDA_SUCCESS;
}
