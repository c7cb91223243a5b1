/* Handlers: texture and surface objects.
 *
 * Their values are the driver's own: kernels take them as plain arguments,
 * so the client must see what the driver made. The session still keeps
 * each one it created (a handle slot whose pointer is the value, owned by
 * the current context), so destroying or querying an object the session
 * did not create is an error that never reaches the driver. The resource
 * descriptor names arrays and mipmaps by handle id on the wire and device
 * memory by address (checked against the session's memory); a descriptor
 * read back is translated to ids again. */
#include <string.h>

#include "log.h"
#include "rm_handlers.h"

/* Wire descriptor to driver descriptor. */
static CUresult res_in(rm_sv_t *sv, const void *blob, uint32_t len, CUDA_RESOURCE_DESC *res)
{
    void *p;
    if (len != sizeof *res)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(res, blob, sizeof *res);
    switch (res->resType) {
    case CU_RESOURCE_TYPE_ARRAY:
        if (rm_sv_handle_get(sv, RM_H_ARRAY, (uint64_t)(uintptr_t)res->res.array.hArray, &p) != 0)
            return CUDA_ERROR_INVALID_HANDLE;
        res->res.array.hArray = p;
        return CUDA_SUCCESS;
    case CU_RESOURCE_TYPE_MIPMAPPED_ARRAY:
        if (rm_sv_handle_get(sv, RM_H_MIPMAP, (uint64_t)(uintptr_t)res->res.mipmap.hMipmappedArray, &p) != 0)
            return CUDA_ERROR_INVALID_HANDLE;
        res->res.mipmap.hMipmappedArray = p;
        return CUDA_SUCCESS;
    case CU_RESOURCE_TYPE_LINEAR:
        return rm_sv_check_range(sv, res->res.linear.devPtr, res->res.linear.sizeInBytes, "texture memory");
    case CU_RESOURCE_TYPE_PITCH2D: {
        uint64_t span;
        if (res->res.pitch2D.height == 0 ||
            __builtin_mul_overflow((uint64_t)res->res.pitch2D.pitchInBytes, (uint64_t)res->res.pitch2D.height, &span))
            return CUDA_ERROR_INVALID_VALUE;
        return rm_sv_check_range(sv, res->res.pitch2D.devPtr, span, "texture memory");
    }
    default: return CUDA_ERROR_INVALID_VALUE;
    }
}

/* Driver descriptor back to wire descriptor (into the reply scratch). */
static CUresult res_out(rm_sv_t *sv, const CUDA_RESOURCE_DESC *res, const void **blob, uint32_t *len)
{
    CUDA_RESOURCE_DESC *w = rm_sv_scratch(sv, sizeof *w);
    if (!w)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *w = *res;
    rm_handles_t *t = &sv->s->handles;
    if (res->resType == CU_RESOURCE_TYPE_ARRAY)
        w->res.array.hArray = (CUarray)(uintptr_t)rm_handles_find(t, RM_H_ARRAY, res->res.array.hArray);
    else if (res->resType == CU_RESOURCE_TYPE_MIPMAPPED_ARRAY)
        w->res.mipmap.hMipmappedArray =
            (CUmipmappedArray)(uintptr_t)rm_handles_find(t, RM_H_MIPMAP, res->res.mipmap.hMipmappedArray);
    *blob = w;
    *len = sizeof *w;
    return CUDA_SUCCESS;
}

/* An object this session made (value 0 is never one). */
/* The id of an object value this session made; with claim, taken for its
 * destruction (see rm_handles_claim). */
static CUresult known(rm_sv_t *sv, rm_hkind kind, uint64_t value, uint64_t *id, int claim)
{
    void *p;
    *id = value ? rm_handles_find(&sv->s->handles, kind, (void *)(uintptr_t)value) : 0;
    if (*id && claim && rm_handles_claim(&sv->s->handles, kind, *id, &p) != 0)
        *id = 0; /* another channel destroys it right now */
    if (*id)
        return CUDA_SUCCESS;
    RM_DEBUG("session %llu: %s object %#llx was not created by this session", (unsigned long long)sv->s->id,
             kind == RM_H_TEXOBJ ? "texture" : "surface", (unsigned long long)value);
    return CUDA_ERROR_INVALID_VALUE;
}

static CUresult track(rm_sv_t *sv, rm_hkind kind, uint64_t value, CUresult (*destroy)(unsigned long long))
{
    if (rm_sv_handle_put(sv, kind, (void *)(uintptr_t)value))
        return CUDA_SUCCESS;
    destroy(value);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult rm_sv_tex_object_create(rm_sv_t *sv, const rm_tex_object_create_req_t *in, rm_tex_object_create_rep_t *out)
{
    RM_SV_NEED(sv, cuTexObjectCreate);
    CUDA_RESOURCE_DESC res;
    CUDA_TEXTURE_DESC desc;
    CUDA_RESOURCE_VIEW_DESC view;
    CUresult r = res_in(sv, in->res, in->res_len, &res);
    if (r != CUDA_SUCCESS)
        return r;
    if (in->desc_len != sizeof desc || (in->view_len != 0 && in->view_len != sizeof view))
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&desc, in->desc, sizeof desc);
    if (in->view_len)
        memcpy(&view, in->view, sizeof view);
    CUtexObject tex = 0;
    r = sv->b->cuTexObjectCreate(&tex, &res, &desc, in->view_len ? &view : NULL);
    if (r != CUDA_SUCCESS)
        return r;
    out->tex = tex;
    return track(sv, RM_H_TEXOBJ, tex, sv->b->cuTexObjectDestroy);
}

