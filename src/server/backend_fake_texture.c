/* Fake backend, texture and surface objects. An object's value is the
 * address of its record (what it was made from); the built-in kernels
 * rm_tex_read and rm_surf_write reach its texels through rm_fake_texels.
 * Objects are made over any resource the driver takes (checked as it
 * would: live arrays and mipmaps, known device memory); sampling is
 * emulated for 2D single-channel float data, point-filtered with
 * unnormalised coordinates, which is what those kernels ask for. */
#include "backend_fake.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct fake_texobj {
    bool surface;
    bool has_view;
    CUDA_RESOURCE_DESC res;
    CUDA_TEXTURE_DESC tex;
    CUDA_RESOURCE_VIEW_DESC view;
} fake_texobj_t;

static fake_texobj_t *texobj_find(uint64_t value, bool surface)
{
    fake_texobj_t *o = (fake_texobj_t *)(uintptr_t)value;
    return value && rm_fake_set_has(&rm_fake_state.texobjs, o) && o->surface == surface ? o : NULL;
}

/* The rows of pitched memory lie in known memory. */
static bool pitch2d_known(const CUDA_RESOURCE_DESC *r)
{
    size_t span;
    return !__builtin_mul_overflow(r->res.pitch2D.pitchInBytes, r->res.pitch2D.height, &span) &&
           rm_fake_range_covers(r->res.pitch2D.devPtr, span);
}

/* The resource must exist and, for a surface, be an array made for
 * surface load/store (lock held). */
static CUresult resource_check(const CUDA_RESOURCE_DESC *r, bool surface)
{
    if (!r)
        return CUDA_ERROR_INVALID_VALUE;
    if (surface && r->resType != CU_RESOURCE_TYPE_ARRAY)
        return CUDA_ERROR_INVALID_VALUE;
    switch (r->resType) {
    case CU_RESOURCE_TYPE_ARRAY: {
        CUarray a = r->res.array.hArray;
        if (!rm_fake_set_has(&rm_fake_state.arrays, a))
            return CUDA_ERROR_INVALID_HANDLE;
        return surface && !(a->desc.Flags & CUDA_ARRAY3D_SURFACE_LDST) ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
    }
    case CU_RESOURCE_TYPE_MIPMAPPED_ARRAY:
        return rm_fake_set_has(&rm_fake_state.mipmaps, r->res.mipmap.hMipmappedArray) ? CUDA_SUCCESS
                                                                                      : CUDA_ERROR_INVALID_HANDLE;
    case CU_RESOURCE_TYPE_LINEAR:
        return r->res.linear.sizeInBytes && rm_fake_range_covers(r->res.linear.devPtr, r->res.linear.sizeInBytes)
                   ? CUDA_SUCCESS
                   : CUDA_ERROR_INVALID_VALUE;
    case CU_RESOURCE_TYPE_PITCH2D: {
        const size_t row = r->res.pitch2D.width * sizeof(float);
        return r->res.pitch2D.width && r->res.pitch2D.height && r->res.pitch2D.pitchInBytes >= row &&
                       pitch2d_known(r)
                   ? CUDA_SUCCESS
                   : CUDA_ERROR_INVALID_VALUE;
    }
    default: return CUDA_ERROR_INVALID_VALUE;
    }
}

static CUresult object_create(uint64_t *out, bool surface, const CUDA_RESOURCE_DESC *r, const CUDA_TEXTURE_DESC *t,
                              const CUDA_RESOURCE_VIEW_DESC *v)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!out || (!surface && !t)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = resource_check(r, surface);
    fake_texobj_t *o = NULL;
    if (rc == CUDA_SUCCESS && (!(o = calloc(1, sizeof *o)) || !rm_fake_set_add(&rm_fake_state.texobjs, o))) {
        free(o);
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (rc == CUDA_SUCCESS) {
        *o = (fake_texobj_t){.surface = surface, .has_view = v != NULL, .res = *r};
        if (t)
            o->tex = *t;
        if (v)
            o->view = *v;
        *out = (uint64_t)(uintptr_t)o;
    }
    return rm_fake_leave(rc);
}

/* The live object of that kind named by value (lock taken; on success it
 * stays taken and rm_fake_leave must follow). */
static CUresult object_enter(uint64_t value, bool surface, fake_texobj_t **o)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !(*o = texobj_find(value, surface)))
        rc = CUDA_ERROR_INVALID_VALUE;
    return rc;
}

static CUresult object_destroy(uint64_t value, bool surface)
{
    fake_texobj_t *o;
    CUresult rc = object_enter(value, surface, &o);
    if (rc == CUDA_SUCCESS) {
        rm_fake_set_del(&rm_fake_state.texobjs, o);
        free(o);
    }
    return rm_fake_leave(rc);
}

static CUresult object_resource(CUDA_RESOURCE_DESC *r, uint64_t value, bool surface)
{
    fake_texobj_t *o;
    CUresult rc = object_enter(value, surface, &o);
    if (rc == CUDA_SUCCESS && !r)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *r = o->res;
    return rm_fake_leave(rc);
}

