/* The channel's bulk buffer (see sv.h). Registration is tried again while
 * it has not worked and the thread has a context, so a channel whose first
 * big copy came before its context still gets page-locked memory later.
 *
 * Pipelined host-to-device pieces: each piece's DMA is started from its
 * slot with an event recorded behind it, and the slot is not handed out
 * again until that event has completed; every other request waits for all
 * of them first (rm_sv_bulk_drain, called by the serve loop), so no one
 * sees a piece's bytes missing and no event outlives the sequence of
 * pieces (nor, so, its context). */
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "remora/protocol.h"
#include "sv.h"

static void try_pin(rm_sv_t *sv)
{
    if (sv->bulk_pinned || !sv->ctx || !sv->b->cuMemHostRegister_v2)
        return;
    CUresult r = sv->b->cuMemHostRegister_v2(sv->bulk, RM_SV_BULK_CAP, CU_MEMHOSTREGISTER_PORTABLE);
    sv->bulk_pinned = r == CUDA_SUCCESS;
    if (r != CUDA_SUCCESS)
        RM_DEBUG("session %llu: bulk buffer not page-locked (CUDA error %d): copies stage through pageable memory",
                 (unsigned long long)sv->s->id, (int)r);
}

/* The DMA from slot k is done (or there was none): its result. */
static CUresult wait_slot(rm_sv_t *sv, unsigned k)
{
    CUevent ev = sv->bulk_dma[k];
    if (!ev)
        return CUDA_SUCCESS;
    sv->bulk_dma[k] = NULL;
    CUresult r = sv->b->cuEventSynchronize(ev);
    sv->b->cuEventDestroy_v2(ev);
    return r;
}

CUresult rm_sv_bulk_drain(rm_sv_t *sv)
{
    CUresult first = CUDA_SUCCESS;
    for (unsigned k = 0; k < RM_SV_BULK_SLOTS; k++) {
        CUresult r = wait_slot(sv, k);
        if (first == CUDA_SUCCESS)
            first = r;
    }
    return first;
}

/* A DMA that failed while the slot waited is reported as any async
 * call's error: by the next reply. */
static void keep_error(rm_sv_t *sv, CUresult r)
{
    if (r != CUDA_SUCCESS && sv->deferred == CUDA_SUCCESS)
        sv->deferred = r;
}

void *rm_sv_bulk(rm_sv_t *sv, size_t n)
{
    if (n < RM_SV_BULK_MIN || n > RM_SV_BULK_CAP || (sv->bulk && rm_sv_bulk_holds(sv, sv->payload)))
        return NULL;
    if (!sv->bulk) { /* charged to the session's buffer budget like the others */
        if (rm_session_buffers_take(sv->s, RM_SV_BULK_CAP) != 0)
            return NULL;
        if (!(sv->bulk = aligned_alloc(4096, RM_SV_BULK_CAP))) {
            rm_session_buffers_give(sv->s, RM_SV_BULK_CAP);
            return NULL;
        }
    }
    try_pin(sv);
    if (n <= RM_SV_BULK_SLOT) {
        keep_error(sv, wait_slot(sv, sv->bulk_next));
        return sv->bulk + (size_t)sv->bulk_next * RM_SV_BULK_SLOT;
    }
    keep_error(sv, rm_sv_bulk_drain(sv));
    return sv->bulk;
}

int rm_sv_bulk_holds(const rm_sv_t *sv, const void *p)
{
    const uint8_t *q = p;
    return sv->bulk && q >= sv->bulk && q < sv->bulk + RM_SV_BULK_CAP;
}

int rm_sv_bulk_htod(rm_sv_t *sv, CUdeviceptr dst, const void *src, size_t n, CUresult *r)
{
    const rm_backend_t *b = sv->b;
    const uint8_t *slot = sv->bulk + (size_t)sv->bulk_next * RM_SV_BULK_SLOT;
    CUevent ev;
    if (!sv->bulk_pinned || (const uint8_t *)src < slot || (const uint8_t *)src + n > slot + RM_SV_BULK_SLOT ||
        !b->cuMemcpyHtoDAsync_v2 || !b->cuEventCreate || !b->cuEventRecord || !b->cuEventSynchronize ||
        !b->cuEventDestroy_v2 || b->cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS)
        return 0;
    *r = b->cuMemcpyHtoDAsync_v2(dst, src, n, CU_STREAM_LEGACY);
    if (*r == CUDA_SUCCESS && b->cuEventRecord(ev, CU_STREAM_LEGACY) == CUDA_SUCCESS) {
        sv->bulk_dma[sv->bulk_next] = ev;
        sv->bulk_next = (sv->bulk_next + 1) % RM_SV_BULK_SLOTS;
        return 1;
    }
    if (*r == CUDA_SUCCESS) /* no event to wait on: the slot is reused at once, so wait now */
        *r = b->cuStreamSynchronize ? b->cuStreamSynchronize(CU_STREAM_LEGACY) : CUDA_ERROR_NOT_SUPPORTED;
    b->cuEventDestroy_v2(ev);
    return 1;
}

static CUresult reply_forget(rm_sv_t *sv);