CUresult rm_sv_tex_object_destroy(rm_sv_t *sv, const rm_tex_object_destroy_req_t *in, rm_tex_object_destroy_rep_t *out)
{
    RM_SV_NEED(sv, cuTexObjectDestroy);
    uint64_t id;
    CUresult r = known(sv, RM_H_TEXOBJ, in->tex, &id, 1);
    return r != CUDA_SUCCESS ? r : rm_sv_handle_settle(sv, RM_H_TEXOBJ, id, sv->b->cuTexObjectDestroy(in->tex));
}

CUresult rm_sv_tex_object_get_resource_desc(rm_sv_t *sv, const rm_tex_object_get_resource_desc_req_t *in,
                                            rm_tex_object_get_resource_desc_rep_t *out)
{
    RM_SV_NEED(sv, cuTexObjectGetResourceDesc);
    CUDA_RESOURCE_DESC res;
    uint64_t id;
    CUresult r = known(sv, RM_H_TEXOBJ, in->tex, &id, 0);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuTexObjectGetResourceDesc(&res, in->tex);
    return r == CUDA_SUCCESS ? res_out(sv, &res, &out->res, &out->res_len) : r;
}

CUresult rm_sv_tex_object_get_texture_desc(rm_sv_t *sv, const rm_tex_object_get_texture_desc_req_t *in,
                                           rm_tex_object_get_texture_desc_rep_t *out)
{
    RM_SV_NEED(sv, cuTexObjectGetTextureDesc);
    CUDA_TEXTURE_DESC *d = rm_sv_scratch(sv, sizeof *d);
    uint64_t id;
    if (!d)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = known(sv, RM_H_TEXOBJ, in->tex, &id, 0);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuTexObjectGetTextureDesc(d, in->tex);
    out->desc = d;
    out->desc_len = r == CUDA_SUCCESS ? sizeof *d : 0;
    return r;
}

CUresult rm_sv_tex_object_get_view_desc(rm_sv_t *sv, const rm_tex_object_get_view_desc_req_t *in,
                                        rm_tex_object_get_view_desc_rep_t *out)
{
    RM_SV_NEED(sv, cuTexObjectGetResourceViewDesc);
    CUDA_RESOURCE_VIEW_DESC *v = rm_sv_scratch(sv, sizeof *v);
    uint64_t id;
    if (!v)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = known(sv, RM_H_TEXOBJ, in->tex, &id, 0);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuTexObjectGetResourceViewDesc(v, in->tex);
    out->view = v;
    out->view_len = r == CUDA_SUCCESS ? sizeof *v : 0;
    return r;
}

CUresult rm_sv_surf_object_create(rm_sv_t *sv, const rm_surf_object_create_req_t *in,
                                  rm_surf_object_create_rep_t *out)
{
    RM_SV_NEED(sv, cuSurfObjectCreate);
    CUDA_RESOURCE_DESC res;
    CUresult r = res_in(sv, in->res, in->res_len, &res);
    CUsurfObject surf = 0;
    if (r == CUDA_SUCCESS)
        r = sv->b->cuSurfObjectCreate(&surf, &res);
    if (r != CUDA_SUCCESS)
        return r;
    out->surf = surf;
    return track(sv, RM_H_SURFOBJ, surf, sv->b->cuSurfObjectDestroy);
}

CUresult rm_sv_surf_object_destroy(rm_sv_t *sv, const rm_surf_object_destroy_req_t *in,
                                   rm_surf_object_destroy_rep_t *out)
{
    RM_SV_NEED(sv, cuSurfObjectDestroy);
    uint64_t id;
    CUresult r = known(sv, RM_H_SURFOBJ, in->surf, &id, 1);
    return r != CUDA_SUCCESS ? r : rm_sv_handle_settle(sv, RM_H_SURFOBJ, id, sv->b->cuSurfObjectDestroy(in->surf));
}

CUresult rm_sv_surf_object_get_resource_desc(rm_sv_t *sv, const rm_surf_object_get_resource_desc_req_t *in,
                                             rm_surf_object_get_resource_desc_rep_t *out)
{
    RM_SV_NEED(sv, cuSurfObjectGetResourceDesc);
    CUDA_RESOURCE_DESC res;
    uint64_t id;
    CUresult r = known(sv, RM_H_SURFOBJ, in->surf, &id, 0);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuSurfObjectGetResourceDesc(&res, in->surf);
    return r == CUDA_SUCCESS ? res_out(sv, &res, &out->res, &out->res_len) : r;
}
