/* remora checkpoint in the worker (checkpoint.h). */
#include "checkpoint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt_file.h"
#include "ckpt_mem.h"
#include "ckpt_objects.h"
#include "ckpt_records.h"
#include "clock.h"
#include "log.h"
#include "thread.h"
#include "transport.h"

__attribute__((format(printf, 3, 4))) static rm_status fail(rm_ckpt_reply_t *out, rm_status st, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    out->status = st;
    return st;
}

typedef struct {
    const rm_backend_t *b;
    CUcontext first;
    CUresult r;
} sync_t;

static void sync_ctx(void *arg, uint64_t id, void *ptr)
{
    sync_t *y = arg;
    CUresult r = y->b->cuCtxSetCurrent(ptr);
    if (r == CUDA_SUCCESS)
        r = y->b->cuCtxSynchronize();
    if (r == CUDA_SUCCESS && !y->first)
        y->first = ptr;
    if (r != CUDA_SUCCESS && r != CUDA_ERROR_CONTEXT_IS_DESTROYED && y->r == CUDA_SUCCESS)
        y->r = r;
}

static int count_alloc(void *arg, const rm_mm_info_t *a)
{
    ((uint64_t *)arg)[0]++;
    ((uint64_t *)arg)[1] += a->size;
    return 0;
}

int rm_session_gated(rm_session_t *s)
{
    pthread_mutex_lock(&s->lock);
    int g = s->gates != NULL;
    pthread_mutex_unlock(&s->lock);
    return g;
}

static int gated(rm_session_t *s, rm_ckpt_reply_t *out)
{
    int g = rm_session_gated(s);
    if (g)
        fail(out, RM_ERR_NOT_SUPPORTED,
             "host functions of the session (cuLaunchHostFunc, graph host nodes) are queued or kept: nothing written");
    return g;
}

CUresult rm_session_sync(rm_session_t *s, CUcontext *first)
{
    sync_t y = {.b = s->b};
    rm_handles_each(&s->handles, RM_H_CTX, sync_ctx, &y);
    if (first)
        *first = y.first;
    return y.r;
}

rm_status rm_ckpt_session_save(rm_ckpt_t *c, rm_session_t *s)
{
    rm_ckpt_session_t *w = calloc(1, sizeof *w);
    uint8_t *buf = malloc(RM_CKPT_SESSION_BYTES);
    rm_status st = RM_ERR_NOMEM;
    snprintf(c->err, sizeof c->err, "no memory for the session section");
    if (w && buf) {
        memcpy(w->key, s->key, RM_KEY_LEN);
        w->tag = s->handles.tag;
        w->pid = s->client_pid;
        memcpy(w->host, s->host, sizeof w->host);
        memcpy(w->program, s->program, sizeof w->program);
        for (int i = 0; i < RM_MAX_CHANNELS; i++)
            w->done[i] = __atomic_load_n(&s->done[i], __ATOMIC_ACQUIRE),
            w->ctx[i] = __atomic_load_n(&s->chan_ctx[i], __ATOMIC_ACQUIRE);
        rm_ckpt_session_encode(w, buf);
        st = rm_ckpt_put(c, RM_CKPT_SESSION, buf, RM_CKPT_SESSION_BYTES);
    }
    free(w);
    free(buf);
    return st;
}

/* The session is quiet: write the file, all but its end (c is left open
 * on success: rm_ckpt_finish flushes it to disk once the session runs on). */
static rm_status write_checkpoint(rm_session_t *s, const char *dir, rm_ckpt_t *c, rm_ckpt_reply_t *out)
{
    const rm_backend_t *b = s->b;
    if (gated(s, out))
        return out->status;
    CUcontext first;
    CUresult r = rm_session_sync(s, &first);
    if (r != CUDA_SUCCESS)
        return fail(out, RM_ERR_IO, "synchronising the session failed (CUDA error %d): nothing written", (int)r);
    if (first)
        b->cuCtxSetCurrent(first); /* for the copies */
    rm_ckpt_header_t h = {.version = RM_CKPT_VERSION, .session = s->id};
    CUdevice d;
    if (b->cuDeviceGet(&d, 0) != CUDA_SUCCESS || b->cuDeviceGetName(h.gpu, RM_CKPT_GPU_LEN, d) != CUDA_SUCCESS)
        return fail(out, RM_ERR_IO, "cannot name the GPU");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fail(out, RM_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    rm_status st = rm_ckpt_create(c, dir, &h);
    if (st == RM_OK)
        st = rm_ckpt_session_save(c, s);
    uint32_t objects = 0;
    if (st == RM_OK)
        st = rm_ckpt_objects_save(c, s, &objects);
    if (st == RM_OK)
        st = rm_ckpt_mem_save(c, &s->mm, b);
    if (st != RM_OK) {
        rm_ckpt_abort(c, dir);
        return fail(out, st, "%s: nothing written", c->err);
    }
    RM_INFO("session %llu: checkpoint holds %u objects", (unsigned long long)s->id, objects);
    uint64_t n[2] = {0, 0};
    rm_mm_each(&s->mm, count_alloc, n);
    out->allocations = (uint32_t)n[0];
    out->bytes = n[1];
    return RM_OK;
}

/* The end section, the flush to disk and the rename, while the session
 * runs on: its state is all in the file already. */
static rm_status finish_checkpoint(const char *dir, rm_ckpt_t *c, rm_ckpt_reply_t *out)
{
    if (rm_ckpt_finish(c, dir) != RM_OK)
        return fail(out, RM_ERR_IO, "%s: nothing written", c->err);
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, RM_CKPT_FILE);
    out->file_bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    return RM_OK;
}

