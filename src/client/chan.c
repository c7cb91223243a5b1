/* Client channels (see chan.h). */
#include "chan.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "hostmem.h"
#include "log.h"
#include "route.h"
#include "session.h"
#include "stats.h"
#include "status_cuda.h"

#define TCP_BATCH_BYTES (256u << 10) /* send queued async calls past this */

/* A thread has a channel to each server it talks to (REMORA_SERVER may
 * list several); fences and channel slots are per server, as each server
 * holds a session of its own. */
static __thread rm_chan_t *tls_chans[RM_MAX_SERVERS];
static pthread_key_t chan_keys[RM_MAX_SERVERS];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static rm_chan_t *primary[RM_MAX_SERVERS]; /* a server's first channel lives as long as the process */

/* Every channel of the process: for fences, and so that a forked child can
 * close them (the child must not keep the parent's session alive). */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static rm_chan_t *chans;
static uint64_t async_total[RM_MAX_SERVERS]; /* async messages sent by all channels (atomic) */
static uint32_t slot_uses[RM_MAX_SERVERS][RM_MAX_CHANNELS]; /* incarnations handed out per slot */

static void after_fork_child(void)
{
    for (rm_chan_t *c = chans; c; c = c->next)
        if (c->conn)
            close(rm_conn_fd(c->conn));
    chans = NULL;
    memset(slot_uses, 0, sizeof slot_uses);
    pthread_mutex_init(&list_lock, NULL);
    memset(primary, 0, sizeof primary);
}

/* The list must not be mid-update when the child copies it. */
static void before_fork(void) { pthread_mutex_lock(&list_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&list_lock); }

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Add ch to the list under the lowest channel number free on its server. */
static int list_add(rm_chan_t *ch)
{
    pthread_mutex_lock(&list_lock);
    uint32_t index = 0;
    for (int again = 1; again;) {
        again = 0;
        for (rm_chan_t *c = chans; c; c = c->next)
            if (c->srv == ch->srv && c->index == index)
                index++, again = 1;
    }
    if (index < RM_MAX_CHANNELS) {
        ch->index = index;
        ch->incarnation = slot_uses[ch->srv][index]++;
        ch->next = chans;
        chans = ch;
    }
    pthread_mutex_unlock(&list_lock);
    return index < RM_MAX_CHANNELS ? 0 : -1;
}

static void list_remove(rm_chan_t *ch)
{
    pthread_mutex_lock(&list_lock);
    for (rm_chan_t **pp = &chans; *pp; pp = &(*pp)->next)
        if (*pp == ch) {
            *pp = ch->next;
            break;
        }
    pthread_mutex_unlock(&list_lock);
}

static CUresult flush(rm_chan_t *ch);
static CUresult seal(rm_chan_t *ch, uint16_t flags);

static void chan_free(rm_chan_t *ch)
{
    if (ch->staging)
        rm_host_staging_free(ch->staging);
    list_remove(ch);
    if (ch->conn)
        rm_conn_close(ch->conn);
    pthread_mutex_destroy(&ch->lock);
    rm_wbuf_free(&ch->out);
    free(ch->in);
    free(ch->waits);
    rm_replay_free(&ch->replay);
    free(ch);
}

static void on_thread_exit(void *p)
{
    rm_chan_t *ch = p;
    if (ch->generation != rm_session_generation())
        return;
    pthread_mutex_lock(&ch->lock);
    flush(ch); /* async calls queued by the thread still run */
    pthread_mutex_unlock(&ch->lock);
    if (ch != primary[ch->srv])
        chan_free(ch); /* the server thread for it ends too */
}

static void make_keys(void)
{
    for (int i = 0; i < RM_MAX_SERVERS; i++)
        pthread_key_create(&chan_keys[i], on_thread_exit);
}

int rm_chan_is_shm(const rm_chan_t *ch) { return ch->scheme == RM_SCHEME_SHM; }

