/* One channel's server thread: read a request, dispatch it, answer sync
 * calls; async calls get no answer and their first error is deferred to the
 * next reply. Decodes defensively: a malformed request gets an error reply
 * (the framing stays intact); only an oversized header or a dead peer ends
 * the channel. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "output.h"
#include "remora/protocol.h"
#include "rm_handlers.h"
#include "sv.h"

/* Reads and drops a payload there is no room for, so the framing holds. */
static rm_status skip_payload(rm_sv_t *sv, uint32_t len)
{
    uint8_t sink[4096];
    rm_status st = RM_OK;
    for (uint32_t left = len; left && st == RM_OK;) {
        uint32_t n = left < sizeof sink ? left : (uint32_t)sizeof sink;
        st = rm_conn_read(sv->conn, sink, n);
        left -= n;
    }
    return st;
}

/* The request's payload: into the bulk buffer when it is bulk copy data,
 * else into sv->in. RM_ERR_LIMIT (payload read and
 * dropped): it does not fit in the session's buffer budget or in memory. */
static rm_status read_payload(rm_sv_t *sv, uint32_t len)
{
    sv->payload = NULL; /* rm_sv_bulk may hand the bulk buffer out */
    if ((sv->payload = rm_sv_bulk(sv, len)))
        return rm_conn_read(sv->conn, sv->payload, len);
    sv->payload = sv->in;
    if (len > sv->in_cap) {
        size_t cap = sv->in_cap ? sv->in_cap : 4096;
        while (cap < len)
            cap *= 2;
        uint8_t *p = NULL;
        if (rm_session_buffers_take(sv->s, cap - sv->in_cap) == 0 && !(p = realloc(sv->in, cap)))
            rm_session_buffers_give(sv->s, cap - sv->in_cap);
        if (!p) {
            RM_WARN_LIMITED("session %llu: a %u-byte request does not fit in the session's buffer budget "
                            "(remora-server --session-buffers) or in memory: refused",
                            (unsigned long long)sv->s->id, len);
            rm_status st = skip_payload(sv, len);
            return st == RM_OK ? RM_ERR_LIMIT : st;
        }
        sv->in = sv->payload = p;
        sv->in_cap = cap;
    }
    return len ? rm_conn_read(sv->conn, sv->in, len) : RM_OK;
}

/* Buffers a big message grew are given back once it is answered, so that
 * one 256 MiB copy does not keep 256 MiB per channel for the session's life. */
#define KEEP_BYTES ((size_t)8 << 20)

static void free_buffer(rm_sv_t *sv, uint8_t **p, size_t *cap)
{
    free(*p);
    rm_session_buffers_give(sv->s, *cap);
    *p = NULL, *cap = 0;
}

static void shrink_buffers(rm_sv_t *sv)
{
    if (sv->in_cap > KEEP_BYTES)
        free_buffer(sv, &sv->in, &sv->in_cap);
    if (sv->scratch_cap > KEEP_BYTES)
        free_buffer(sv, &sv->scratch, &sv->scratch_cap);
    if (sv->reply.cap > KEEP_BYTES)
        rm_wbuf_free(&sv->reply);
}

/* What device code printed before this reply, as a frame of its own. */
static rm_status send_output(rm_sv_t *sv, const rm_msg_hdr_t *req)
{
    uint8_t *data;
    size_t n;
    rm_output_take(&data, &n);
    rm_status st = RM_OK;
    for (size_t off = 0; off < n && st == RM_OK;) {
        size_t part = n - off < RM_MAX_MSG ? n - off : RM_MAX_MSG;
        rm_msg_hdr_t h = {.len = (uint32_t)part, .op = req->op, .flags = RM_MSG_REPLY | RM_MSG_OUTPUT,
                          .seq = req->seq};
        struct iovec iov[2] = {{&h, sizeof h}, {data + off, part}};
        st = rm_conn_writev(sv->conn, iov, 2);
        off += part;
    }
    free(data);
    return st;
}

static rm_status send_reply(rm_sv_t *sv, const rm_msg_hdr_t *req, CUresult res)
{
    if (send_output(sv, req) != RM_OK)
        return RM_ERR_IO;
    rm_wbuf_t *w = &sv->reply;
    if (w->oom) { /* could not encode the reply: answer with the error alone */
        rm_wbuf_reset(w);
        rm_wbuf_grow(w, sizeof(rm_msg_hdr_t));
        res = CUDA_ERROR_OUT_OF_MEMORY;
    }
    rm_msg_hdr_t h = {
        .len = (uint32_t)(rm_wbuf_total(w) - sizeof h),
        .op = req->op,
        .flags = RM_MSG_REPLY,
        .seq = req->seq,
        .status = (uint32_t)res,
        .deferred = (uint32_t)sv->deferred,
    };
    memcpy(w->data, &h, sizeof h);
    sv->deferred = CUDA_SUCCESS;
    struct iovec iov[2 * RM_WBUF_MAX_REFS + 1];
    return rm_sv_bulk_writev(sv, iov, rm_wbuf_iov(w, iov)); /* its bulk bytes may still be landing */
}

/* remora status: one more call, its bytes (output frames not counted), and
 * the memory the session now holds. */
static void count(rm_session_t *s, uint64_t in, uint64_t out)
{
    rm_counters_t *c = s->counters;
    rm_counters_add(&c->calls, 1);
    rm_counters_add(&c->bytes_in, in);
    rm_counters_add(&c->bytes_out, out);
    rm_counters_set(&c->mem_bytes, rm_ranges_bytes(&s->ranges) - rm_counters_get(&s->seg_bytes));
}

