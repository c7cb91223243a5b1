/* Client channels (see chan.h). */
#include "chan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostmem.h"
#include "log.h"
#include "session.h"
#include "status_cuda.h"

#define TCP_BATCH_BYTES (256u << 10) /* send queued async calls past this */

static __thread rm_chan_t *tls_chan;
static pthread_key_t chan_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static rm_chan_t *primary; /* the first channel lives as long as the process */

/* Every open channel's socket, so that a forked child can close them: the
 * child must not keep the parent's session alive after the parent dies. */
#define MAX_TRACKED 1024
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static int open_fds[MAX_TRACKED];
static int n_open_fds;

static void track_fd(int fd, int add)
{
    pthread_mutex_lock(&fds_lock);
    for (int i = 0; i < n_open_fds; i++)
        if (open_fds[i] == fd) {
            open_fds[i] = open_fds[--n_open_fds];
            break;
        }
    if (add && n_open_fds < MAX_TRACKED)
        open_fds[n_open_fds++] = fd;
    pthread_mutex_unlock(&fds_lock);
}

static void after_fork_child(void)
{
    for (int i = 0; i < n_open_fds; i++)
        close(open_fds[i]);
    n_open_fds = 0;
    pthread_mutex_init(&fds_lock, NULL);
    primary = NULL;
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static void chan_free(rm_chan_t *ch)
{
    if (ch->staging)
        rm_host_staging_free(ch->staging);
    if (ch->conn) {
        track_fd(rm_conn_fd(ch->conn), 0);
        rm_conn_close(ch->conn);
    }
    rm_wbuf_free(&ch->out);
    free(ch->in);
    free(ch);
}

static CUresult flush(rm_chan_t *ch);

static void on_thread_exit(void *p)
{
    rm_chan_t *ch = p;
    if (ch->generation != rm_session_generation())
        return;
    flush(ch); /* async calls queued by the thread still run */
    if (ch != primary)
        chan_free(ch); /* the server thread for it ends too */
}

static void make_key(void) { pthread_key_create(&chan_key, on_thread_exit); }

int rm_chan_is_shm(const rm_chan_t *ch) { return ch->scheme == RM_SCHEME_SHM; }

static rm_chan_t *chan_open(CUresult *err)
{
    rm_chan_t *ch = calloc(1, sizeof *ch);
    if (!ch) {
        *err = CUDA_ERROR_OUT_OF_MEMORY;
        return NULL;
    }
    rm_wbuf_init(&ch->out);
    ch->generation = rm_session_generation();
    rm_status st = rm_session_connect(&ch->conn, &ch->scheme);
    if (st != RM_OK) {
        free(ch);
        *err = rm_status_to_cuda(st);
        return NULL;
    }
    track_fd(rm_conn_fd(ch->conn), 1);
    pthread_once(&key_once, make_key);
    pthread_setspecific(chan_key, ch);
    if (!primary || primary->generation != ch->generation)
        primary = ch;
    return ch;
}

rm_chan_t *rm_chan_current(CUresult *err)
{
    rm_chan_t *ch = tls_chan;
    if (ch && ch->generation == rm_session_generation()) {
        if (!ch->dead)
            return ch;
        *err = CUDA_ERROR_DEVICE_UNAVAILABLE;
        return NULL;
    }
    ch = chan_open(err);
    tls_chan = ch;
    return ch;
}

rm_wbuf_t *rm_chan_begin(rm_chan_t *ch, uint16_t op)
{
    ch->msg_start = ch->out.len;
    ch->msg_refs = ch->out.ref_bytes;
    ch->msg_nrefs = ch->out.nrefs;
    rm_msg_hdr_t h = {.op = op, .seq = ++ch->seq};
    rm_wbuf_put(&ch->out, &h, sizeof h); /* batched: may be unaligned */
    return &ch->out;
}

static CUresult lost(rm_chan_t *ch, rm_status st)
{
    if (!ch->dead)
        RM_ERROR("lost the connection to remora-server (%s): CUDA calls fail from now on", rm_status_str(st));
    ch->dead = 1;
    ch->pending = 0; /* no reply will come */
    rm_wbuf_reset(&ch->out);
    return CUDA_ERROR_DEVICE_UNAVAILABLE;
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
    return CUDA_SUCCESS;
}

static CUresult flush(rm_chan_t *ch)
{
    if (ch->dead)
        return CUDA_ERROR_DEVICE_UNAVAILABLE;
    if (ch->out.len == 0)
        return CUDA_SUCCESS;
    struct iovec iov[2 * RM_WBUF_MAX_REFS + 1];
    rm_status st = rm_conn_writev(ch->conn, iov, rm_wbuf_iov(&ch->out, iov));
    rm_wbuf_reset(&ch->out);
    return st == RM_OK ? CUDA_SUCCESS : lost(ch, st);
}

CUresult rm_chan_send_async(rm_chan_t *ch)
{
    CUresult r = seal(ch, RM_MSG_ASYNC);
    if (r != CUDA_SUCCESS)
        return r;
    /* Referenced caller memory must go out before the call returns. */
    if (ch->scheme == RM_SCHEME_SHM || ch->out.nrefs || ch->out.len >= TCP_BATCH_BYTES)
        return flush(ch);
    return CUDA_SUCCESS;
}

CUresult rm_chan_post(rm_chan_t *ch)
{
    CUresult r = seal(ch, 0);
    if (r != CUDA_SUCCESS)
        return r;
    if ((r = flush(ch)) == CUDA_SUCCESS)
        ch->pending++;
    return r;
}

CUresult rm_chan_wait(rm_chan_t *ch, rm_rbuf_t *reply)
{
    rm_msg_hdr_t h;
    if (ch->dead)
        return CUDA_ERROR_DEVICE_UNAVAILABLE;
    ch->pending--;
    rm_status st = rm_conn_read(ch->conn, &h, sizeof h);
    if (st != RM_OK)
        return lost(ch, st);
    if (!(h.flags & RM_MSG_REPLY) || h.len > RM_MAX_MSG)
        return lost(ch, RM_ERR_PROTO);
    if (h.len > ch->in_cap) {
        uint8_t *p = realloc(ch->in, h.len);
        if (!p)
            return lost(ch, RM_ERR_NOMEM);
        ch->in = p;
        ch->in_cap = h.len;
    }
    if (h.len && (st = rm_conn_read(ch->conn, ch->in, h.len)) != RM_OK)
        return lost(ch, st);
    rm_rbuf_init(reply, ch->in, h.len);
    if (h.deferred != CUDA_SUCCESS && ch->deferred == CUDA_SUCCESS)
        ch->deferred = (CUresult)h.deferred;
    return (CUresult)h.status;
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

CUresult rm_chan_bad_reply(rm_chan_t *ch, const char *op)
{
    RM_ERROR("%s: malformed reply from the server", op);
    return lost(ch, RM_ERR_PROTO);
}
