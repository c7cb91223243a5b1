/* Client: the JIT linker (cuLink*). A link state gathers its options and
 * inputs here (files are read here, where their paths mean something);
 * cuLinkComplete sends them in one call, the server's driver links them,
 * and the image comes back to be loaded like any other. The options are
 * taken as jit.h says; options given to single inputs are ignored. */
#include <cuda.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "export.h"
#include "jit.h"
#include "log.h"
#include "module.h"
#include "remora/protocol.h"
#include "rm_stubs.h"

typedef struct {
    rm_jit_t jit;
    rm_wbuf_t inputs; /* u32 type, bytes name, bytes data */
    void *image;      /* once complete: valid until cuLinkDestroy */
    size_t image_size;
} rm_link_t;

static void link_free(rm_link_t *l)
{
    rm_jit_free(&l->jit);
    rm_wbuf_free(&l->inputs);
    free(l->image);
    free(l);
}

CUresult CUDAAPI RM_IMPL(cuLinkCreate_v2)(unsigned int n, CUjit_option *opts, void **vals, CUlinkState *state)
{
    if (!state)
        return CUDA_ERROR_INVALID_VALUE;
    rm_link_t *l = calloc(1, sizeof *l);
    if (!l)
        return CUDA_ERROR_OUT_OF_MEMORY;
    rm_jit_init(&l->jit);
    rm_wbuf_init(&l->inputs);
    CUresult r = rm_jit_take(&l->jit, n, opts, vals, "cuLinkCreate");
    if (r != CUDA_SUCCESS) {
        link_free(l);
        return r;
    }
    *state = (CUlinkState)l;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuLinkAddData_v2)(CUlinkState state, CUjitInputType type, void *data, size_t size,
                                           const char *name, unsigned int n, CUjit_option *opts, void **vals)
{
    rm_link_t *l = (rm_link_t *)state;
    if (!l || !data || size == 0 || (unsigned)type >= CU_JIT_NUM_INPUT_TYPES)
        return CUDA_ERROR_INVALID_VALUE;
    const char *label = name ? name : "";
    if (size > RM_MAX_MSG || rm_wbuf_total(&l->inputs) + size + strlen(label) > RM_MAX_MSG / 2)
        return CUDA_ERROR_INVALID_VALUE; /* more than one message can carry */
    if (n)
        RM_DEBUG("cuLinkAddData: the options of input %s are ignored", label);
    rm_wbuf_u32(&l->inputs, (uint32_t)type);
    rm_wbuf_bytes(&l->inputs, label, (uint32_t)strlen(label) + 1);
    rm_wbuf_bytes(&l->inputs, data, (uint32_t)size);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuLinkAddFile_v2)(CUlinkState state, CUjitInputType type, const char *path, unsigned int n,
                                           CUjit_option *opts, void **vals)
{
    size_t size;
    void *data = state ? rm_cl_read_file(path, &size) : NULL;
    if (!data)
        return state ? CUDA_ERROR_FILE_NOT_FOUND : CUDA_ERROR_INVALID_VALUE;
    /* PTX is text: the driver takes it with its terminating NUL */
    CUresult r = cuLinkAddData_v2(state, type, data, type == CU_JIT_INPUT_PTX ? size + 1 : size, path, n, opts, vals);
    free(data);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuLinkComplete)(CUlinkState state, void **image, size_t *size)
{
    rm_link_t *l = (rm_link_t *)state;
    if (!l || !image || !size || l->image)
        return CUDA_ERROR_INVALID_VALUE;
    if (rm_wbuf_total(&l->inputs) == 0)
        return CUDA_ERROR_INVALID_VALUE; /* nothing to link */
    rm_link_req_t in = {l->jit.values.data, (uint32_t)l->jit.values.len, l->inputs.data, (uint32_t)l->inputs.len};
    rm_link_rep_t out;
    CUresult r = rm_call_link(&in, &out);
    if (r != CUDA_SUCCESS)
        return r;
    rm_jit_logs(&l->jit, out.info_log, out.info_log_len, out.error_log, out.error_log_len);
    if ((r = (CUresult)out.status) != CUDA_SUCCESS)
        return r;
    if (!(l->image = malloc(out.image_len ? out.image_len : 1)))
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(l->image, out.image, out.image_len);
    l->image_size = out.image_len;
    *image = l->image;
    *size = l->image_size;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuLinkDestroy)(CUlinkState state)
{
    if (!state)
        return CUDA_ERROR_INVALID_VALUE;
    link_free((rm_link_t *)state);
    return CUDA_SUCCESS;
}

/* The forms before CUDA 11's _v2 names, with the same arguments. */
CUresult CUDAAPI RM_IMPL(cuLinkCreate)(unsigned int n, CUjit_option *opts, void **vals, CUlinkState *state)
{
    return cuLinkCreate_v2(n, opts, vals, state);
}

CUresult CUDAAPI RM_IMPL(cuLinkAddData)(CUlinkState state, CUjitInputType type, void *data, size_t size,
                                        const char *name, unsigned int n, CUjit_option *opts, void **vals)
{
    return cuLinkAddData_v2(state, type, data, size, name, n, opts, vals);
}

CUresult CUDAAPI RM_IMPL(cuLinkAddFile)(CUlinkState state, CUjitInputType type, const char *path, unsigned int n,
                                        CUjit_option *opts, void **vals)
{
    return cuLinkAddFile_v2(state, type, path, n, opts, vals);
}
