/* Handlers: memcpy and memset in all their forms. Every device range is
 * checked against the session's memory first. `mode`: 0 the synchronous
 * driver call, 1 the async one on the given stream, 2 the async one followed
 * by a synchronize of that stream (a staged copy whose buffer is reused as
 * soon as the reply arrives). */
#include <string.h>

#include "remora/protocol.h"
#include "log.h"
#include "rm_handlers.h"

static CUresult get_stream(rm_sv_t *sv, uint64_t id, CUstream *s)
{
    return rm_sv_handle_get(sv, RM_H_STREAM, id, (void **)s) == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

static CUresult finish(rm_sv_t *sv, CUresult r, CUstream s, uint32_t mode)
{
    if (r != CUDA_SUCCESS || mode != 2)
        return r;
    RM_SV_NEED(sv, cuStreamSynchronize);
    return sv->b->cuStreamSynchronize(s);
}

static CUresult htod(rm_sv_t *sv, CUdeviceptr dst, const void *src, size_t n, uint64_t stream_id, uint32_t mode)
{
    CUstream s;
    CUresult r = rm_sv_check_range(sv, dst, n, "memcpy destination");
    if (r == CUDA_SUCCESS)
        r = get_stream(sv, stream_id, &s);
    if (r != CUDA_SUCCESS)
        return r;
    if (mode == 1 && sv->bulk_pinned && rm_sv_bulk_holds(sv, src)) {
        /* A truly async DMA from the page-locked bulk buffer would still be
         * reading it when the next message arrives there: hand the driver
         * pageable memory, which it stages before returning. */
        void *p = rm_sv_scratch(sv, n ? n : 1);
        if (!p)
            return CUDA_ERROR_OUT_OF_MEMORY;
        memcpy(p, src, n);
        src = p;
    }
    if (mode) {
        RM_SV_NEED(sv, cuMemcpyHtoDAsync_v2);
        r = sv->b->cuMemcpyHtoDAsync_v2(dst, src, n, s);
        rm_sv_wrote(sv, dst, n);
        return finish(sv, r, s, mode);
    }
    RM_SV_NEED(sv, cuMemcpyHtoD_v2);
    r = sv->b->cuMemcpyHtoD_v2(dst, src, n);
    rm_sv_wrote(sv, dst, n);
    return r;
}

static CUresult dtoh(rm_sv_t *sv, void *dst, CUdeviceptr src, size_t n, uint64_t stream_id, uint32_t mode)
{
    CUstream s;
    CUresult r = rm_sv_check_range(sv, src, n, "memcpy source");
    if (r == CUDA_SUCCESS)
        r = get_stream(sv, stream_id, &s);
    if (r != CUDA_SUCCESS)
        return r;
    if (mode) {
        RM_SV_NEED(sv, cuMemcpyDtoHAsync_v2);
        r = sv->b->cuMemcpyDtoHAsync_v2(dst, src, n, s);
        return finish(sv, r, s, mode);
    }
    RM_SV_NEED(sv, cuMemcpyDtoH_v2);
    return sv->b->cuMemcpyDtoH_v2(dst, src, n);
}

/* The last piece of a synchronous copy: its result, else that of the
 * copy's earlier pieces (a copy's failure is its own, not an error left for
 * the program's next call). */
CUresult rm_sv_memcpy_htod(rm_sv_t *sv, const rm_memcpy_htod_req_t *in, rm_memcpy_htod_rep_t *out)
{
    CUresult r = htod(sv, in->dst, in->data, in->data_len, in->stream, in->mode), pieces = sv->piece_err;
    sv->piece_err = CUDA_SUCCESS;
    return r != CUDA_SUCCESS || in->mode ? r : pieces;
}

/* Is stream s being captured into a graph? A copy from memory that lives
 * only as long as this call (the request itself) must not be captured: the
 * graph would read it later. */
int rm_sv_capturing(rm_sv_t *sv, uint64_t stream_id)
{
    CUstream s;
    CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
    return sv->b->cuStreamIsCapturing && get_stream(sv, stream_id, &s) == CUDA_SUCCESS &&
           sv->b->cuStreamIsCapturing(s, &st) == CUDA_SUCCESS && st != CU_STREAM_CAPTURE_STATUS_NONE;
}

CUresult rm_sv_refuse_capture(rm_sv_t *sv, uint64_t stream_id, const char *what)
{
    if (!rm_sv_capturing(sv, stream_id))
        return CUDA_SUCCESS;
    RM_WARN("session %llu: %s on a capturing stream is not supported (its host memory is not shared "
            "with the server)",
            (unsigned long long)sv->s->id, what);
    return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

/* A piece of a synchronous copy (mode 0) that arrived in a page-locked
 * slot is DMA'd while the next pieces arrive (sv_bulk.c); the copy's last
 * piece, a call waited for, comes after all of them have landed, and
 * reports their failures (piece_err). */
CUresult rm_sv_memcpy_htod_async(rm_sv_t *sv, const rm_memcpy_htod_async_req_t *in, rm_memcpy_htod_async_rep_t *out)
{
    CUresult r;
    if (in->mode) {
        r = rm_sv_refuse_capture(sv, in->stream, "an asynchronous copy from host memory");
        return r != CUDA_SUCCESS ? r : htod(sv, in->dst, in->data, in->data_len, in->stream, in->mode);
    }
    r = rm_sv_check_range(sv, in->dst, in->data_len, "memcpy destination");
    if (r == CUDA_SUCCESS && !(in->stream == 0 && rm_sv_bulk_htod(sv, in->dst, in->data, in->data_len, &r)))
        r = htod(sv, in->dst, in->data, in->data_len, in->stream, in->mode);
    if (r != CUDA_SUCCESS && sv->piece_err == CUDA_SUCCESS)
        sv->piece_err = r;
    return CUDA_SUCCESS;
}

CUresult rm_sv_memcpy_dtoh(rm_sv_t *sv, const rm_memcpy_dtoh_req_t *in, rm_memcpy_dtoh_rep_t *out)
{
    if (in->bytes > RM_CHUNK)
        return CUDA_ERROR_INVALID_VALUE;
    /* checked before the scratch grows: a bad request costs no memory */
    CUresult r = rm_sv_check_range(sv, in->src, in->bytes, "memcpy source");
    if (r != CUDA_SUCCESS)
        return r;
    void *buf = rm_sv_bulk(sv, in->bytes);
    if (!buf)
        buf = rm_sv_scratch(sv, in->bytes ? in->bytes : 1);
    if (!buf)
        return CUDA_ERROR_OUT_OF_MEMORY;
    /* the data goes back in this reply: an async copy must complete first
     * (a big one into the page-locked buffer lands piece by piece while
     * the reply is sent, sv_bulk.c) */
    CUstream s;
    if ((r = get_stream(sv, in->stream, &s)) != CUDA_SUCCESS)
        return r;
    if (!rm_sv_bulk_dtoh(sv, buf, in->src, in->bytes, in->mode ? s : CU_STREAM_LEGACY, &r))
        r = dtoh(sv, buf, in->src, in->bytes, in->stream, in->mode ? 2 : 0);
    out->data = buf;
    out->data_len = (uint32_t)in->bytes;
    return r;
}

CUresult rm_sv_memcpy_dtod(rm_sv_t *sv, const rm_memcpy_dtod_req_t *in, rm_memcpy_dtod_rep_t *out)
{
    CUstream s;
    CUresult r = rm_sv_check_range(sv, in->dst, in->bytes, "memcpy destination");
    if (r == CUDA_SUCCESS)
        r = rm_sv_check_range(sv, in->src, in->bytes, "memcpy source");
    if (r == CUDA_SUCCESS)
        r = get_stream(sv, in->stream, &s);
    if (r != CUDA_SUCCESS)
        return r;
    if (in->mode) {
        RM_SV_NEED(sv, cuMemcpyDtoDAsync_v2);
        r = sv->b->cuMemcpyDtoDAsync_v2(in->dst, in->src, in->bytes, s);
    } else {
        RM_SV_NEED(sv, cuMemcpyDtoD_v2);
        r = sv->b->cuMemcpyDtoD_v2(in->dst, in->src, in->bytes);
    }
    rm_sv_wrote(sv, in->dst, in->bytes);
    return r;
}

CUresult rm_sv_memcpy_dtod_sync(rm_sv_t *sv, const rm_memcpy_dtod_sync_req_t *in, rm_memcpy_dtod_sync_rep_t *out)
{
    _Static_assert(sizeof(rm_memcpy_dtod_sync_req_t) == sizeof(rm_memcpy_dtod_req_t), "same request");
    return rm_sv_memcpy_dtod(sv, (const rm_memcpy_dtod_req_t *)in, NULL);
}

static CUresult htod_seg(rm_sv_t *sv, const rm_memcpy_htod_seg_req_t *in)
{
    void *src = rm_sv_segment_ptr(sv, in->offset, in->bytes);
    return src ? htod(sv, in->dst, src, in->bytes, in->stream, in->mode) : CUDA_ERROR_INVALID_VALUE;
}

static CUresult dtoh_seg(rm_sv_t *sv, const rm_memcpy_dtoh_seg_req_t *in)
{
    void *dst = rm_sv_segment_ptr(sv, in->offset, in->bytes);
    return dst ? dtoh(sv, dst, in->src, in->bytes, in->stream, in->mode) : CUDA_ERROR_INVALID_VALUE;
}

/* The sync and async forms share one request layout. */
_Static_assert(sizeof(rm_memcpy_htod_seg_req_t) == sizeof(rm_memcpy_htod_seg_sync_req_t), "layouts");
_Static_assert(sizeof(rm_memcpy_dtoh_seg_req_t) == sizeof(rm_memcpy_dtoh_seg_sync_req_t), "layouts");

CUresult rm_sv_memcpy_htod_seg(rm_sv_t *sv, const rm_memcpy_htod_seg_req_t *in, rm_memcpy_htod_seg_rep_t *out)
{
    return htod_seg(sv, in);
}

CUresult rm_sv_memcpy_htod_seg_sync(rm_sv_t *sv, const rm_memcpy_htod_seg_sync_req_t *in,
                                    rm_memcpy_htod_seg_sync_rep_t *out)
{
    return htod_seg(sv, (const rm_memcpy_htod_seg_req_t *)in);
}

CUresult rm_sv_memcpy_dtoh_seg(rm_sv_t *sv, const rm_memcpy_dtoh_seg_req_t *in, rm_memcpy_dtoh_seg_rep_t *out)
{
    return dtoh_seg(sv, in);
}

CUresult rm_sv_memcpy_dtoh_seg_sync(rm_sv_t *sv, const rm_memcpy_dtoh_seg_sync_req_t *in,
                                    rm_memcpy_dtoh_seg_sync_rep_t *out)
{
    return dtoh_seg(sv, (const rm_memcpy_dtoh_seg_req_t *)in);
}

static CUresult issue_memset(rm_sv_t *sv, CUdeviceptr dst, size_t pitch, uint32_t value, uint32_t elem,
                             size_t width, size_t height, uint64_t stream_id, uint32_t mode)
{
    CUstream s;
    if (height == 0 || width == 0)
        return CUDA_SUCCESS;
    uint64_t span;
    if ((elem != 1 && elem != 2 && elem != 4) || width > pitch / elem ||
        __builtin_mul_overflow((uint64_t)pitch, (uint64_t)(height - 1), &span) ||
        __builtin_add_overflow(span, (uint64_t)width * elem, &span))
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = rm_sv_check_range(sv, dst, span, "memset");
    if (r == CUDA_SUCCESS)
        r = get_stream(sv, stream_id, &s);
    if (r != CUDA_SUCCESS)
        return r;
    const rm_backend_t *b = sv->b;
    if (height == 1 && pitch == width * elem) { /* a plain 1D memset */
        switch (elem * 2 + (mode != 0)) {
        case 2: RM_SV_NEED(sv, cuMemsetD8_v2); return b->cuMemsetD8_v2(dst, (unsigned char)value, width);
        case 3: RM_SV_NEED(sv, cuMemsetD8Async); return b->cuMemsetD8Async(dst, (unsigned char)value, width, s);
        case 4: RM_SV_NEED(sv, cuMemsetD16_v2); return b->cuMemsetD16_v2(dst, (unsigned short)value, width);
        case 5: RM_SV_NEED(sv, cuMemsetD16Async); return b->cuMemsetD16Async(dst, (unsigned short)value, width, s);
        case 8: RM_SV_NEED(sv, cuMemsetD32_v2); return b->cuMemsetD32_v2(dst, value, width);
        default: RM_SV_NEED(sv, cuMemsetD32Async); return b->cuMemsetD32Async(dst, value, width, s);
        }
    }
    switch (elem * 2 + (mode != 0)) {
    case 2: RM_SV_NEED(sv, cuMemsetD2D8_v2); return b->cuMemsetD2D8_v2(dst, pitch, (unsigned char)value, width, height);
    case 3: RM_SV_NEED(sv, cuMemsetD2D8Async); return b->cuMemsetD2D8Async(dst, pitch, (unsigned char)value, width, height, s);
    case 4: RM_SV_NEED(sv, cuMemsetD2D16_v2); return b->cuMemsetD2D16_v2(dst, pitch, (unsigned short)value, width, height);
    case 5: RM_SV_NEED(sv, cuMemsetD2D16Async); return b->cuMemsetD2D16Async(dst, pitch, (unsigned short)value, width, height, s);
    case 8: RM_SV_NEED(sv, cuMemsetD2D32_v2); return b->cuMemsetD2D32_v2(dst, pitch, value, width, height);
    default: RM_SV_NEED(sv, cuMemsetD2D32Async); return b->cuMemsetD2D32Async(dst, pitch, value, width, height, s);
    }
}

static CUresult memset_2d(rm_sv_t *sv, CUdeviceptr dst, size_t pitch, uint32_t value, uint32_t elem,
                          size_t width, size_t height, uint64_t stream_id, uint32_t mode)
{
    CUresult r = issue_memset(sv, dst, pitch, value, elem, width, height, stream_id, mode);
    if (height && width)
        rm_sv_wrote(sv, dst, (uint64_t)pitch * (height - 1) + (uint64_t)width * elem);
    return r;
}

CUresult rm_sv_memset(rm_sv_t *sv, const rm_memset_req_t *in, rm_memset_rep_t *out)
{
    if (in->elem_size != 1 && in->elem_size != 2 && in->elem_size != 4)
        return CUDA_ERROR_INVALID_VALUE;
    if (in->count > SIZE_MAX / 4)
        return CUDA_ERROR_INVALID_VALUE;
    return memset_2d(sv, in->dst, in->count * in->elem_size, in->value, in->elem_size, in->count, 1, in->stream,
                     in->mode);
}

CUresult rm_sv_memset_2d(rm_sv_t *sv, const rm_memset_2d_req_t *in, rm_memset_2d_rep_t *out)
{
    return memset_2d(sv, in->dst, in->pitch, in->value, in->elem_size, in->width, in->height, in->stream, in->mode);
}
