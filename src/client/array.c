/* Client: CUDA arrays and mipmapped arrays. They are server handles; every
 * array is described to the server by a CUDA_ARRAY3D_DESCRIPTOR (a 2D
 * array has Depth 0, as cuArray3DCreate takes it). Copies with arrays
 * are in copy.c, texture and surface objects in texture.c. */
#include <cuda.h>
#include <stdint.h>

#include "chan.h"
#include "export.h"
#include "rm_stubs.h"

static uint64_t id(const void *h) { return (uint64_t)(uintptr_t)h; }

static CUresult create(CUarray *a, const CUDA_ARRAY3D_DESCRIPTOR *d)
{
    if (!a || !d)
        return CUDA_ERROR_INVALID_VALUE;
    rm_array_create_req_t in = {d, sizeof *d};
    rm_array_create_rep_t out;
    CUresult r = rm_call_array_create(&in, &out);
    if (r == CUDA_SUCCESS)
        *a = (CUarray)(uintptr_t)out.array;
    return r;
}

static CUresult describe(CUDA_ARRAY3D_DESCRIPTOR *d, CUarray a)
{
    if (!d)
        return CUDA_ERROR_INVALID_VALUE;
    rm_array_get_descriptor_req_t in = {id(a)};
    rm_array_get_descriptor_rep_t out;
    CUresult r = rm_call_array_get_descriptor(&in, &out);
    return rm_chan_reply_copy(r, d, sizeof *d, out.desc, out.desc_len);
}

CUresult CUDAAPI RM_IMPL(cuArray3DCreate_v2)(CUarray *a, const CUDA_ARRAY3D_DESCRIPTOR *d) { return create(a, d); }

CUresult CUDAAPI RM_IMPL(cuArrayCreate_v2)(CUarray *a, const CUDA_ARRAY_DESCRIPTOR *d)
{
    if (!d)
        return CUDA_ERROR_INVALID_VALUE;
    CUDA_ARRAY3D_DESCRIPTOR d3 = {d->Width, d->Height, 0, d->Format, d->NumChannels, 0};
    return create(a, &d3);
}

CUresult CUDAAPI RM_IMPL(cuArray3DGetDescriptor_v2)(CUDA_ARRAY3D_DESCRIPTOR *d, CUarray a) { return describe(d, a); }

CUresult CUDAAPI RM_IMPL(cuArrayGetDescriptor_v2)(CUDA_ARRAY_DESCRIPTOR *d, CUarray a)
{
    CUDA_ARRAY3D_DESCRIPTOR d3;
    if (!d)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = describe(&d3, a);
    if (r == CUDA_SUCCESS)
        *d = (CUDA_ARRAY_DESCRIPTOR){d3.Width, d3.Height, d3.Format, d3.NumChannels};
    return r;
}

CUresult CUDAAPI RM_IMPL(cuArrayDestroy)(CUarray a)
{
    rm_array_destroy_req_t in = {id(a)};
    rm_array_destroy_rep_t out;
    return rm_call_array_destroy(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuMipmappedArrayCreate)(CUmipmappedArray *m, const CUDA_ARRAY3D_DESCRIPTOR *d,
                                                 unsigned int levels)
{
    if (!m || !d)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mipmap_create_req_t in = {d, sizeof *d, levels};
    rm_mipmap_create_rep_t out;
    CUresult r = rm_call_mipmap_create(&in, &out);
    if (r == CUDA_SUCCESS)
        *m = (CUmipmappedArray)(uintptr_t)out.mipmap;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMipmappedArrayDestroy)(CUmipmappedArray m)
{
    rm_mipmap_destroy_req_t in = {id(m)};
    rm_mipmap_destroy_rep_t out;
    return rm_call_mipmap_destroy(&in, &out);
}
