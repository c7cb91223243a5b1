/* Client: texture and surface objects. Their values are the server
 * driver's own (kernels take them as arguments); the descriptors travel as
 * their cuda.h structs, in which arrays and mipmapped arrays are already
 * the handle ids this client holds and device memory is a device address. */
#include <cuda.h>
#include <stdint.h>

#include "chan.h"
#include "export.h"
#include "rm_stubs.h"


CUresult CUDAAPI RM_IMPL(cuTexObjectCreate)(CUtexObject *tex, const CUDA_RESOURCE_DESC *res,
                                            const CUDA_TEXTURE_DESC *desc, const CUDA_RESOURCE_VIEW_DESC *view)
{
    if (!tex || !res || !desc)
        return CUDA_ERROR_INVALID_VALUE;
    rm_tex_object_create_req_t in = {res, sizeof *res, desc, sizeof *desc, view, view ? sizeof *view : 0};
    rm_tex_object_create_rep_t out;
    CUresult r = rm_call_tex_object_create(&in, &out);
    if (r == CUDA_SUCCESS)
        *tex = out.tex;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuTexObjectDestroy)(CUtexObject tex)
{
    rm_tex_object_destroy_req_t in = {tex};
    rm_tex_object_destroy_rep_t out;
    return rm_call_tex_object_destroy(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuTexObjectGetResourceDesc)(CUDA_RESOURCE_DESC *res, CUtexObject tex)
{
    if (!res)
        return CUDA_ERROR_INVALID_VALUE;
    rm_tex_object_get_resource_desc_req_t in = {tex};
    rm_tex_object_get_resource_desc_rep_t out;
    CUresult r = rm_call_tex_object_get_resource_desc(&in, &out);
    return rm_chan_reply_copy(r, res, sizeof *res, out.res, out.res_len);
}

CUresult CUDAAPI RM_IMPL(cuTexObjectGetTextureDesc)(CUDA_TEXTURE_DESC *desc, CUtexObject tex)
{
    if (!desc)
        return CUDA_ERROR_INVALID_VALUE;
    rm_tex_object_get_texture_desc_req_t in = {tex};
    rm_tex_object_get_texture_desc_rep_t out;
    CUresult r = rm_call_tex_object_get_texture_desc(&in, &out);
    return rm_chan_reply_copy(r, desc, sizeof *desc, out.desc, out.desc_len);
}

CUresult CUDAAPI RM_IMPL(cuTexObjectGetResourceViewDesc)(CUDA_RESOURCE_VIEW_DESC *view, CUtexObject tex)
{
    if (!view)
        return CUDA_ERROR_INVALID_VALUE;
    rm_tex_object_get_view_desc_req_t in = {tex};
    rm_tex_object_get_view_desc_rep_t out;
    CUresult r = rm_call_tex_object_get_view_desc(&in, &out);
    return rm_chan_reply_copy(r, view, sizeof *view, out.view, out.view_len);
}

CUresult CUDAAPI RM_IMPL(cuSurfObjectCreate)(CUsurfObject *surf, const CUDA_RESOURCE_DESC *res)
{
    if (!surf || !res)
        return CUDA_ERROR_INVALID_VALUE;
    rm_surf_object_create_req_t in = {res, sizeof *res};
    rm_surf_object_create_rep_t out;
    CUresult r = rm_call_surf_object_create(&in, &out);
    if (r == CUDA_SUCCESS)
        *surf = out.surf;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuSurfObjectDestroy)(CUsurfObject surf)
{
    rm_surf_object_destroy_req_t in = {surf};
    rm_surf_object_destroy_rep_t out;
    return rm_call_surf_object_destroy(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuSurfObjectGetResourceDesc)(CUDA_RESOURCE_DESC *res, CUsurfObject surf)
{
    if (!res)
        return CUDA_ERROR_INVALID_VALUE;
    rm_surf_object_get_resource_desc_req_t in = {surf};
    rm_surf_object_get_resource_desc_rep_t out;
    CUresult r = rm_call_surf_object_get_resource_desc(&in, &out);
    return rm_chan_reply_copy(r, res, sizeof *res, out.res, out.res_len);
}
