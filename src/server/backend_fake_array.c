/* Fake backend, CUDA arrays and copies with them: an array is host memory
 * (struct CUarray_st, backend_fake.h) whose rows the 2D copy path resolves
 * (backend_fake_mem.c); a 3D copy is one 2D copy per slice. Not emulated
 * yet: mipmapped arrays and texture and surface objects, which answer
 * CUDA_ERROR_NOT_SUPPORTED (logged once), so the server's handlers for them
 * (sv_array.c, sv_texture.c) run their checks on the fake and stop there. */
#include "backend_fake.h"

#include <stdlib.h>

#include "log.h"

#define FAKE_ARRAY_MAX_BYTES (1ull << 30)

static CUresult fake_textures_unsupported(void)
{
    static int warned;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        RM_WARN("fake backend: mipmapped arrays, textures and surfaces are not emulated");
    return CUDA_ERROR_NOT_SUPPORTED;
}

#define FAKE_UNSUPPORTED(fn, ...) \
    static CUresult fake_##fn(__VA_ARGS__) { return fake_textures_unsupported(); }
FAKE_UNSUPPORTED(cuMipmappedArrayCreate, CUmipmappedArray *m, const CUDA_ARRAY3D_DESCRIPTOR *d, unsigned n)
FAKE_UNSUPPORTED(cuMipmappedArrayGetLevel, CUarray *a, CUmipmappedArray m, unsigned level)
FAKE_UNSUPPORTED(cuMipmappedArrayDestroy, CUmipmappedArray m)
FAKE_UNSUPPORTED(cuTexObjectCreate, CUtexObject *t, const CUDA_RESOURCE_DESC *r, const CUDA_TEXTURE_DESC *d,
                 const CUDA_RESOURCE_VIEW_DESC *v)
FAKE_UNSUPPORTED(cuTexObjectDestroy, CUtexObject t)
FAKE_UNSUPPORTED(cuTexObjectGetResourceDesc, CUDA_RESOURCE_DESC *r, CUtexObject t)
FAKE_UNSUPPORTED(cuTexObjectGetTextureDesc, CUDA_TEXTURE_DESC *d, CUtexObject t)
FAKE_UNSUPPORTED(cuTexObjectGetResourceViewDesc, CUDA_RESOURCE_VIEW_DESC *v, CUtexObject t)
FAKE_UNSUPPORTED(cuSurfObjectCreate, CUsurfObject *s, const CUDA_RESOURCE_DESC *r)
FAKE_UNSUPPORTED(cuSurfObjectDestroy, CUsurfObject s)
FAKE_UNSUPPORTED(cuSurfObjectGetResourceDesc, CUDA_RESOURCE_DESC *r, CUsurfObject s)

/* Bytes of one element, 0 for a format the fake does not know. */
static size_t element_bytes(const CUDA_ARRAY3D_DESCRIPTOR *d)
{
    size_t channel;
    switch (d->Format) {
    case CU_AD_FORMAT_UNSIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT8: channel = 1; break;
    case CU_AD_FORMAT_UNSIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_HALF: channel = 2; break;
    case CU_AD_FORMAT_UNSIGNED_INT32:
    case CU_AD_FORMAT_SIGNED_INT32:
    case CU_AD_FORMAT_FLOAT: channel = 4; break;
    default: return 0;
    }
    return d->NumChannels == 1 || d->NumChannels == 2 || d->NumChannels == 4 ? channel * d->NumChannels : 0;
}

static CUresult fake_cuArray3DCreate_v2(CUarray *out, const CUDA_ARRAY3D_DESCRIPTOR *d)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    const unsigned known = CUDA_ARRAY3D_LAYERED | CUDA_ARRAY3D_SURFACE_LDST | CUDA_ARRAY3D_TEXTURE_GATHER;
    size_t elem = d ? element_bytes(d) : 0, rows, bytes;
    if (rc == CUDA_SUCCESS && (!out || !d || !elem || d->Width == 0 || (d->Flags & ~known) ||
                               (d->Height == 0 && d->Depth != 0 && !(d->Flags & CUDA_ARRAY3D_LAYERED))))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS &&
        (__builtin_mul_overflow(d->Height ? d->Height : 1, d->Depth ? d->Depth : 1, &rows) ||
         __builtin_mul_overflow(rows, d->Width * elem, &bytes) || bytes > FAKE_ARRAY_MAX_BYTES))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    struct CUarray_st *a = NULL;
    if (rc == CUDA_SUCCESS && (!(a = calloc(1, sizeof *a)) || !(a->data = calloc(1, bytes)) ||
                               !rm_fake_set_add(&rm_fake_state.arrays, a))) {
        if (a)
            free(a->data);
        free(a);
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (rc == CUDA_SUCCESS) {
        a->desc = *d;
        a->row_bytes = d->Width * elem;
        a->rows = rows;
        *out = a;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuArray3DGetDescriptor_v2(CUDA_ARRAY3D_DESCRIPTOR *d, CUarray a)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!d || !rm_fake_set_has(&rm_fake_state.arrays, a)))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS)
        *d = a->desc;
    return rm_fake_leave(rc);
}