static rm_chan_t *chan_open(int srv, CUresult *err)
{
    rm_chan_t *ch = calloc(1, sizeof *ch);
    if (!ch) {
        *err = CUDA_ERROR_OUT_OF_MEMORY;
        return NULL;
    }
    ch->srv = srv;
    rm_wbuf_init(&ch->out);
    pthread_mutex_init(&ch->lock, NULL);
    ch->generation = rm_session_generation();
    if (list_add(ch) != 0) {
        RM_ERROR("more than %d threads use CUDA at once", RM_MAX_CHANNELS);
        free(ch);
        *err = CUDA_ERROR_OUT_OF_MEMORY;
        return NULL;
    }
    rm_status st = RM_ERR_NOMEM;
    if ((ch->waits = malloc(RM_MAX_CHANNELS * 3 * sizeof *ch->waits)))
        st = rm_session_connect(srv, ch->index, ch->incarnation, &ch->conn, &ch->scheme);
    if (st != RM_OK) {
        list_remove(ch);
        free(ch->waits);
        free(ch);
        *err = rm_status_to_cuda(st);
        return NULL;
    }
    pthread_once(&key_once, make_keys);
    pthread_setspecific(chan_keys[srv], ch);
    if (!primary[srv] || primary[srv]->generation != ch->generation)
        primary[srv] = ch;
    return ch;
}

rm_chan_t *rm_chan_on(int srv, CUresult *err)
{
    if (srv < 0 || srv >= RM_MAX_SERVERS) {
        *err = CUDA_ERROR_INVALID_VALUE;
        return NULL;
    }
    rm_chan_t *ch = tls_chans[srv];
    if (ch && ch->generation == rm_session_generation()) {
        if (!ch->dead)
            return ch;
        *err = CUDA_ERROR_DEVICE_UNAVAILABLE;
        return NULL;
    }
    ch = chan_open(srv, err);
    tls_chans[srv] = ch;
    return ch;
}

rm_chan_t *rm_chan_current(CUresult *err) { return rm_chan_on(rm_route_current(), err); }

rm_chan_t *rm_chan_for(uint64_t handle, CUresult *err) { return rm_chan_on(rm_route_handle(handle), err); }

static void start_message(rm_chan_t *ch, uint16_t op)
{
    ch->msg_start = ch->out.len;
    ch->msg_refs = ch->out.ref_bytes;
    ch->msg_nrefs = ch->out.nrefs;
    rm_msg_hdr_t h = {.op = op, .seq = ++ch->seq};
    rm_wbuf_put(&ch->out, &h, sizeof h); /* batched: may be unaligned */
}

/* For every other channel with async calls sent: its slot, incarnation and
 * the seq of the last one (after sending what it had queued). */
