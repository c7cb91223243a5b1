/* Client: memcpy and memset in all their forms.
 *
 * Host memory takes one of three paths:
 *  - page-locked memory in a shared segment (shm): one message naming the
 *    segment offset; the server DMAs straight from/to the shared pages;
 *  - pageable memory over shm: staged through page-locked slots of the
 *    channel, pipelined (chunk i+1 is copied, by a few threads, while the
 *    server DMAs chunk i);
 *  - pageable memory over TCP: the bytes travel in the messages, in chunks,
 *    sent from the caller's buffer without an extra copy; big synchronous
 *    copies (and big device-to-host ones) striped over several connections
 *    (stripe.h).
 * Device-to-device copies and memsets are async messages. */
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "device.h"
#include "export.h"
#include "hostfn.h"
#include "hostmem.h"
#include "managed.h"
#include "memory.h"
#include "pcopy.h"
#include "remora/protocol.h"
#include "rm_stubs.h"
#include "stripe.h"
#include "zcopy.h"

#define STAGE_SLOTS 4
#define STAGE_CHUNK (1u << 20)

enum { MODE_SYNC = 0, MODE_ASYNC = 1, MODE_ASYNC_THEN_SYNC = 2 };

static uint64_t sid(CUstream s) { return (uint64_t)(uintptr_t)s; }

/* Managed memory is made coherent around each copy and memset (managed.h);
 * a copy of many rows does it once for all of them. */
static __thread int in_box;

static void work_begin(CUdeviceptr dst, size_t n)
{
    if (!in_box)
        rm_managed_before_work(dst, n);
}