static CUresult fake_cuArrayDestroy(CUarray a)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_del(&rm_fake_state.arrays, a))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS) {
        free(a->data);
        free(a);
    }
    return rm_fake_leave(rc);
}

/* One side of slice z as a 2D copy's side: linear memory moves down by
 * whole slices of its pitch and height; an array's slices are its rows in
 * turn, so a slice's first row is found by its y. */
static void slice_side(CUmemorytype type, CUarray array, size_t z, size_t y, size_t pitch, size_t height,
                       const void **host, CUdeviceptr *device, size_t *row)
{
    if (type == CU_MEMORYTYPE_ARRAY) {
        size_t h = array->desc.Height ? array->desc.Height : 1;
        *row = z * h + y;
        return;
    }
    size_t skip = z * height * pitch;
    *host = *host ? (const char *)*host + skip : NULL;
    *device = *device ? *device + skip : 0;
    *row = y;
}

/* The box must fit each array side's slices. */
static int array_box_fits(CUmemorytype type, CUarray a, size_t y, size_t z, size_t height, size_t depth)
{
    if (type != CU_MEMORYTYPE_ARRAY || !rm_fake_set_has(&rm_fake_state.arrays, a))
        return 1; /* others are checked by the 2D copy */
    size_t h = a->desc.Height ? a->desc.Height : 1, d = a->rows / h;
    return y <= h && height <= h - y && z <= d && depth <= d - z;
}

static CUresult fake_copy3d(const CUDA_MEMCPY3D *c, CUstream s)
{
    if (!c || c->srcLOD || c->dstLOD || c->reserved0 || c->reserved1)
        return CUDA_ERROR_INVALID_VALUE;
    size_t depth = c->Depth ? c->Depth : 1;
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!array_box_fits(c->srcMemoryType, c->srcArray, c->srcY, c->srcZ, c->Height, depth) ||
                               !array_box_fits(c->dstMemoryType, c->dstArray, c->dstY, c->dstZ, c->Height, depth)))
        rc = CUDA_ERROR_INVALID_VALUE;
    rm_fake_leave(CUDA_SUCCESS);
    for (size_t z = 0; rc == CUDA_SUCCESS && z < depth; z++) {
        CUDA_MEMCPY2D p = {
            .srcXInBytes = c->srcXInBytes, .srcMemoryType = c->srcMemoryType, .srcHost = c->srcHost,
            .srcDevice = c->srcDevice, .srcArray = c->srcArray, .srcPitch = c->srcPitch,
            .dstXInBytes = c->dstXInBytes, .dstMemoryType = c->dstMemoryType, .dstHost = c->dstHost,
            .dstDevice = c->dstDevice, .dstArray = c->dstArray, .dstPitch = c->dstPitch,
            .WidthInBytes = c->WidthInBytes, .Height = c->Height,
        };
        const void *dst_host = p.dstHost;
        slice_side(c->srcMemoryType, c->srcArray, c->srcZ + z, c->srcY, c->srcPitch, c->srcHeight,
                   &p.srcHost, &p.srcDevice, &p.srcY);
        slice_side(c->dstMemoryType, c->dstArray, c->dstZ + z, c->dstY, c->dstPitch, c->dstHeight,
                   &dst_host, &p.dstDevice, &p.dstY);
        p.dstHost = (void *)dst_host;
        rc = rm_fake_copy2d(&p, s);
    }
    return rc;
}

static CUresult fake_cuMemcpy3D_v2(const CUDA_MEMCPY3D *c) { return fake_copy3d(c, NULL); }
static CUresult fake_cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D *c, CUstream s) { return fake_copy3d(c, s); }

void rm_fake_fill_array(rm_backend_t *out)
{
#define FAKE_FILL(fn) out->fn = fake_##fn;
    FAKE_FILL(cuArray3DCreate_v2) FAKE_FILL(cuArray3DGetDescriptor_v2) FAKE_FILL(cuArrayDestroy)
    FAKE_FILL(cuMipmappedArrayCreate) FAKE_FILL(cuMipmappedArrayGetLevel) FAKE_FILL(cuMipmappedArrayDestroy)
    FAKE_FILL(cuMemcpy3D_v2) FAKE_FILL(cuMemcpy3DAsync_v2) FAKE_FILL(cuTexObjectCreate) FAKE_FILL(cuTexObjectDestroy)
    FAKE_FILL(cuTexObjectGetResourceDesc) FAKE_FILL(cuTexObjectGetTextureDesc)
    FAKE_FILL(cuTexObjectGetResourceViewDesc) FAKE_FILL(cuSurfObjectCreate) FAKE_FILL(cuSurfObjectDestroy)
    FAKE_FILL(cuSurfObjectGetResourceDesc)
#undef FAKE_FILL
}
