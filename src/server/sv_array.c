/* Handlers: CUDA arrays, mipmapped arrays and the copies to and from them.
 *
 * Arrays and mipmapped arrays are session handles; an array is made in the
 * current context and dies with it, a mipmap's level arrays are owned by
 * the mipmap (the driver hands out the same level again: so does its id)
 * and cannot be destroyed by themselves.
 *
 * A copy naming an array is one CUDA_MEMCPY3D (2D copies have Depth 1): its
 * arrays are translated, every device side is checked against the session's
 * memory over the span the box covers, and a host side is either the
 * request's packed bytes (to the device), the reply's (from it) or a range of
 * a shared segment. Bounds inside an array are the driver's to check. */
#include <string.h>

#include "log.h"
#include "rm_handlers.h"

/* One side of a CUDA_MEMCPY3D, as pointers into it. */
typedef struct {
    CUmemorytype *type;
    size_t *x, *y, *z, *pitch, *height;
    void **host;
    CUdeviceptr *dev;
    CUarray *array;
    unsigned lod;
} side_ref_t;

typedef struct {
    const void *data; /* packed source bytes (request) */
    size_t data_len;
    void *result;     /* packed destination bytes (reply scratch) */
    size_t result_len;
    int seg;          /* host sides are shared-segment addresses */
    int can_reply;    /* a synchronous call: bytes may go back */
} host_bytes_t;

static CUresult read_desc(const void *blob, uint32_t len, CUDA_ARRAY3D_DESCRIPTOR *d)
{
    if (len != sizeof *d)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(d, blob, sizeof *d);
    return CUDA_SUCCESS;
}

/* What an array (levels 1) or mipmap takes on its GPU, for the session's
 * memory limit: the driver does not say, so it is estimated from above:
 * rows of the element size times channels rounded up to 512 bytes (the
 * driver's pitch alignment), every level's; formats other than the 8-, 16-
 * and 32-bit ones at 8 bytes a channel, the most any of them takes.
 * Saturates rather than wrap (the driver refuses such an array). */
static uint64_t array_bytes(const CUDA_ARRAY3D_DESCRIPTOR *d, unsigned levels)
{
    uint64_t elem;
    switch (d->Format) {
    case CU_AD_FORMAT_UNSIGNED_INT8: case CU_AD_FORMAT_SIGNED_INT8: elem = 1; break;
    case CU_AD_FORMAT_UNSIGNED_INT16: case CU_AD_FORMAT_SIGNED_INT16: case CU_AD_FORMAT_HALF: elem = 2; break;
    case CU_AD_FORMAT_UNSIGNED_INT32: case CU_AD_FORMAT_SIGNED_INT32: case CU_AD_FORMAT_FLOAT: elem = 4; break;
    default: elem = 8; break;
    }
    uint64_t total = 0;
    int layered = (d->Flags & CUDA_ARRAY3D_LAYERED) != 0;
    for (unsigned l = 0; l < (levels ? levels : 1) && l < 64; l++) {
        uint64_t w = d->Width >> l, h = d->Height >> l, z = layered ? d->Depth : d->Depth >> l, row, bytes;
        w = w ? w : 1, h = h ? h : 1, z = z ? z : 1;
        if (__builtin_mul_overflow(w, elem * (d->NumChannels ? d->NumChannels : 1), &row) ||
            __builtin_add_overflow(row, 511, &row) || __builtin_mul_overflow(row & ~(uint64_t)511, h, &bytes) ||
            __builtin_mul_overflow(bytes, z, &bytes) || __builtin_add_overflow(total, bytes, &total))
            return UINT64_MAX;
    }
    return total;
}

/* A new array or mipmap (ptr, r: the driver's answer) as a session handle
 * holding the charge t; destroyed again when it cannot be. */