static rm_status checkpoint_locked(rm_session_t *s, const char *dir, rm_ckpt_reply_t *out)
{
    memset(out, 0, sizeof *out);
    if (gated(s, out))
        return out->status;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RM_CKPT_QUIET_S;
    if (pthread_rwlock_timedwrlock(&s->quiesce, &until) != 0)
        return fail(out, RM_ERR_TIMEOUT,
                    "the session did not become quiet within %d s (a call of it waits for another, e.g. a host "
                    "function): nothing written",
                    RM_CKPT_QUIET_S);
    uint64_t t0 = rm_now_ns();
    rm_ckpt_t c;
    rm_status st = write_checkpoint(s, dir, &c, out);
    s->b->cuCtxSetCurrent(NULL);
    pthread_rwlock_unlock(&s->quiesce);
    out->pause_us = (rm_now_ns() - t0) / 1000;
    if (st == RM_OK)
        st = finish_checkpoint(dir, &c, out);
    out->status = st;
    if (st == RM_OK)
        RM_INFO("session %llu: checkpoint in %s: %u allocations, %llu bytes of device memory, %llu file bytes, "
                "paused %.1f ms, on disk after %.1f ms",
                (unsigned long long)s->id, dir, out->allocations, (unsigned long long)out->bytes,
                (unsigned long long)out->file_bytes, out->pause_us / 1e3, (rm_now_ns() - t0) / 1e6);
    else
        RM_WARN("session %llu: checkpoint in %s failed: %s", (unsigned long long)s->id, dir, out->message);
    return st;
}

/* One checkpoint at a time in this worker (its session's): the next waits
 * for the last to be on disk, whose file (DIR/checkpoint.rmck.tmp until
 * renamed) it could otherwise truncate while it is flushed. */
static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;

rm_status rm_session_checkpoint(rm_session_t *s, const char *dir, rm_ckpt_reply_t *out)
{
    pthread_mutex_lock(&one_at_a_time);
    rm_status st = checkpoint_locked(s, dir, out);
    pthread_mutex_unlock(&one_at_a_time);
    return st;
}

/* The request and the reply travel on the channel's transport (over
 * tls://, TLS #2: the listener sent the welcome inside TLS #1). */
static void *checkpoint_main(void *p)
{
    rm_channel_job_t a = *(rm_channel_job_t *)p;
    free(p);
    rm_ckpt_request_t *req = malloc(sizeof *req);
    rm_ckpt_reply_t rep;
    rm_conn_t *conn = NULL;
    if (!req || (!a.msg.welcomed && rm_sock_write_all(a.fd, &a.msg.welcome, sizeof a.msg.welcome) != RM_OK))
        close(a.fd);
    else if (rm_conn_open((rm_scheme)a.msg.scheme, a.fd, RM_ROLE_SERVER, &conn) == RM_OK &&
             rm_conn_read(conn, req, sizeof *req) == RM_OK) {
        req->dir[sizeof req->dir - 1] = 0;
        if (!req->dir[0])
            fail(&rep, RM_ERR_INVAL, "no directory given");
        else
            rm_session_checkpoint(a.s, req->dir, &rep);
        rm_conn_write(conn, &rep, sizeof rep);
    }
    if (conn)
        rm_conn_close(conn);
    free(req);
    return NULL;
}

int rm_channel_job_start(void *(*fn)(void *), rm_session_t *s, int fd, const rm_channel_msg_t *msg)
{
    rm_channel_job_t *a = malloc(sizeof *a);
    if (!a)
        return -1;
    *a = (rm_channel_job_t){.s = s, .fd = fd, .msg = *msg};
    if (rm_thread_detached(fn, a) != 0) {
        free(a);
        return -1;
    }
    return 0;
}

int rm_checkpoint_start(rm_session_t *s, int fd, const rm_channel_msg_t *msg)
{
    return rm_channel_job_start(checkpoint_main, s, fd, msg);
}