void rm_sv_bulk_free(rm_sv_t *sv)
{
    rm_sv_bulk_drain(sv); /* nothing may still read or write it */
    reply_forget(sv);
    if (sv->bulk_pinned && sv->b->cuMemHostUnregister)
        sv->b->cuMemHostUnregister(sv->bulk); /* fails harmlessly if its context is gone */
    if (sv->bulk)
        rm_session_buffers_give(sv->s, RM_SV_BULK_CAP);
    free(sv->bulk);
    sv->bulk = NULL;
    sv->bulk_pinned = 0;
}

/* Drops the reply's pieces still outstanding: waits for each, keeps none. */
static CUresult reply_forget(rm_sv_t *sv)
{
    CUresult first = CUDA_SUCCESS;
    for (int i = 0; i < sv->reply_pieces; i++)
        if (sv->reply_dma[i]) {
            CUresult r = sv->b->cuEventSynchronize(sv->reply_dma[i]);
            sv->b->cuEventDestroy_v2(sv->reply_dma[i]);
            sv->reply_dma[i] = NULL;
            if (first == CUDA_SUCCESS)
                first = r;
        }
    sv->reply_pieces = 0;
    return first;
}

/* Piece i has landed: its DMA's result. */
static CUresult reply_piece(rm_sv_t *sv, int i)
{
    CUevent ev = sv->reply_dma[i];
    if (!ev)
        return CUDA_SUCCESS;
    sv->reply_dma[i] = NULL;
    CUresult r = sv->b->cuEventSynchronize(ev);
    sv->b->cuEventDestroy_v2(ev);
    return r;
}

int rm_sv_bulk_dtoh(rm_sv_t *sv, void *dst, CUdeviceptr src, size_t n, CUstream s, CUresult *r)
{
    const rm_backend_t *b = sv->b;
    if (!sv->bulk_pinned || dst != sv->bulk || n < 2 * RM_SV_REPLY_PIECE || n > RM_CHUNK ||
        !b->cuMemcpyDtoHAsync_v2 || !b->cuEventCreate || !b->cuEventRecord || !b->cuEventSynchronize ||
        !b->cuEventDestroy_v2)
        return 0;
    int pieces = (int)((n + RM_SV_REPLY_PIECE - 1) / RM_SV_REPLY_PIECE);
    *r = CUDA_SUCCESS;
    for (int i = 0; i < pieces && *r == CUDA_SUCCESS; i++) {
        size_t off = (size_t)i * RM_SV_REPLY_PIECE, len = n - off < RM_SV_REPLY_PIECE ? n - off : RM_SV_REPLY_PIECE;
        CUevent ev;
        if ((*r = b->cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING)) != CUDA_SUCCESS)
            break;
        sv->reply_dma[i] = ev;
        sv->reply_pieces = i + 1;
        *r = b->cuMemcpyDtoHAsync_v2(sv->bulk + off, src + off, len, s);
        if (*r == CUDA_SUCCESS)
            *r = b->cuEventRecord(ev, s);
    }
    if (*r == CUDA_SUCCESS)
        *r = reply_piece(sv, 0);
    if (*r != CUDA_SUCCESS)
        reply_forget(sv); /* the reply carries the error, not the bytes */
    return 1;
}

rm_status rm_sv_bulk_writev(rm_sv_t *sv, const struct iovec *iov, int iovcnt)
{
    if (!sv->reply_pieces)
        return rm_conn_writev(sv->conn, iov, iovcnt);
    struct iovec batch[2 * RM_WBUF_MAX_REFS + 1 + RM_SV_REPLY_PIECES];
    int nb = 0, waited = 1; /* pieces landed: the first, before the reply's status was known */
    rm_status st = RM_OK;
    for (int k = 0; k < iovcnt && st == RM_OK; k++) {
        const uint8_t *p = iov[k].iov_base, *end = p + iov[k].iov_len;
        while (p < end && st == RM_OK) {
            const uint8_t *stop = end;
            if (rm_sv_bulk_holds(sv, p)) {
                int i = (int)((size_t)(p - sv->bulk) / RM_SV_REPLY_PIECE);
                const uint8_t *piece_end = sv->bulk + (size_t)(i + 1) * RM_SV_REPLY_PIECE;
                stop = piece_end < end ? piece_end : end;
                if (i >= waited && i < sv->reply_pieces) { /* send what is ready, then wait for it */
                    if (nb && (st = rm_conn_writev(sv->conn, batch, nb)) != RM_OK)
                        break;
                    nb = 0;
                    CUresult r = reply_piece(sv, i);
                    waited = i + 1;
                    if (r != CUDA_SUCCESS) {
                        RM_ERROR("session %llu: a device-to-host copy failed after its reply began (CUDA error "
                                 "%d): closing the channel",
                                 (unsigned long long)sv->s->id, (int)r);
                        st = RM_ERR_IO;
                        break;
                    }
                }
            }
            batch[nb++] = (struct iovec){(void *)p, (size_t)(stop - p)};
            p = stop;
        }
    }
    if (st == RM_OK && nb)
        st = rm_conn_writev(sv->conn, batch, nb);
    reply_forget(sv);
    return st;
}