static int collect_waits(rm_chan_t *self, uint32_t *waits)
{
    int n = 0;
    pthread_mutex_lock(&list_lock);
    for (rm_chan_t *c = chans; c; c = c->next) { /* at most RM_MAX_CHANNELS */
        /* a helper's async calls are never waited for (rm_chan_send_async):
         * its lock, held through a big send, is not taken either */
        if (c == self || c->srv != self->srv || __atomic_load_n(&c->helper, __ATOMIC_ACQUIRE))
            continue;
        pthread_mutex_lock(&c->lock);
        if (!c->dead && c->out.len)
            flush(c);
        if (!c->dead && c->last_async) {
            waits[3 * n] = c->index;
            waits[3 * n + 1] = c->incarnation;
            waits[3 * n + 2] = c->last_async;
            n++;
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&list_lock);
    return n;
}

rm_wbuf_t *rm_chan_begin_unordered(rm_chan_t *ch, uint16_t op)
{
    pthread_mutex_lock(&ch->lock);
    start_message(ch, op);
    return &ch->out;
}

rm_wbuf_t *rm_chan_begin(rm_chan_t *ch, uint16_t op)
{
    int n = 0;
    uint64_t others = __atomic_load_n(&async_total[ch->srv], __ATOMIC_SEQ_CST) - ch->async_sent;
    if (others != ch->others_seen) {
        n = collect_waits(ch, ch->waits);
        ch->others_seen = others;
    }
    pthread_mutex_lock(&ch->lock);
    if (n) {
        rm_fence_req_t in = {ch->waits, (uint32_t)(n * 3 * sizeof ch->waits[0])};
        start_message(ch, RM_OP_FENCE);
        rm_enc_fence_req(&ch->out, &in);
        seal(ch, RM_MSG_ASYNC);
    }
    start_message(ch, op);
    return &ch->out;
}

/* The channel is unusable from now on: a reply may still be on its way, or
 * half a message was sent, so the stream is out of step. A call deadline
 * that passed is CUDA_ERROR_TIMEOUT for the call that waited; every later
 * call of the thread gets CUDA_ERROR_DEVICE_UNAVAILABLE. */
static CUresult lost(rm_chan_t *ch, rm_status st)
{
    if (!ch->dead && st == RM_ERR_TIMEOUT)
        RM_ERROR("remora-server did not answer within %llu s (REMORA_CALL_TIMEOUT): this thread's channel is "
                 "closed and its CUDA calls fail from now on",
                 (unsigned long long)rm_session_call_timeout_s());
    else if (!ch->dead && ch->helper)
        RM_ERROR("lost a striped copy's connection to remora-server (%s)", rm_status_str(st));
    else if (!ch->dead)
        RM_ERROR("lost the connection to remora-server (%s): CUDA calls fail from now on", rm_status_str(st));
    int first = !ch->dead;
    ch->dead = 1;
    ch->pending = 0; /* no reply will come */
    rm_wbuf_reset(&ch->out);
    if (first && st == RM_ERR_TIMEOUT)
        shutdown(rm_conn_fd(ch->conn), SHUT_RDWR); /* the server sees a hang-up when it resumes */
    return first && st == RM_ERR_TIMEOUT ? CUDA_ERROR_TIMEOUT : CUDA_ERROR_DEVICE_UNAVAILABLE;
}

/* The server is gone and REMORA_RESTORE_FROM is set, or the session was
 * migrated (RM_MSG_MOVED, from): join the session restored from the
 * checkpoint, or where it runs now, and send again what it has not run.
 * CUDA_SUCCESS, or the channel is lost. */
static CUresult resume(rm_chan_t *ch, rm_status st, const char *from)
{
    const char *why = NULL;
    uint64_t done = RM_RESUME_NONE;
    const uint8_t *p;
    size_t n;
    if (ch->scheme == RM_SCHEME_SHM)
        why = "a shm:// session does not resume (its shared segments are not in the checkpoint)";
    if (from)
        RM_WARN("remora-server moved the session: resuming it at %s", from);
    else
        RM_WARN("lost the connection to remora-server (%s): resuming the session%s%s", rm_status_str(st),
                rm_session_restore_dir() ? " from " : "", rm_session_restore_dir() ? rm_session_restore_dir() : "");
    rm_conn_close(ch->conn);
    ch->conn = NULL;
    if (!why && rm_session_rejoin(ch->srv, ch->index, ch->incarnation, &ch->conn, &done) != RM_OK)
        return lost(ch, st); /* said why */
    if (!why && (done == RM_RESUME_NONE || (done && (uint32_t)(done >> 32) != ch->incarnation)))
        why = "the session does not know this thread's channel";
    if (!why && rm_replay_resume(&ch->replay, (uint32_t)done, &p, &n, &why) == 0) {
        struct iovec iov = {(void *)p, n};
        rm_status w = n ? rm_conn_writev(ch->conn, &iov, 1) : RM_OK;
        if (w == RM_OK) {
            if (from)
                RM_WARN("resumed the session at %s: %zu bytes of calls sent again", from, n);
            else
                RM_WARN("resumed from the checkpoint: %zu bytes of calls sent again", n);
            return CUDA_SUCCESS;
        }
        why = "the session's new connection failed too";
    }
    RM_ERROR("cannot resume the session: %s", why);
    return lost(ch, st);
}

/* A connection error: resume when configured (or the session moved since:
 * a channel idle through the move finds the old server gone), else the
 * channel is lost. */
static CUresult broken(rm_chan_t *ch, rm_status st)
{
    if (ch->dead || st == RM_ERR_TIMEOUT || st == RM_ERR_PROTO || st == RM_ERR_NOMEM ||
        (!rm_session_restore_dir() && !rm_session_has_moved(ch->srv)))
        return lost(ch, st);
    return resume(ch, st, NULL);
}

/* An RM_MSG_MOVED frame (its payload in ch->in): follow the session. */
static CUresult follow(rm_chan_t *ch, uint32_t len)
{
    if (len == 0 || ch->in[len - 1] != 0 || memchr(ch->in, 0, len) != ch->in + len - 1)
        return lost(ch, RM_ERR_PROTO);
    char to[256];
    snprintf(to, sizeof to, "%s", (const char *)ch->in);
    if (!rm_session_migratable()) {
        RM_ERROR("remora-server moved the session to %s, but this program keeps no copy of what it sent "
                 "(REMORA_MIGRATABLE=1)", to);
        return lost(ch, RM_ERR_CLOSED);
    }
    if (rm_session_moved(ch->srv, to) != RM_OK)
        return lost(ch, RM_ERR_CLOSED);
    return resume(ch, RM_ERR_CLOSED, to);
}

/* Take the message being built back out of the batch. */
static void drop_message(rm_chan_t *ch)
{
    ch->out.len = ch->msg_start;
    ch->out.nrefs = ch->msg_nrefs;
    ch->out.ref_bytes = ch->msg_refs;
    ch->out.oom = 0;
}

/* Fill in the current message's header. */
static CUresult seal(rm_chan_t *ch, uint16_t flags)
{
    if (ch->out.oom) {
        drop_message(ch); /* the messages queued before it stay */
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    rm_msg_hdr_t h;
    memcpy(&h, ch->out.data + ch->msg_start, sizeof h);
    size_t len = rm_wbuf_total(&ch->out) - ch->msg_start - ch->msg_refs - sizeof h;
    if (len > RM_MAX_MSG) {
        RM_ERROR("%s: message of %zu bytes exceeds the protocol limit", rm_op_name(h.op), len);
        drop_message(ch);
        return CUDA_ERROR_INVALID_VALUE;
    }
    h.len = (uint32_t)len;
    h.flags = flags;
    memcpy(ch->out.data + ch->msg_start, &h, sizeof h);
    rm_stats_message(h.op, !(flags & RM_MSG_ASYNC), len);
    return CUDA_SUCCESS;
}

static CUresult flush(rm_chan_t *ch)
{
    if (ch->dead)
        return CUDA_ERROR_DEVICE_UNAVAILABLE;
    if (ch->out.len == 0)
        return CUDA_SUCCESS;
    struct iovec iov[2 * RM_WBUF_MAX_REFS + 1];
    int n = rm_wbuf_iov(&ch->out, iov);
    if (ch->scheme != RM_SCHEME_SHM && rm_session_resumable()) /* shm does not resume */
        rm_replay_add(&ch->replay, iov, n, ch->seq);
    rm_status st = rm_conn_writev(ch->conn, iov, n);
    rm_wbuf_reset(&ch->out);
    return st == RM_OK ? CUDA_SUCCESS : broken(ch, st); /* resumed: the batch went again */
}

CUresult rm_chan_send_async(rm_chan_t *ch, int now)
{
    CUresult r = seal(ch, RM_MSG_ASYNC);
    /* A striped copy's helper sends the chunks of one part, which ends with
     * a call waited for: all of them have run before the copy returns, so
     * no other channel needs a fence for them (the copy's other parts, each
     * on its own helper, would otherwise wait for one another). */
    if (r == CUDA_SUCCESS && !ch->helper) {
        ch->last_async = ch->seq;
        ch->async_sent++;
        __atomic_add_fetch(&async_total[ch->srv], 1, __ATOMIC_SEQ_CST);
    }
    if (r == CUDA_SUCCESS) {
        /* Referenced caller memory must go out before the call returns. */
        if (now || ch->scheme == RM_SCHEME_SHM || ch->out.nrefs || ch->out.len >= TCP_BATCH_BYTES)
            r = flush(ch);
    }
    pthread_mutex_unlock(&ch->lock);
    return r;
}

CUresult rm_chan_post(rm_chan_t *ch)
{
    CUresult r = seal(ch, 0);
    if (r == CUDA_SUCCESS && (r = flush(ch)) == CUDA_SUCCESS) {
        ch->pending++;
        ch->posted_ns = rm_stats_detailed() ? rm_now_ns() : 0;
    }
    pthread_mutex_unlock(&ch->lock);
    return r;
}

/* What device code printed, ahead of a reply: to our stdout, where the
 * program's own output goes (a native program prints it there at the same
 * point: when the work is waited for). */
static void print_output(const uint8_t *p, size_t n)
{
    fflush(stdout);
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w <= 0 && errno != EINTR)
            return;
        if (w > 0)
            p += w, n -= (size_t)w;
    }
}