static CUresult work_end(CUresult r, int async)
{
    if (!in_box && !async && r == CUDA_SUCCESS)
        rm_managed_after_sync();
    return r;
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* The channel's staging slots (shm only), allocated on first use. */
static uint8_t *staging(rm_chan_t *ch)
{
    if (!ch->staging && rm_chan_is_shm(ch))
        ch->staging = rm_host_staging_alloc(ch, (size_t)STAGE_SLOTS * STAGE_CHUNK, &ch->staging_addr);
    return ch->staging;
}

/* Chunks of a staged copy: whole slots for big copies (each filled by
 * several threads), quarter slots for small ones so that copying in and
 * DMA overlap even then. */
static size_t stage_chunk(size_t n) { return n >= 4 * STAGE_CHUNK ? STAGE_CHUNK : STAGE_CHUNK / 4; }

/* Send one pipelined request; on failure keep the error and say stop (the
 * replies already due are still drained by the caller). */
static int post(rm_chan_t *ch, CUresult *first)
{
    CUresult r = rm_chan_post(ch);
    if (r != CUDA_SUCCESS && *first == CUDA_SUCCESS)
        *first = r;
    return r == CUDA_SUCCESS;
}

/* Wait for one pipelined reply, keeping the first error. */
static void drain_one(rm_chan_t *ch, CUresult *first)
{
    rm_rbuf_t rb;
    CUresult r = rm_chan_wait(ch, &rb);
    if (*first == CUDA_SUCCESS)
        *first = r;
}

static CUresult htod_staged(rm_chan_t *ch, uint8_t *slots, CUdeviceptr dst, const uint8_t *src, size_t n,
                            CUstream s, int async)
{
    CUresult first = CUDA_SUCCESS;
    size_t i = 0, chunk = stage_chunk(n);
    for (size_t off = 0; off < n && first == CUDA_SUCCESS; off += chunk, i++) {
        size_t len = min_sz(chunk, n - off), slot = i % STAGE_SLOTS;
        if (i >= STAGE_SLOTS)
            drain_one(ch, &first); /* the slot's previous chunk is done */
        rm_pcopy(slots + slot * STAGE_CHUNK, src + off, len);
        rm_memcpy_htod_seg_sync_req_t in = {dst + off, ch->staging_addr + slot * STAGE_CHUNK, len, sid(s),
                                            async ? MODE_ASYNC_THEN_SYNC : MODE_SYNC};
        rm_enc_memcpy_htod_seg_sync_req(rm_chan_begin(ch, RM_OP_MEMCPY_HTOD_SEG_SYNC), &in);
        if (!post(ch, &first))
            break;
    }
    while (ch->pending)
        drain_one(ch, &first);
    return first;
}

/* TCP: every piece but the last is an async message; the last one of a
 * synchronous copy waits, and reports any earlier piece's error too. The
 * server DMAs each piece from a page-locked slot of its own while the next
 * ones arrive (src/server/sv_bulk.c), so pieces are small enough for
 * several to fit its buffer and for the last one's DMA, which nothing
 * overlaps, to be short. */
#define HTOD_PIECE ((size_t)1 << 20)
_Static_assert(HTOD_PIECE + 64 <= (size_t)RM_CHUNK / 4, "a piece and its header fit a server slot");

static CUresult htod_inline(rm_chan_t *ch, CUdeviceptr dst, const uint8_t *src, size_t n, CUstream s, int async)
{
    rm_codec c = rm_zcopy_codec(ch, n);
    if (c != RM_CODEC_NONE)
        return rm_zcopy_htod(ch, c, dst, src, n, sid(s), async);
    for (size_t off = 0; off < n; off += HTOD_PIECE) {
        size_t len = min_sz(HTOD_PIECE, n - off);
        int last = off + len == n;
        if (last && !async) {
            rm_memcpy_htod_req_t in = {dst + off, src + off, (uint32_t)len, sid(s), MODE_SYNC};
            rm_memcpy_htod_rep_t out;
            return rm_call_memcpy_htod(&in, &out);
        }
        rm_memcpy_htod_async_req_t in = {dst + off, src + off, (uint32_t)len, sid(s), async ? MODE_ASYNC : MODE_SYNC};
        CUresult r = rm_call_memcpy_htod_async(&in);
        if (r != CUDA_SUCCESS)
            return r;
    }
    return CUDA_SUCCESS;
}

/* A striped copy's parts (stripe.h): each over its helper's channel. */
typedef struct {
    CUdeviceptr dev;
    uint8_t *host;
    CUstream s;
    int async;
} stripe_arg_t;

static CUresult htod_part(rm_chan_t *ch, size_t off, size_t len, void *arg)
{
    const stripe_arg_t *a = arg;
    return htod_inline(ch, a->dev + off, a->host + off, len, a->s, 0);
}

/* TCP: striped when big and synchronous (an async copy's chunks are not
 * waited for, so its parts could not report their errors). */
static CUresult htod_tcp(rm_chan_t *ch, CUdeviceptr dst, const uint8_t *src, size_t n, CUstream s, int async)
{
    int striped = 0;
    if (!async) {
        stripe_arg_t a = {dst, (uint8_t *)src, s, 0};
        CUresult r = rm_stripe_run(ch, n, rm_stripe_parts(ch, n), htod_part, &a, &striped);
        if (striped)
            return r;
    }
    return htod_inline(ch, dst, src, n, s, async);
}

/* Which path the host side of a copy takes (see the top of this file). */
typedef struct {
    rm_chan_t *ch;
    int in_segment;  /* page-locked in a shared segment: seg_at names it */
    uint64_t seg_at;
    uint8_t *slots;  /* else: staging slots (shm), or NULL (bytes inline) */
} host_side_t;

/* The channel is the one the copy's call takes (its stream's server). dir:
 * which way the bytes go; when they go beside the messages (segments), the
 * connection is told (the network emulator charges them to its link). */
static CUresult host_side(const void *p, size_t n, CUstream s, rm_carry dir, host_side_t *h)
{
    CUresult r;
    if (!(h->ch = rm_chan_for(sid(s), &r)))
        return r;
    if (n == 0)
        return CUDA_SUCCESS;
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    const rm_host_region_t *g = rm_host_find(p, n);
    h->in_segment = g && g->kind == RM_HOST_SEGMENT && g->srv == h->ch->srv;
    h->seg_at = h->in_segment ? g->seg_addr + ((uintptr_t)p - g->base) : 0;
    h->slots = h->in_segment ? NULL : staging(h->ch);
    if (h->in_segment || h->slots) /* the bytes go beside the messages */
        rm_conn_carry(h->ch->conn, dir, n);
    return CUDA_SUCCESS;
}

static CUresult htod_host(CUdeviceptr dst, const void *src, size_t n, CUstream s, int async)
{
    host_side_t h;
    CUresult r = host_side(src, n, s, RM_CARRY_UP, &h);
    if (r != CUDA_SUCCESS || n == 0)
        return r;
    if (h.in_segment && async) {
        rm_memcpy_htod_seg_req_t in = {dst, h.seg_at, n, sid(s), MODE_ASYNC};
        return rm_call_memcpy_htod_seg(&in);
    }
    if (h.in_segment) {
        rm_memcpy_htod_seg_sync_req_t in = {dst, h.seg_at, n, sid(s), MODE_SYNC};
        rm_memcpy_htod_seg_sync_rep_t out;
        return rm_call_memcpy_htod_seg_sync(&in, &out);
    }
    /* remora reads the bytes now: a host function still due may write them */
    rm_hostfn_wait(s);
    r = h.slots ? htod_staged(h.ch, h.slots, dst, src, n, s, async) : htod_tcp(h.ch, dst, src, n, s, async);
    return r == CUDA_SUCCESS && !async ? rm_chan_take_deferred(h.ch) : r;
}

static CUresult htod(CUdeviceptr dst, const void *src, size_t n, CUstream s, int async)
{
    work_begin(dst, n);
    return work_end(htod_host(dst, src, n, s, async), async);
}

static CUresult dtoh_staged(rm_chan_t *ch, uint8_t *slots, uint8_t *dst, CUdeviceptr src, size_t n, CUstream s,
                            int async)
{
    CUresult first = CUDA_SUCCESS;
    size_t chunk = stage_chunk(n), nchunks = (n + chunk - 1) / chunk, posted = 0;
    for (size_t done = 0; done < nchunks; done++) {
        while (posted < nchunks && posted < done + STAGE_SLOTS && first == CUDA_SUCCESS) {
            size_t off = posted * chunk, slot = posted % STAGE_SLOTS;
            rm_memcpy_dtoh_seg_sync_req_t in = {ch->staging_addr + slot * STAGE_CHUNK, src + off,
                                                min_sz(chunk, n - off), sid(s),
                                                async ? MODE_ASYNC_THEN_SYNC : MODE_SYNC};
            rm_enc_memcpy_dtoh_seg_sync_req(rm_chan_begin(ch, RM_OP_MEMCPY_DTOH_SEG_SYNC), &in);
            if (!post(ch, &first))
                break;
            posted++;
        }
        if (done == posted)
            break; /* an error stopped posting */
        drain_one(ch, &first);
        size_t off = done * chunk;
        if (first == CUDA_SUCCESS)
            rm_pcopy(dst + off, slots + (done % STAGE_SLOTS) * STAGE_CHUNK, min_sz(chunk, n - off));
    }
    while (ch->pending)
        drain_one(ch, &first);
    return first;
}

/* TCP: chunks requested two at a time, each reply's data copied out. */
static CUresult dtoh_inline(rm_chan_t *ch, uint8_t *dst, CUdeviceptr src, size_t n, CUstream s, int async)
{
    rm_codec c = rm_zcopy_codec(ch, n);
    if (c != RM_CODEC_NONE)
        return rm_zcopy_dtoh(ch, c, dst, src, n, sid(s), async);
    CUresult first = CUDA_SUCCESS;
    size_t nchunks = (n + RM_CHUNK - 1) / RM_CHUNK, posted = 0;
    for (size_t done = 0; done < nchunks; done++) {
        while (posted < nchunks && posted < done + 2 && first == CUDA_SUCCESS) {
            size_t off = posted * RM_CHUNK;
            rm_memcpy_dtoh_req_t in = {src + off, min_sz(RM_CHUNK, n - off), sid(s), async ? MODE_ASYNC : MODE_SYNC};
            rm_enc_memcpy_dtoh_req(rm_chan_begin(ch, RM_OP_MEMCPY_DTOH), &in);
            if (!post(ch, &first))
                break;
            posted++;
        }
        if (done == posted)
            break;
        rm_rbuf_t rb;
        rm_memcpy_dtoh_rep_t out;
        size_t off = done * RM_CHUNK, len = min_sz(RM_CHUNK, n - off);
        int landed;
        /* the reply is one blob, its u32 length then its bytes: those land in dst */
        CUresult r = rm_chan_wait_into(ch, &rb, sizeof(uint32_t), dst + off, len, &landed);
        if (r == CUDA_SUCCESS && landed && (rm_rbuf_u32(&rb) != len || rm_rbuf_finish(&rb) != RM_OK))
            r = rm_chan_bad_reply(ch, "memcpy_dtoh");
        else if (r == CUDA_SUCCESS && !landed &&
                 (rm_dec_memcpy_dtoh_rep(&rb, &out) != RM_OK || out.data_len != len))
            r = rm_chan_bad_reply(ch, "memcpy_dtoh");
        else if (r == CUDA_SUCCESS && !landed)
            memcpy(dst + off, out.data, len);
        if (r != CUDA_SUCCESS && first == CUDA_SUCCESS)
            first = r;
    }
    while (ch->pending)
        drain_one(ch, &first);
    return first;
}

static CUresult dtoh_part(rm_chan_t *ch, size_t off, size_t len, void *arg)
{
    const stripe_arg_t *a = arg;
    return dtoh_inline(ch, a->host + off, a->dev + off, len, a->s, a->async);
}

/* TCP: striped when big (every chunk is a call waited for, async or not). */
static CUresult dtoh_tcp(rm_chan_t *ch, uint8_t *dst, CUdeviceptr src, size_t n, CUstream s, int async)
{
    int striped = 0;
    stripe_arg_t a = {src, dst, s, async};
    CUresult r = rm_stripe_run(ch, n, rm_stripe_parts(ch, n), dtoh_part, &a, &striped);
    return striped ? r : dtoh_inline(ch, dst, src, n, s, async);
}

static CUresult dtoh_host(void *dst, CUdeviceptr src, size_t n, CUstream s, int async)
{
    host_side_t h;
    CUresult r = host_side(dst, n, s, RM_CARRY_DOWN, &h);
    if (r != CUDA_SUCCESS || n == 0)
        return r;
    if (h.in_segment && async) {
        rm_memcpy_dtoh_seg_req_t in = {h.seg_at, src, n, sid(s), MODE_ASYNC};
        return rm_call_memcpy_dtoh_seg(&in);
    }
    if (h.in_segment) {
        rm_memcpy_dtoh_seg_sync_req_t in = {h.seg_at, src, n, sid(s), MODE_SYNC};
        rm_memcpy_dtoh_seg_sync_rep_t out;
        return rm_call_memcpy_dtoh_seg_sync(&in, &out);
    }
    r = h.slots ? dtoh_staged(h.ch, h.slots, dst, src, n, s, async) : dtoh_tcp(h.ch, dst, src, n, s, async);
    return r == CUDA_SUCCESS && !async ? rm_chan_take_deferred(h.ch) : r;
}

static CUresult dtoh(void *dst, CUdeviceptr src, size_t n, CUstream s, int async)
{
    work_begin(0, 0);
    return work_end(dtoh_host(dst, src, n, s, async), async);
}

static CUresult dtod_device(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s, int async)
{
    if (n == 0)
        return CUDA_SUCCESS;
    if (!async && !(rm_devmem_contains(dst) && rm_devmem_contains(src))) {
        /* not memory this client allocated: the server's check decides, now */
        rm_memcpy_dtod_sync_req_t in = {dst, src, n, sid(s), MODE_SYNC};
        rm_memcpy_dtod_sync_rep_t out;
        return rm_call_memcpy_dtod_sync(&in, &out);
    }
    rm_memcpy_dtod_req_t in = {dst, src, n, sid(s), async ? MODE_ASYNC : MODE_SYNC};
    return rm_call_memcpy_dtod(&in);
}

static CUresult dtod(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s, int async)
{
    work_begin(dst, n);
    return work_end(dtod_device(dst, src, n, s, async), async);
}

/* UVA: the kind of copy follows from where the pointers live. */
static CUresult uva(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s, int async)
{
    int d = rm_devmem_contains(dst), sdev = rm_devmem_contains(src);
    if (d && sdev)
        return dtod(dst, src, n, s, async);
    if (d)
        return htod(dst, (const void *)(uintptr_t)src, n, s, async);
    if (sdev)
        return dtoh((void *)(uintptr_t)dst, src, n, s, async);
    memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n); /* host to host */
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuMemcpyHtoD_v2)(CUdeviceptr dst, const void *src, size_t n) { return htod(dst, src, n, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemcpyDtoH_v2)(void *dst, CUdeviceptr src, size_t n) { return dtoh(dst, src, n, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemcpyDtoD_v2)(CUdeviceptr dst, CUdeviceptr src, size_t n) { return dtod(dst, src, n, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemcpy)(CUdeviceptr dst, CUdeviceptr src, size_t n) { return uva(dst, src, n, NULL, 0); }

CUresult CUDAAPI RM_IMPL(cuMemcpyHtoDAsync_v2)(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
    return htod(dst, src, n, s, 1);
}

CUresult CUDAAPI RM_IMPL(cuMemcpyDtoHAsync_v2)(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
    return dtoh(dst, src, n, s, 1);
}

CUresult CUDAAPI RM_IMPL(cuMemcpyDtoDAsync_v2)(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    return dtod(dst, src, n, s, 1);
}

CUresult CUDAAPI RM_IMPL(cuMemcpyAsync)(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    return uva(dst, src, n, s, 1);
}

CUresult CUDAAPI RM_IMPL(cuMemcpyPeer)(CUdeviceptr dst, CUcontext dctx, CUdeviceptr src, CUcontext sctx, size_t n)
{
    return dtod(dst, src, n, NULL, 0);
}

CUresult CUDAAPI RM_IMPL(cuMemcpyPeerAsync)(CUdeviceptr dst, CUcontext dctx, CUdeviceptr src, CUcontext sctx,
                                            size_t n, CUstream s)
{
    return dtod(dst, src, n, s, 1);
}

/* ---- 2D and 3D copies: one 1D copy when both sides are contiguous, else
 * one per row ---- */

typedef struct {
    int dev;        /* device memory? */
    uintptr_t addr; /* host pointer or device address of the first byte */
    size_t pitch;   /* bytes per row */
    size_t slice;   /* bytes per 2D slice (3D only) */
} side_t;

static CUresult resolve(CUmemorytype type, const void *host, CUdeviceptr dev, size_t x, size_t y, size_t z,
                        size_t pitch, size_t height, side_t *out)
{
    switch (type) {
    case CU_MEMORYTYPE_HOST: *out = (side_t){0, (uintptr_t)host, pitch, pitch * height}; break;
    case CU_MEMORYTYPE_DEVICE: *out = (side_t){1, dev, pitch, pitch * height}; break;
    case CU_MEMORYTYPE_UNIFIED: *out = (side_t){rm_devmem_contains(dev), dev, pitch, pitch * height}; break;
    default: return CUDA_ERROR_NOT_SUPPORTED; /* CUDA arrays are not remoted yet */
    }
    out->addr += z * out->slice + y * pitch + x;
    return CUDA_SUCCESS;
}

static CUresult copy_1d(const side_t *d, const side_t *s, size_t n, CUstream st, int async)
{
    if (d->dev && s->dev)
        return dtod(d->addr, s->addr, n, st, async);
    if (d->dev)
        return htod(d->addr, (const void *)s->addr, n, st, async);
    if (s->dev)
        return dtoh((void *)d->addr, s->addr, n, st, async);
    memmove((void *)d->addr, (const void *)s->addr, n);
    return CUDA_SUCCESS;
}

static CUresult copy_box(const side_t *d, const side_t *s, size_t width, size_t height, size_t depth, CUstream st,
                         int async)
{
    if ((height > 1 || depth > 1) && (d->pitch < width || s->pitch < width))
        return CUDA_ERROR_INVALID_VALUE;
    int rows_packed = d->pitch == width && s->pitch == width;
    if (rows_packed && (depth == 1 || (d->slice == width * height && s->slice == width * height)))
        return copy_1d(d, s, width * height * depth, st, async);
    CUresult r = CUDA_SUCCESS;
    size_t extent = (depth - 1) * d->slice + (height - 1) * d->pitch + width;
    work_begin(d->dev ? d->addr : 0, d->dev ? extent : 0);
    in_box = 1;
    for (size_t z = 0; z < depth; z++)
        for (size_t y = 0; y < height && r == CUDA_SUCCESS; y++) {
            side_t dr = *d, sr = *s;
            dr.addr += z * d->slice + y * d->pitch;
            sr.addr += z * s->slice + y * s->pitch;
            r = copy_1d(&dr, &sr, width, st, async);
        }
    in_box = 0;
    return work_end(r, async);
}

/* ---- copies with a CUDA array side: one CUDA_MEMCPY3D message per slice
 * piece of at most RM_CHUNK packed host bytes; the host side travels packed
 * in the request (to the array) or the reply (from it) ---- */

/* Where row y of a host side's box starts. */
static size_t host_row(size_t x, size_t y0, size_t z, size_t pitch, size_t height, size_t y)
{
    return (z * height + y0 + y) * pitch + x;
}

/* One slice (Depth 1) of at most RM_CHUNK packed host bytes. */
static CUresult array_piece(CUDA_MEMCPY3D c, CUstream st, int async)
{
    const CUDA_MEMCPY3D orig = c;
    int from_host = c.srcMemoryType == CU_MEMORYTYPE_HOST, to_host = c.dstMemoryType == CU_MEMORYTYPE_HOST;
    size_t w = c.WidthInBytes, n = w * c.Height;
    uint8_t *buf = NULL;
    if ((from_host || to_host) && !(buf = malloc(n ? n : 1)))
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (from_host) {
        rm_hostfn_wait(st);
        for (size_t y = 0; y < c.Height; y++)
            memcpy(buf + y * w,
                   (const uint8_t *)c.srcHost + host_row(c.srcXInBytes, c.srcY, c.srcZ, c.srcPitch, c.srcHeight, y), w);
        c.srcHost = NULL;
        c.srcXInBytes = c.srcY = c.srcZ = 0;
        c.srcPitch = w;
        c.srcHeight = c.Height;
    }
    if (to_host) {
        c.dstHost = NULL;
        c.dstXInBytes = c.dstY = c.dstZ = 0;
        c.dstPitch = w;
        c.dstHeight = c.Height;
    }
    CUresult r;
    if (async && !to_host) {
        rm_memcpy_3d_async_req_t in = {&c, sizeof c, buf, from_host ? (uint32_t)n : 0, 0, sid(st), 1};
        r = rm_call_memcpy_3d_async(&in);
    } else {
        rm_memcpy_3d_req_t in = {&c, sizeof c, buf, from_host ? (uint32_t)n : 0, 0, sid(st), async ? 1u : 0u};
        rm_memcpy_3d_rep_t out;
        r = rm_call_memcpy_3d(&in, &out);
        if (r == CUDA_SUCCESS && to_host && out.result_len != n)
            r = CUDA_ERROR_INVALID_VALUE;
        for (size_t y = 0; r == CUDA_SUCCESS && to_host && y < c.Height; y++)
            memcpy((uint8_t *)orig.dstHost +
                       host_row(orig.dstXInBytes, orig.dstY, orig.dstZ, orig.dstPitch, orig.dstHeight, y),
                   (const uint8_t *)out.result + y * w, w);
    }
    free(buf);
    return r;
}

/* Split by slices, then by rows that fit in RM_CHUNK. */
static CUresult copy_array(const CUDA_MEMCPY3D *p, CUstream st, int async)
{
    size_t w = p->WidthInBytes;
    if (w > RM_CHUNK || p->srcMemoryType == CU_MEMORYTYPE_UNIFIED || p->dstMemoryType == CU_MEMORYTYPE_UNIFIED)
        return CUDA_ERROR_NOT_SUPPORTED;
    size_t rows = w ? RM_CHUNK / w : p->Height;
    CUresult r = CUDA_SUCCESS;
    for (size_t z = 0; z < p->Depth && r == CUDA_SUCCESS; z++)
        for (size_t y = 0; y < p->Height && r == CUDA_SUCCESS; y += rows) {
            CUDA_MEMCPY3D c = *p;
            c.srcZ += z;
            c.dstZ += z;
            c.srcY += y;
            c.dstY += y;
            c.Depth = 1;
            c.Height = min_sz(rows, p->Height - y);
            r = array_piece(c, st, async);
        }
    return r;
}

static int has_array(CUmemorytype a, CUmemorytype b) { return a == CU_MEMORYTYPE_ARRAY || b == CU_MEMORYTYPE_ARRAY; }

static CUresult copy_2d(const CUDA_MEMCPY2D *p, CUstream st, int async)
{
    side_t d, s;
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    if (has_array(p->srcMemoryType, p->dstMemoryType)) {
        CUDA_MEMCPY3D c = {p->srcXInBytes, p->srcY, 0, 0, p->srcMemoryType, p->srcHost, p->srcDevice, p->srcArray,
                           NULL, p->srcPitch, p->Height, p->dstXInBytes, p->dstY, 0, 0, p->dstMemoryType,
                           p->dstHost, p->dstDevice, p->dstArray, NULL, p->dstPitch, p->Height,
                           p->WidthInBytes, p->Height, 1};
        return copy_array(&c, st, async);
    }
    CUresult r = resolve(p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, 0, p->dstPitch, 0, &d);
    if (r == CUDA_SUCCESS)
        r = resolve(p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY, 0, p->srcPitch, 0, &s);
    return r == CUDA_SUCCESS ? copy_box(&d, &s, p->WidthInBytes, p->Height, 1, st, async) : r;
}

static CUresult copy_3d(const CUDA_MEMCPY3D *p, CUstream st, int async)
{
    side_t d, s;
    if (!p || p->srcLOD || p->dstLOD)
        return CUDA_ERROR_INVALID_VALUE;
    if (has_array(p->srcMemoryType, p->dstMemoryType))
        return copy_array(p, st, async);
    CUresult r = resolve(p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, p->dstZ, p->dstPitch,
                         p->dstHeight, &d);
    if (r == CUDA_SUCCESS)
        r = resolve(p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY, p->srcZ, p->srcPitch,
                    p->srcHeight, &s);
    return r == CUDA_SUCCESS ? copy_box(&d, &s, p->WidthInBytes, p->Height, p->Depth, st, async) : r;
}

CUresult CUDAAPI RM_IMPL(cuMemcpy2D_v2)(const CUDA_MEMCPY2D *p) { return copy_2d(p, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemcpy2DUnaligned_v2)(const CUDA_MEMCPY2D *p) { return copy_2d(p, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemcpy2DAsync_v2)(const CUDA_MEMCPY2D *p, CUstream s) { return copy_2d(p, s, 1); }
CUresult CUDAAPI RM_IMPL(cuMemcpy3D_v2)(const CUDA_MEMCPY3D *p) { return copy_3d(p, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemcpy3DAsync_v2)(const CUDA_MEMCPY3D *p, CUstream s) { return copy_3d(p, s, 1); }

/* ---- memset ---- */

static CUresult set_2d(CUdeviceptr dst, size_t pitch, uint32_t value, uint32_t elem, size_t width, size_t height,
                       CUstream s, int async)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    work_begin(dst, height > 1 ? (height - 1) * pitch + width * elem : width * elem);
    if (height == 1 && pitch == width * elem) {
        rm_memset_req_t in = {dst, value, elem, width, sid(s), async ? MODE_ASYNC : MODE_SYNC};
        return work_end(rm_call_memset(&in), async);
    }
    rm_memset_2d_req_t in = {dst, pitch, value, elem, width, height, sid(s), async ? MODE_ASYNC : MODE_SYNC};
    return work_end(rm_call_memset_2d(&in), async);
}

CUresult CUDAAPI RM_IMPL(cuMemsetD8_v2)(CUdeviceptr d, unsigned char v, size_t n) { return set_2d(d, n, v, 1, n, 1, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemsetD16_v2)(CUdeviceptr d, unsigned short v, size_t n) { return set_2d(d, n * 2, v, 2, n, 1, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemsetD32_v2)(CUdeviceptr d, unsigned int v, size_t n) { return set_2d(d, n * 4, v, 4, n, 1, NULL, 0); }
CUresult CUDAAPI RM_IMPL(cuMemsetD8Async)(CUdeviceptr d, unsigned char v, size_t n, CUstream s) { return set_2d(d, n, v, 1, n, 1, s, 1); }
CUresult CUDAAPI RM_IMPL(cuMemsetD16Async)(CUdeviceptr d, unsigned short v, size_t n, CUstream s) { return set_2d(d, n * 2, v, 2, n, 1, s, 1); }
CUresult CUDAAPI RM_IMPL(cuMemsetD32Async)(CUdeviceptr d, unsigned int v, size_t n, CUstream s) { return set_2d(d, n * 4, v, 4, n, 1, s, 1); }

CUresult CUDAAPI RM_IMPL(cuMemsetD2D8_v2)(CUdeviceptr d, size_t pitch, unsigned char v, size_t w, size_t h)
{
    return set_2d(d, pitch, v, 1, w, h, NULL, 0);
}

CUresult CUDAAPI RM_IMPL(cuMemsetD2D16_v2)(CUdeviceptr d, size_t pitch, unsigned short v, size_t w, size_t h)
{
    return set_2d(d, pitch, v, 2, w, h, NULL, 0);
}

CUresult CUDAAPI RM_IMPL(cuMemsetD2D32_v2)(CUdeviceptr d, size_t pitch, unsigned int v, size_t w, size_t h)
{
    return set_2d(d, pitch, v, 4, w, h, NULL, 0);
}

CUresult CUDAAPI RM_IMPL(cuMemsetD2D8Async)(CUdeviceptr d, size_t pitch, unsigned char v, size_t w, size_t h, CUstream s)
{
    return set_2d(d, pitch, v, 1, w, h, s, 1);
}

CUresult CUDAAPI RM_IMPL(cuMemsetD2D16Async)(CUdeviceptr d, size_t pitch, unsigned short v, size_t w, size_t h, CUstream s)
{
    return set_2d(d, pitch, v, 2, w, h, s, 1);
}

CUresult CUDAAPI RM_IMPL(cuMemsetD2D32Async)(CUdeviceptr d, size_t pitch, unsigned int v, size_t w, size_t h, CUstream s)
{
    return set_2d(d, pitch, v, 4, w, h, s, 1);
}