static CUresult run_one(rm_sv_t *sv, const rm_msg_hdr_t *h)
{
    int async = (h->flags & RM_MSG_ASYNC) != 0, ok = 1;
    rm_rbuf_t in;
    rm_rbuf_init(&in, sv->payload, h->len);
    CUresult res;
    if (h->op > RM_OP_NONE && h->op < RM_OP_COUNT && rm_op_info[h->op].is_async != async) {
        ok = 0;
        res = CUDA_ERROR_INVALID_VALUE;
    } else {
        res = rm_dispatch(sv, h->op, &in, &sv->reply, &ok);
    }
    if (!ok)
        RM_WARN_LIMITED("session %llu: rejected malformed request (op %u, %u bytes)",
                (unsigned long long)sv->s->id, h->op, h->len);
    if (h->op >= RM_OP_COUNT || rm_op_info[h->op].writes == RM_WRITES_ANY)
        rm_mm_wrote_all(&sv->s->mm); /* migration cannot tell what it wrote */
    return res;
}

/* The session was migrated: where it runs now, instead of req's reply. */
static rm_status send_moved(rm_sv_t *sv, const rm_msg_hdr_t *req)
{
    const char *to = sv->s->moved_to;
    rm_msg_hdr_t h = {.len = (uint32_t)strlen(to) + 1, .op = req->op, .flags = RM_MSG_REPLY | RM_MSG_MOVED,
                      .seq = req->seq};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)to, h.len}};
    return rm_conn_writev(sv->conn, iov, 2);
}

void rm_sv_serve(rm_session_t *s, rm_conn_t *conn, uint32_t channel, uint32_t incarnation, int resumed)
{
    rm_sv_t sv = {.s = s, .b = s->b, .conn = conn, .channel = channel, .incarnation = incarnation};
    uint32_t last = 0;
    int told = 0; /* of a move */
    void *ctx;
    uint64_t done = channel < RM_MAX_CHANNELS ? __atomic_load_n(&s->done[channel], __ATOMIC_ACQUIRE) : 0;
    if (resumed && (uint32_t)(done >> 32) == incarnation) {
        last = (uint32_t)done; /* where it got to */
        uint64_t id = __atomic_load_n(&s->chan_ctx[channel], __ATOMIC_ACQUIRE);
        if (id && rm_handles_get(&s->handles, RM_H_CTX, id, &ctx) == 0 && s->b->cuCtxSetCurrent(ctx) == CUDA_SUCCESS)
            sv.ctx = id;
    }
    rm_wbuf_init(&sv.reply);
    for (;;) {
        rm_msg_hdr_t h;
        rm_status st = rm_conn_read(conn, &h, sizeof h);
        if (st != RM_OK) {
            if (st != RM_ERR_CLOSED)
                RM_WARN("session %llu: channel read failed: %s", (unsigned long long)s->id,
                        rm_status_str(st));
            break;
        }
        if ((st = rm_msg_check_request(&h)) != RM_OK) {
            RM_ERROR("session %llu: bad message header (op %u, %u bytes: %s): closing the channel",
                     (unsigned long long)s->id, h.op, h.len, rm_status_str(st));
            break;
        }
        if ((st = read_payload(&sv, h.len)) != RM_OK && st != RM_ERR_LIMIT)
            break;
        rm_wbuf_reset(&sv.reply);
        rm_wbuf_grow(&sv.reply, sizeof(rm_msg_hdr_t));
        CUresult res = CUDA_ERROR_OUT_OF_MEMORY;
        /* progress inside the lock: a checkpoint's record of how far the
         * channel got matches what it holds */
        pthread_rwlock_rdlock(&s->quiesce);
        if (__atomic_load_n(&s->moved, __ATOMIC_ACQUIRE)) { /* run nothing more: the client sends it there */
            pthread_rwlock_unlock(&s->quiesce);
            if (!told++ && send_moved(&sv, &h) != RM_OK)
                break;
            continue;
        }
        if (h.op != RM_OP_MEMCPY_HTOD_ASYNC) { /* only more pieces may pass pieces still being DMA'd */
            CUresult dma = rm_sv_bulk_drain(&sv);
            if (dma != CUDA_SUCCESS && sv.deferred == CUDA_SUCCESS)
                sv.deferred = dma;
        }
        if (st != RM_ERR_LIMIT)
            res = run_one(&sv, &h);
        rm_session_progress(s, channel, incarnation, last = h.seq, 0);
        pthread_rwlock_unlock(&s->quiesce);
        count(s, sizeof h + h.len, h.flags & RM_MSG_ASYNC ? 0 : rm_wbuf_total(&sv.reply));
        if (res != CUDA_SUCCESS) /* what a program's failure comes from */
            RM_DEBUG("session %llu: %s%s failed: CUDA error %d", (unsigned long long)s->id,
                     rm_op_name(h.op), h.flags & RM_MSG_ASYNC ? " (async)" : "", (int)res);
        if (h.flags & RM_MSG_ASYNC) {
            if (res != CUDA_SUCCESS && sv.deferred == CUDA_SUCCESS)
                sv.deferred = res;
        } else if (send_reply(&sv, &h, res) != RM_OK) {
            break;
        }
        shrink_buffers(&sv);
    }
    rm_session_progress(s, channel, incarnation, last, 1); /* fences stop waiting for it */
    rm_wbuf_free(&sv.reply);
    free_buffer(&sv, &sv.in, &sv.in_cap);
    free_buffer(&sv, &sv.scratch, &sv.scratch_cap);
    rm_sv_bulk_free(&sv);
    rm_conn_close(conn);
}