/* The payload of reply h: all of it into ch->in, or, when a successful
 * reply is exactly head + n bytes and dst is given, head bytes into ch->in
 * and the last n straight into dst (*landed set). */
static rm_status read_payload(rm_chan_t *ch, const rm_msg_hdr_t *h, size_t head, void *dst, size_t n, int *landed)
{
    int into = dst && !(h->flags & (RM_MSG_OUTPUT | RM_MSG_MOVED)) && h->status == CUDA_SUCCESS && h->len == head + n;
    size_t keep = into ? head : h->len;
    if (keep > ch->in_cap) {
        uint8_t *p = realloc(ch->in, keep);
        if (!p)
            return RM_ERR_NOMEM;
        ch->in = p;
        ch->in_cap = keep;
    }
    rm_status st = keep ? rm_conn_read(ch->conn, ch->in, keep) : RM_OK;
    if (st == RM_OK && into)
        st = rm_conn_read(ch->conn, dst, n);
    *landed = into && st == RM_OK;
    return st;
}

static CUresult wait_reply(rm_chan_t *ch, rm_rbuf_t *reply, size_t head, void *dst, size_t n, int *landed)
{
    rm_msg_hdr_t h;
    if (ch->dead)
        return CUDA_ERROR_DEVICE_UNAVAILABLE;
    ch->pending--;
    for (;;) {
        rm_status st = rm_conn_read(ch->conn, &h, sizeof h);
        if (st != RM_OK) {
            CUresult r = broken(ch, st);
            if (r == CUDA_SUCCESS)
                continue; /* resumed: the reply comes from the restored session */
            return r;
        }
        if (!(h.flags & RM_MSG_REPLY) || h.len > RM_MAX_MSG)
            return lost(ch, RM_ERR_PROTO);
        if ((st = read_payload(ch, &h, head, dst, n, landed)) != RM_OK) {
            if (st == RM_ERR_NOMEM)
                return lost(ch, st);
            CUresult r = broken(ch, st);
            if (r == CUDA_SUCCESS)
                continue; /* resumed, as above */
            return r;
        }
        if (h.flags & RM_MSG_MOVED) {
            CUresult r = follow(ch, h.len);
            if (r == CUDA_SUCCESS)
                continue; /* the reply comes from where the session runs now */
            return r;
        }
        if (!(h.flags & RM_MSG_OUTPUT))
            break;
        print_output(ch->in, h.len);
    }
    rm_rbuf_init(reply, ch->in, *landed ? head : h.len);
    if (rm_session_resumable())
        rm_replay_answered(&ch->replay, h.seq);
    if (ch->posted_ns)
        rm_stats_reply(h.op, h.len, rm_now_ns() - ch->posted_ns);
    if (h.deferred != CUDA_SUCCESS && ch->deferred == CUDA_SUCCESS)
        ch->deferred = (CUresult)h.deferred;
    return (CUresult)h.status;
}

