/* Client: export-table entries NVIDIA's libraries (cuBLAS, and through it
 * PyTorch, CuPy, JAX) call, measured with tools/driver-probe's watch on
 * driver 580 (notes in proto/export_tables.spec):
 *  - tools_tls [2](CUcontext *out, int, void *): the driver wrote the
 *    calling thread's current context and answered 0, whatever the other
 *    arguments were (cuBLAS calls it when it creates a handle and before
 *    its first kernels);
 *  - cublas_interface [4](CUcontext, uint64_t *out, void *): the driver
 *    wrote 1 (8 bytes) and answered 0 for a context cuBLAS had just been
 *    handed by [2];
 *  - cufft_interface [7](CUcontext, CUmodule, visit, void **out, arg, ?):
 *    for a module cuFFT had just loaded, the driver called
 *    visit(out, CUfunction, its name, 0, 0, arg) with the module's (only)
 *    function; visit stored the function in *out, and the driver answered
 *    1. remora visits the module's functions in the driver's order until
 *    one is stored. */
#include <cuda.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_current.h"
#include "log.h"
#include "rm_stubs.h"

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

typedef int (*rm_xt_visit_fn)(void **out, CUfunction f, const char *name, uint64_t, uint64_t, void *arg);

int rm_xt_module_find_function(CUcontext ctx, CUmodule mod, rm_xt_visit_fn visit, void **out, void *arg)
{
    (void)ctx;
    if (!visit || !out)
        return CUDA_ERROR_INVALID_VALUE;
    rm_module_function_names_req_t in = {.module = (uint64_t)(uintptr_t)mod};
    rm_module_function_names_rep_t names;
    CUresult r = rm_call_module_function_names(&in, &names);
    if (r != CUDA_SUCCESS)
        return r;
    /* a copy: the reply lives only until the next call */
    char *copy = names.names_len ? malloc(names.names_len) : NULL;
    if (names.names_len && !copy)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (copy)
        memcpy(copy, names.names, names.names_len);
    void *before = *out;
    const char *at = copy, *end = copy ? copy + names.names_len : NULL;
    while (at < end && *out == before && r == CUDA_SUCCESS) {
        size_t len = strnlen(at, (size_t)(end - at));
        CUfunction f;
        if (len == (size_t)(end - at)) /* not terminated */
            r = CUDA_ERROR_INVALID_VALUE;
        else if ((r = cuModuleGetFunction(&f, mod, at)) == CUDA_SUCCESS)
            visit(out, f, at, 0, 0, arg);
        at += len + 1;
    }
    free(copy);
    if (r != CUDA_SUCCESS)
        return r;
    if (*out != before)
        return 1;
    RM_WARN("cufft_interface [7]: no function of module %p was taken", (void *)mod);
    return CUDA_ERROR_NOT_FOUND;
}