static CUresult array_made(rm_sv_t *sv, CUresult r, rm_hkind kind, void *ptr, const rm_sv_charge_t *t, uint64_t *id)
{
    if (rm_sv_charge_failed(sv, t, r) != CUDA_SUCCESS)
        return r;
    *id = rm_sv_handle_put(sv, kind, ptr);
    if (*id && rm_sv_charge_keep(sv, t, RM_QUOTA_HANDLE(*id), 0) == 0)
        return CUDA_SUCCESS;
    if (*id)
        rm_handles_del(&sv->s->handles, kind, *id);
    else
        rm_sv_charge_failed(sv, t, CUDA_ERROR_OUT_OF_MEMORY);
    if (kind == RM_H_ARRAY)
        sv->b->cuArrayDestroy(ptr);
    else
        sv->b->cuMipmappedArrayDestroy(ptr);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult rm_sv_array_create(rm_sv_t *sv, const rm_array_create_req_t *in, rm_array_create_rep_t *out)
{
    RM_SV_NEED(sv, cuArray3DCreate_v2);
    CUDA_ARRAY3D_DESCRIPTOR d;
    CUarray a = NULL;
    rm_sv_charge_t t;
    CUresult r = read_desc(in->desc, in->desc_len, &d);
    if (r == CUDA_SUCCESS)
        r = rm_sv_charge_take(sv, rm_sv_current_device(sv), array_bytes(&d, 1), "cuArray3DCreate", &t);
    if (r != CUDA_SUCCESS)
        return r;
    r = sv->b->cuArray3DCreate_v2(&a, &d);
    return array_made(sv, r, RM_H_ARRAY, a, &t, &out->array);
}

CUresult rm_sv_array_get_descriptor(rm_sv_t *sv, const rm_array_get_descriptor_req_t *in,
                                    rm_array_get_descriptor_rep_t *out)
{
    RM_SV_NEED(sv, cuArray3DGetDescriptor_v2);
    CUDA_ARRAY3D_DESCRIPTOR *d = rm_sv_scratch(sv, sizeof *d);
    void *a;
    if (!d)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (rm_sv_handle_get(sv, RM_H_ARRAY, in->array, &a) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuArray3DGetDescriptor_v2(d, a);
    out->desc = d;
    out->desc_len = r == CUDA_SUCCESS ? sizeof *d : 0;
    return r;
}

CUresult rm_sv_array_destroy(rm_sv_t *sv, const rm_array_destroy_req_t *in, rm_array_destroy_rep_t *out)
{
    RM_SV_NEED(sv, cuArrayDestroy);
    void *a;
    if (rm_handles_kind(rm_handles_owner(&sv->s->handles, in->array)) == RM_H_MIPMAP) {
        /* a level belongs to its mipmap */
        RM_DEBUG("session %llu: cuArrayDestroy of a mipmap level refused", (unsigned long long)sv->s->id);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (rm_sv_handle_claim(sv, RM_H_ARRAY, in->array, &a) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuArrayDestroy(a);
    if (r == CUDA_SUCCESS)
        rm_quota_release(&sv->s->quota, RM_QUOTA_HANDLE(in->array));
    return rm_sv_handle_settle(sv, RM_H_ARRAY, in->array, r);
}

CUresult rm_sv_mipmap_create(rm_sv_t *sv, const rm_mipmap_create_req_t *in, rm_mipmap_create_rep_t *out)
{
    RM_SV_NEED(sv, cuMipmappedArrayCreate);
    CUDA_ARRAY3D_DESCRIPTOR d;
    CUmipmappedArray m = NULL;
    rm_sv_charge_t t;
    CUresult r = read_desc(in->desc, in->desc_len, &d);
    if (r == CUDA_SUCCESS)
        r = rm_sv_charge_take(sv, rm_sv_current_device(sv), array_bytes(&d, in->levels), "cuMipmappedArrayCreate", &t);
    if (r != CUDA_SUCCESS)
        return r;
    r = sv->b->cuMipmappedArrayCreate(&m, &d, in->levels);
    return array_made(sv, r, RM_H_MIPMAP, m, &t, &out->mipmap);
}

CUresult rm_sv_mipmap_get_level(rm_sv_t *sv, const rm_mipmap_get_level_req_t *in, rm_mipmap_get_level_rep_t *out)
{
    RM_SV_NEED(sv, cuMipmappedArrayGetLevel);
    void *m;
    CUarray a = NULL;
    if (rm_sv_handle_get(sv, RM_H_MIPMAP, in->mipmap, &m) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuMipmappedArrayGetLevel(&a, m, in->level);
    if (r != CUDA_SUCCESS)
        return r;
    out->level_array = rm_handles_put_owned(&sv->s->handles, RM_H_ARRAY, a, in->mipmap);
    return out->level_array ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

/* Its levels go with it. */
CUresult rm_sv_mipmap_destroy(rm_sv_t *sv, const rm_mipmap_destroy_req_t *in, rm_mipmap_destroy_rep_t *out)
{
    RM_SV_NEED(sv, cuMipmappedArrayDestroy);
    void *m;
    if (rm_sv_handle_claim(sv, RM_H_MIPMAP, in->mipmap, &m) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuMipmappedArrayDestroy(m);
    if (r == CUDA_SUCCESS)
        rm_sv_forget_owned(sv, in->mipmap);
    return rm_sv_handle_settle(sv, RM_H_MIPMAP, in->mipmap, r);
}

/* Bytes from the first byte of the box's origin row to its last byte. */
static int box_span(size_t x, size_t y, size_t z, size_t pitch, size_t height, size_t w, size_t h, size_t d,
                    uint64_t *start, uint64_t *span)
{
    uint64_t slice, a, b;
    if ((h > 1 || d > 1) && pitch < w)
        return -1;
    if (d > 1 && height < h)
        return -1;
    if (__builtin_mul_overflow((uint64_t)pitch, (uint64_t)height, &slice) ||
        __builtin_mul_overflow(slice, (uint64_t)z, &a) || __builtin_mul_overflow((uint64_t)pitch, (uint64_t)y, &b) ||
        __builtin_add_overflow(a, b, start) || __builtin_add_overflow(*start, (uint64_t)x, start))
        return -1;
    if (w == 0 || h == 0 || d == 0) {
        *span = 0;
        return 0;
    }
    if (__builtin_mul_overflow(slice, (uint64_t)(d - 1), &a) ||
        __builtin_mul_overflow((uint64_t)pitch, (uint64_t)(h - 1), &b) || __builtin_add_overflow(a, b, span) ||
        __builtin_add_overflow(*span, (uint64_t)w, span))
        return -1;
    return 0;
}

/* Translate and check one side; *inline_host set when it is the packed
 * bytes of the message. */
static CUresult prepare_side(rm_sv_t *sv, side_ref_t s, const CUDA_MEMCPY3D *c, int is_src, host_bytes_t *hb,
                             int *inline_host)
{
    uint64_t start, span;
    void *a;
    if (s.lod)
        return CUDA_ERROR_INVALID_VALUE;
    switch (*s.type) {
    case CU_MEMORYTYPE_ARRAY:
        if (rm_sv_handle_get(sv, RM_H_ARRAY, (uint64_t)(uintptr_t)*s.array, &a) != 0)
            return CUDA_ERROR_INVALID_HANDLE;
        *s.array = a;
        return CUDA_SUCCESS;
    case CU_MEMORYTYPE_DEVICE:
        if (box_span(*s.x, *s.y, *s.z, *s.pitch, *s.height, c->WidthInBytes, c->Height, c->Depth, &start, &span) != 0)
            return CUDA_ERROR_INVALID_VALUE;
        return span ? rm_sv_check_range(sv, *s.dev + start, span, is_src ? "memcpy source" : "memcpy destination")
                    : CUDA_SUCCESS;
    case CU_MEMORYTYPE_HOST: break;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    if (box_span(*s.x, *s.y, *s.z, *s.pitch, *s.height, c->WidthInBytes, c->Height, c->Depth, &start, &span) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (hb->seg) {
        void *p = rm_sv_segment_ptr(sv, (uint64_t)(uintptr_t)*s.host + start, span ? span : 1);
        if (!p)
            return CUDA_ERROR_INVALID_VALUE;
        *s.host = p;
        *s.x = *s.y = *s.z = 0;
        return CUDA_SUCCESS;
    }
    /* packed: the box itself, row after row */
    uint64_t bytes = (uint64_t)c->WidthInBytes * c->Height * c->Depth;
    if (*inline_host || start != 0 || *s.pitch != c->WidthInBytes || (c->Depth > 1 && *s.height != c->Height) ||
        bytes > RM_CHUNK || (is_src ? bytes != hb->data_len : !hb->can_reply))
        return CUDA_ERROR_INVALID_VALUE;
    *inline_host = 1;
    if (is_src) {
        *s.host = (void *)hb->data;
        return CUDA_SUCCESS;
    }
    if (!(hb->result = rm_sv_scratch(sv, bytes ? bytes : 1)))
        return CUDA_ERROR_OUT_OF_MEMORY;
    *s.host = hb->result;
    hb->result_len = bytes;
    return CUDA_SUCCESS;
}

static CUresult copy_3d(rm_sv_t *sv, const void *params, uint32_t params_len, host_bytes_t *hb, uint64_t stream_id,
                        uint32_t mode)
{
    CUDA_MEMCPY3D c;
    CUstream s;
    if (params_len != sizeof c)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&c, params, sizeof c);
    if (c.reserved0 || c.reserved1)
        return CUDA_ERROR_INVALID_VALUE;
    side_ref_t src = {&c.srcMemoryType, &c.srcXInBytes, &c.srcY, &c.srcZ, &c.srcPitch, &c.srcHeight,
                      (void **)&c.srcHost, &c.srcDevice, &c.srcArray, (unsigned)c.srcLOD};
    side_ref_t dst = {&c.dstMemoryType, &c.dstXInBytes, &c.dstY, &c.dstZ, &c.dstPitch, &c.dstHeight,
                      &c.dstHost, &c.dstDevice, &c.dstArray, (unsigned)c.dstLOD};
    int inline_host = 0;
    CUresult r = prepare_side(sv, src, &c, 1, hb, &inline_host);
    int inline_src = inline_host;
    if (r == CUDA_SUCCESS)
        r = prepare_side(sv, dst, &c, 0, hb, &inline_host);
    if (r == CUDA_SUCCESS)
        r = rm_sv_handle_get(sv, RM_H_STREAM, stream_id, (void **)&s) == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
    if (r != CUDA_SUCCESS)
        return r;
    if (hb->result && mode)
        mode = 2; /* the bytes go back in this reply */
    if (inline_src && mode == 1 && (r = rm_sv_refuse_capture(sv, stream_id, "an asynchronous copy from host memory")))
        return r;
    if (!mode) {
        RM_SV_NEED(sv, cuMemcpy3D_v2);
        return sv->b->cuMemcpy3D_v2(&c);
    }
    RM_SV_NEED(sv, cuMemcpy3DAsync_v2);
    r = sv->b->cuMemcpy3DAsync_v2(&c, s);
    if (r != CUDA_SUCCESS || mode != 2)
        return r;
    RM_SV_NEED(sv, cuStreamSynchronize);
    return sv->b->cuStreamSynchronize(s);
}

CUresult rm_sv_memcpy_3d(rm_sv_t *sv, const rm_memcpy_3d_req_t *in, rm_memcpy_3d_rep_t *out)
{
    host_bytes_t hb = {in->data, in->data_len, NULL, 0, in->seg != 0, 1};
    CUresult r = copy_3d(sv, in->params, in->params_len, &hb, in->stream, in->mode);
    out->result = hb.result;
    out->result_len = r == CUDA_SUCCESS ? (uint32_t)hb.result_len : 0;
    return r;
}

CUresult rm_sv_memcpy_3d_async(rm_sv_t *sv, const rm_memcpy_3d_async_req_t *in, rm_memcpy_3d_async_rep_t *out)
{
    host_bytes_t hb = {in->data, in->data_len, NULL, 0, in->seg != 0, 0};
    return copy_3d(sv, in->params, in->params_len, &hb, in->stream, in->mode);
}