CUresult rm_chan_wait(rm_chan_t *ch, rm_rbuf_t *reply)
{
    int landed;
    return wait_reply(ch, reply, 0, NULL, 0, &landed);
}

CUresult rm_chan_wait_into(rm_chan_t *ch, rm_rbuf_t *reply, size_t head, void *dst, size_t n, int *landed)
{
    *landed = 0;
    return wait_reply(ch, reply, head, dst, n, landed);
}

CUresult rm_chan_take_deferred(rm_chan_t *ch)
{
    CUresult r = ch->deferred;
    ch->deferred = CUDA_SUCCESS;
    if (r != CUDA_SUCCESS)
        RM_DEBUG("reporting the error of an earlier async call: %d", (int)r);
    return r;
}

CUresult rm_chan_call(rm_chan_t *ch, rm_rbuf_t *reply)
{
    CUresult r = rm_chan_post(ch);
    return r == CUDA_SUCCESS ? rm_chan_wait(ch, reply) : r;
}

CUresult rm_chan_reply_copy(CUresult r, void *dst, size_t want, const void *src, uint32_t len)
{
    if (r == CUDA_SUCCESS && len != want)
        r = CUDA_ERROR_INVALID_VALUE;
    if (r == CUDA_SUCCESS)
        memcpy(dst, src, want);
    return r;
}

CUresult rm_chan_bad_reply(rm_chan_t *ch, const char *op)
{
    RM_ERROR("%s: malformed reply from the server", op);
    return lost(ch, RM_ERR_PROTO);
}