static CUresult fake_cuTexObjectCreate(CUtexObject *t, const CUDA_RESOURCE_DESC *r, const CUDA_TEXTURE_DESC *d,
                                       const CUDA_RESOURCE_VIEW_DESC *v)
{
    uint64_t value = 0;
    CUresult rc = object_create(t ? &value : NULL, false, r, d, v);
    if (rc == CUDA_SUCCESS)
        *t = value;
    return rc;
}

static CUresult fake_cuSurfObjectCreate(CUsurfObject *s, const CUDA_RESOURCE_DESC *r)
{
    uint64_t value = 0;
    CUresult rc = object_create(s ? &value : NULL, true, r, NULL, NULL);
    if (rc == CUDA_SUCCESS)
        *s = value;
    return rc;
}

static CUresult fake_cuTexObjectDestroy(CUtexObject t) { return object_destroy(t, false); }
static CUresult fake_cuSurfObjectDestroy(CUsurfObject s) { return object_destroy(s, true); }

static CUresult fake_cuTexObjectGetResourceDesc(CUDA_RESOURCE_DESC *r, CUtexObject t)
{
    return object_resource(r, t, false);
}

static CUresult fake_cuSurfObjectGetResourceDesc(CUDA_RESOURCE_DESC *r, CUsurfObject s)
{
    return object_resource(r, s, true);
}

static CUresult fake_cuTexObjectGetTextureDesc(CUDA_TEXTURE_DESC *d, CUtexObject t)
{
    fake_texobj_t *o;
    CUresult rc = object_enter(t, false, &o);
    if (rc == CUDA_SUCCESS && !d)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *d = o->tex;
    return rm_fake_leave(rc);
}

/* Only an object made with a view has one to report. */
static CUresult fake_cuTexObjectGetResourceViewDesc(CUDA_RESOURCE_VIEW_DESC *v, CUtexObject t)
{
    fake_texobj_t *o;
    CUresult rc = object_enter(t, false, &o);
    if (rc == CUDA_SUCCESS && (!v || !o->has_view))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *v = o->view;
    return rm_fake_leave(rc);
}

static CUresult not_sampled(const char *what)
{
    RM_WARN("fake backend: kernels cannot sample %s (2D 1-channel float, point filter, unnormalised "
            "coordinates only)",
            what);
    return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult rm_fake_texels(uint64_t value, bool surface, rm_fake_texels_t *t)
{
    fake_texobj_t *o = texobj_find(value, surface);
    if (!o)
        return CUDA_ERROR_ILLEGAL_ADDRESS;
    const CUDA_RESOURCE_DESC *r = &o->res;
    if (!surface && (o->tex.filterMode != CU_TR_FILTER_MODE_POINT || (o->tex.flags & CU_TRSF_NORMALIZED_COORDINATES)))
        return not_sampled("this texture mode");
    if (r->resType == CU_RESOURCE_TYPE_ARRAY) {
        CUarray a = r->res.array.hArray;
        if (!rm_fake_set_has(&rm_fake_state.arrays, a))
            return CUDA_ERROR_ILLEGAL_ADDRESS; /* destroyed under the object */
        if (a->desc.Format != CU_AD_FORMAT_FLOAT || a->desc.NumChannels != 1 || a->desc.Height == 0 ||
            a->desc.Depth != 0)
            return not_sampled("this array");
        *t = (rm_fake_texels_t){a->data, a->row_bytes, a->desc.Width, a->desc.Height, {false, false}, 0.0f};
    } else if (r->resType == CU_RESOURCE_TYPE_PITCH2D) {
        if (r->res.pitch2D.format != CU_AD_FORMAT_FLOAT || r->res.pitch2D.numChannels != 1)
            return not_sampled("this pitched memory");
        if (!pitch2d_known(r))
            return CUDA_ERROR_ILLEGAL_ADDRESS; /* freed under the object */
        *t = (rm_fake_texels_t){(unsigned char *)(uintptr_t)r->res.pitch2D.devPtr, r->res.pitch2D.pitchInBytes,
                                r->res.pitch2D.width, r->res.pitch2D.height, {false, false}, 0.0f};
    } else {
        return not_sampled("linear memory or mipmapped arrays");
    }
    for (int d = 0; d < 2 && !surface; d++)
        t->border[d] = o->tex.addressMode[d] == CU_TR_ADDRESS_MODE_BORDER;
    t->border_color = surface ? 0.0f : o->tex.borderColor[0];
    return CUDA_SUCCESS;
}

void rm_fake_fill_texture(rm_backend_t *out)
{
#define FAKE_FILL(fn) out->fn = fake_##fn;
    FAKE_FILL(cuTexObjectCreate) FAKE_FILL(cuTexObjectDestroy) FAKE_FILL(cuTexObjectGetResourceDesc)
    FAKE_FILL(cuTexObjectGetTextureDesc) FAKE_FILL(cuTexObjectGetResourceViewDesc) FAKE_FILL(cuSurfObjectCreate)
    FAKE_FILL(cuSurfObjectDestroy) FAKE_FILL(cuSurfObjectGetResourceDesc)
#undef FAKE_FILL
}
