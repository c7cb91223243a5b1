/* Fake backend, CUDA arrays and copies with them: an array is host memory
 * (struct CUarray_st, backend_fake.h) whose rows the 2D copy path resolves
 * (backend_fake_mem.c); a 3D copy is one 2D copy per slice. A mipmapped
 * array is a set of arrays, one per level; its levels are arrays to copies
 * and textures, but only cuMipmappedArrayDestroy frees them. */
#include "backend_fake.h"

#include <stdlib.h>

#include "log.h"

#define FAKE_ARRAY_MAX_BYTES (1ull << 30)

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

/* A new array as d describes it (lock held). */
static CUresult array_new(const CUDA_ARRAY3D_DESCRIPTOR *d, CUarray *out)
{
    const unsigned known = CUDA_ARRAY3D_LAYERED | CUDA_ARRAY3D_SURFACE_LDST | CUDA_ARRAY3D_TEXTURE_GATHER;
    size_t elem = d ? element_bytes(d) : 0, rows, bytes;
    if (!out || !d || !elem || d->Width == 0 || (d->Flags & ~known) ||
        (d->Height == 0 && d->Depth != 0 && !(d->Flags & CUDA_ARRAY3D_LAYERED)))
        return CUDA_ERROR_INVALID_VALUE;
    if (__builtin_mul_overflow(d->Height ? d->Height : 1, d->Depth ? d->Depth : 1, &rows) ||
        __builtin_mul_overflow(rows, d->Width * elem, &bytes) || bytes > FAKE_ARRAY_MAX_BYTES)
        return CUDA_ERROR_OUT_OF_MEMORY;
    struct CUarray_st *a = calloc(1, sizeof *a);
    if (!a || !(a->data = calloc(1, bytes)) || !rm_fake_set_add(&rm_fake_state.arrays, a)) {
        if (a)
            free(a->data);
        free(a);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    a->desc = *d;
    a->row_bytes = d->Width * elem;
    a->rows = rows;
    *out = a;
    return CUDA_SUCCESS;
}

/* Lock held; a is live. */
static void array_free(CUarray a)
{
    rm_fake_set_del(&rm_fake_state.arrays, a);
    free(a->data);
    free(a);
}

static CUresult fake_cuArray3DCreate_v2(CUarray *out, const CUDA_ARRAY3D_DESCRIPTOR *d)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = array_new(d, out);
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

/* A mipmap's level goes only with its mipmap. */
static CUresult fake_cuArrayDestroy(CUarray a)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!rm_fake_set_has(&rm_fake_state.arrays, a) || a->mipmap))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS)
        array_free(a);
    return rm_fake_leave(rc);
}

/* Level sizes halve down to 1; a dimension of 0 (absent) stays 0. */
static size_t level_size(size_t n, unsigned level) { return n == 0 ? 0 : n >> level ? n >> level : 1; }

/* At most as many levels as halving the largest dimension takes to reach 1. */
static unsigned max_levels(const CUDA_ARRAY3D_DESCRIPTOR *d)
{
    size_t m = d->Width > d->Height ? d->Width : d->Height;
    if (!(d->Flags & CUDA_ARRAY3D_LAYERED) && d->Depth > m)
        m = d->Depth;
    unsigned n = 1;
    while (m >>= 1)
        n++;
    return n < RM_FAKE_MAX_LEVELS ? n : RM_FAKE_MAX_LEVELS;
}

static void mipmap_free(CUmipmappedArray m)
{
    for (unsigned l = 0; l < m->levels; l++)
        array_free(m->level[l]);
    rm_fake_set_del(&rm_fake_state.mipmaps, m);
    free(m);
}

static CUresult fake_cuMipmappedArrayCreate(CUmipmappedArray *out, const CUDA_ARRAY3D_DESCRIPTOR *d, unsigned levels)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && (!out || !d || levels == 0 || levels > max_levels(d)))
        rc = CUDA_ERROR_INVALID_VALUE;
    struct CUmipmappedArray_st *m = NULL;
    if (rc == CUDA_SUCCESS && (!(m = calloc(1, sizeof *m)) || !rm_fake_set_add(&rm_fake_state.mipmaps, m))) {
        free(m);
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    }
    for (unsigned l = 0; rc == CUDA_SUCCESS && l < levels; l++) {
        CUDA_ARRAY3D_DESCRIPTOR ld = *d;
        ld.Width = level_size(d->Width, l);
        ld.Height = level_size(d->Height, l);
        if (!(d->Flags & CUDA_ARRAY3D_LAYERED))
            ld.Depth = level_size(d->Depth, l);
        if ((rc = array_new(&ld, &m->level[l])) == CUDA_SUCCESS) {
            m->level[l]->mipmap = m;
            m->levels++;
        }
    }
    if (rc == CUDA_SUCCESS)
        *out = m;
    else if (m)
        mipmap_free(m);
    return rm_fake_leave(rc);
}

static CUresult fake_cuMipmappedArrayGetLevel(CUarray *out, CUmipmappedArray m, unsigned level)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(&rm_fake_state.mipmaps, m))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS && (!out || level >= m->levels))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *out = m->level[level];
    return rm_fake_leave(rc);
}

static CUresult fake_cuMipmappedArrayDestroy(CUmipmappedArray m)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(&rm_fake_state.mipmaps, m))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS)
        mipmap_free(m);
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
    FAKE_FILL(cuMemcpy3D_v2) FAKE_FILL(cuMemcpy3DAsync_v2)
#undef FAKE_FILL
}
