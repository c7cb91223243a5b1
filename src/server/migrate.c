/* remora migrate in the source session's worker (migrate.h). */
#include "migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "ckpt_file.h"
#include "ckpt_mem.h"
#include "ckpt_objects.h"
#include "clock.h"
#include "hello_exchange.h"
#include "log.h"
#include "thread.h"
#include "transport.h"

#define U(x) ((unsigned long long)(x))

__attribute__((format(printf, 3, 4))) static rm_status fail(rm_migrate_reply_t *out, rm_status st, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    out->status = st;
    return st;
}

/* Dial the target and say hello as the session: *fd after an RM_OK welcome. */
static rm_status open_target(rm_session_t *s, const rm_migrate_request_t *req, int *fd, rm_migrate_reply_t *out)
{
    rm_addr_t a;
    if (rm_addr_parse(req->to, &a) != RM_OK)
        return fail(out, RM_ERR_ADDR, "bad target address '%s'", req->to);
    if (a.scheme == RM_SCHEME_TLS)
        return fail(out, RM_ERR_NOT_SUPPORTED, "migration to a tls:// address is not supported yet: use tcp:// or shm://");
    rm_status st = rm_sock_dial(&a, rm_connect_timeout_s() * 1000, fd);
    if (st != RM_OK)
        return fail(out, st, "cannot reach the target server %s: %s", req->to, rm_status_str(st));
    rm_hello_t h = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .features = RM_FEAT_MIGRATE | RM_FEAT_RESTORE,
                    .pid = s->client_pid, .session_id = s->id, .handle_tag = s->handles.tag};
    memcpy(h.session_key, s->key, RM_KEY_LEN);
    memcpy(h.token, req->token, sizeof h.token - 1);
    memcpy(h.host, s->host, sizeof h.host - 1);
    memcpy(h.program, s->program, sizeof h.program - 1);
    rm_welcome_t w;
    if ((st = rm_hello_exchange(*fd, &a, &h, &w, NULL)) != RM_OK)
        fail(out, st, "no answer from the target server %s: %s", req->to, rm_status_str(st));
    else if (w.magic != RM_PROTO_MAGIC)
        st = fail(out, RM_ERR_PROTO, "%s is not a remora server", req->to);
    else if (w.status != RM_OK) {
        w.message[sizeof w.message - 1] = 0;
        st = fail(out, w.status < RM_STATUS_COUNT ? (rm_status)w.status : RM_ERR_PROTO,
                  "the target server %s refused: %s", req->to, w.message);
    } else if ((st = rm_sock_set_timeout(*fd, RM_MIGRATE_IO_MS)) != RM_OK)
        fail(out, st, "cannot set up the connection to %s", req->to);
    if (st != RM_OK)
        close(*fd);
    return st;
}

/* Pre-copy: rounds while the program runs. Each takes the dirty set, waits
 * for the work issued so far (the writes that dirtied it are done), then
 * sends every allocation's record and the dirty ones' bytes. */
static rm_status precopy(rm_session_t *s, rm_ckpt_t *c, uint32_t rounds, rm_migrate_reply_t *out)
{
    uint64_t before = UINT64_MAX;
    for (uint32_t k = 0; k < rounds; k++) {
        rm_ckpt_allocs_t dirty;
        CUcontext first;
        rm_status st = rm_ckpt_mem_take_dirty(c, &s->mm, &dirty);
        if (st != RM_OK)
            return fail(out, st, "%s", c->err);
        CUresult r = rm_session_sync(s, &first);
        if (r == CUDA_SUCCESS && first)
            s->b->cuCtxSetCurrent(first);
        st = r != CUDA_SUCCESS ? RM_ERR_IO : rm_ckpt_mem_put_allocs(c, &s->mm, NULL);
        if (st == RM_OK)
            st = rm_ckpt_mem_put_contents(c, &s->mm, &dirty, &out->sent[k]);
        if (st == RM_OK)
            st = rm_ckpt_flush(c);
        free(dirty.v);
        if (r != CUDA_SUCCESS)
            return fail(out, RM_ERR_IO, "synchronising the session failed (CUDA error %d)", (int)r);
        if (st != RM_OK)
            return fail(out, st, "%s", c->err);
        out->dirty[k] = rm_mm_dirty_bytes(&s->mm);
        out->rounds = k + 1;
        RM_INFO("session %llu: migration round %u: %llu bytes sent, %llu dirty bytes left", U(s->id), k + 1,
                U(out->sent[k]), U(out->dirty[k]));
        if (out->dirty[k] == 0 || out->dirty[k] >= before)
            break;
        before = out->dirty[k];
    }
    return RM_OK;
}

/* The session is quiet: the rest of the stream, and the target's answer. */
static rm_status final_copy(rm_session_t *s, rm_ckpt_t *c, int fd, rm_migrate_reply_t *out)
{
    if (rm_session_gated(s))
        return fail(out, RM_ERR_NOT_SUPPORTED,
                    "host functions of the session (cuLaunchHostFunc, graph host nodes) are queued or kept");
    CUcontext first;
    CUresult r = rm_session_sync(s, &first);
    if (r != CUDA_SUCCESS)
        return fail(out, RM_ERR_IO, "synchronising the session failed (CUDA error %d)", (int)r);
    if (first)
        s->b->cuCtxSetCurrent(first);
    rm_ckpt_allocs_t dirty = {0};
    uint32_t objects = 0;
    rm_status st = rm_ckpt_session_save(c, s);
    if (st == RM_OK)
        st = rm_ckpt_objects_save(c, s, &objects);
    if (st == RM_OK)
        st = rm_ckpt_mem_take_dirty(c, &s->mm, &dirty);
    if (st == RM_OK)
        st = rm_ckpt_mem_put_allocs(c, &s->mm, &out->allocations);
    if (st == RM_OK)
        st = rm_ckpt_mem_put_contents(c, &s->mm, &dirty, &out->final_bytes);
    if (st == RM_OK)
        st = rm_ckpt_stream_end(c);
    free(dirty.v);
    if (st != RM_OK)
        return fail(out, st, "%s", c->err);
    rm_ckpt_reply_t rep;
    if ((st = rm_sock_read_all(fd, &rep, sizeof rep)) != RM_OK)
        return fail(out, st, "the target server did not answer: %s", rm_status_str(st));
    rep.message[sizeof rep.message - 1] = 0;
    if (rep.status != RM_OK)
        return fail(out, rep.status < RM_STATUS_COUNT ? (rm_status)rep.status : RM_ERR_PROTO,
                    "the target server could not make the session: %s", rep.message);
    char commit = RM_MIGRATE_COMMIT;
    if ((st = rm_sock_write_all(fd, &commit, 1)) != RM_OK)
        return fail(out, st, "the target server is gone: %s", rm_status_str(st));
    return RM_OK;
}

/* Only one migration at a time, and only of a session all of whose
 * channels can follow it. */
static rm_status begin(rm_session_t *s, rm_migrate_reply_t *out)
{
    rm_status st = RM_OK;
    pthread_mutex_lock(&s->lock);
    if (s->migrating || __atomic_load_n(&s->moved, __ATOMIC_ACQUIRE))
        st = fail(out, RM_ERR_LIMIT, "the session is being migrated already");
    else if (__atomic_load_n(&s->fixed_channels, __ATOMIC_ACQUIRE))
        st = fail(out, RM_ERR_NOT_SUPPORTED,
                  "%d channel(s) of the session cannot follow a move: the program runs over shm:// or without "
                  "REMORA_MIGRATABLE=1",
                  __atomic_load_n(&s->fixed_channels, __ATOMIC_ACQUIRE));
    else
        s->migrating = 1;
    pthread_mutex_unlock(&s->lock);
    if (st == RM_OK && rm_session_gated(s))
        st = fail(out, RM_ERR_NOT_SUPPORTED,
                  "host functions of the session (cuLaunchHostFunc, graph host nodes) are queued or kept");
    return st;
}

/* The session is the target's now: the channels say so, no channel is
 * taken here any more. */
static void moved(rm_session_t *s, const rm_migrate_request_t *req)
{
    snprintf(s->moved_to, sizeof s->moved_to, "%s", req->client_to[0] ? req->client_to : req->to);
    __atomic_store_n(&s->moved, 1, __ATOMIC_RELEASE);
    if (s->ctl_fd >= 0)
        shutdown(s->ctl_fd, SHUT_RDWR); /* the listener forgets the session */
}

rm_status rm_session_migrate(rm_session_t *s, const rm_migrate_request_t *req, rm_migrate_reply_t *out)
{
    memset(out, 0, sizeof *out);
    uint32_t rounds = req->rounds ? req->rounds : RM_MIGRATE_ROUNDS;
    rounds = rounds < RM_MIGRATE_ROUNDS_MAX ? rounds : RM_MIGRATE_ROUNDS_MAX;
    rm_status st = begin(s, out);
    int fd = -1, streaming = 0;
    rm_ckpt_t c;
    rm_ckpt_header_t h = {.version = RM_CKPT_VERSION, .session = s->id};
    CUdevice d;
    if (st == RM_OK && (s->b->cuDeviceGet(&d, 0) != CUDA_SUCCESS ||
                        s->b->cuDeviceGetName(h.gpu, RM_CKPT_GPU_LEN, d) != CUDA_SUCCESS))
        st = fail(out, RM_ERR_IO, "cannot name the GPU");
    if (st == RM_OK)
        st = open_target(s, req, &fd, out);
    if (st == RM_OK && (st = rm_ckpt_stream_create(&c, fd, &h)) != RM_OK)
        fail(out, st, "%s", c.err);
    streaming = st == RM_OK;
    if (streaming) {
        rm_mm_track(&s->mm, 1);
        st = precopy(s, &c, rounds, out);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RM_CKPT_QUIET_S;
    uint64_t quiet = 0, ready = 0;
    if (st == RM_OK && pthread_rwlock_timedwrlock(&s->quiesce, &until) != 0)
        st = fail(out, RM_ERR_TIMEOUT,
                  "the session did not become quiet within %d s (a call of it waits for another, e.g. a host function)",
                  RM_CKPT_QUIET_S);
    else if (st == RM_OK) {
        quiet = rm_now_ns();
        if ((st = final_copy(s, &c, fd, out)) == RM_OK)
            moved(s, req);
        ready = rm_now_ns();
        s->b->cuCtxSetCurrent(NULL);
        pthread_rwlock_unlock(&s->quiesce);
    }
    if (streaming) {
        rm_mm_track(&s->mm, 0);
        rm_ckpt_close(&c);
    }
    uint64_t joined_us = 0;
    if (st == RM_OK && rm_sock_set_timeout(fd, RM_MIGRATE_JOIN_S * 1000) == RM_OK &&
        rm_sock_read_all(fd, &joined_us, sizeof joined_us) == RM_OK)
        out->joined = 1;
    if (fd >= 0)
        close(fd); /* before the commit: the target drops what it made */
    pthread_mutex_lock(&s->lock);
    s->migrating = 0;
    pthread_mutex_unlock(&s->lock);
    out->status = st;
    if (st != RM_OK) {
        RM_WARN("session %llu: migration to %s failed: %s (the session runs on here)", U(s->id), req->to, out->message);
        return st;
    }
    out->pause_us = (ready - quiet) / 1000 + joined_us;
    RM_INFO("session %llu: migrated to %s in %u rounds, %llu bytes while quiet; paused %.1f ms%s", U(s->id), req->to,
            out->rounds, U(out->final_bytes), out->pause_us / 1e3,
            out->joined ? "" : " (to the target's readiness: the client had not joined yet)");
    return RM_OK;
}

/* The request and the reply travel on the channel's transport, as a
 * checkpoint's. The thread counts as a channel, so that the worker of a
 * moved session, which exits when its last channel closes, answers first. */
static void *migrate_main(void *p)
{
    rm_channel_job_t a = *(rm_channel_job_t *)p;
    free(p);
    rm_migrate_request_t req;
    rm_migrate_reply_t *rep = calloc(1, sizeof *rep);
    rm_conn_t *conn = NULL;
    if (!rep || (!a.msg.welcomed && rm_sock_write_all(a.fd, &a.msg.welcome, sizeof a.msg.welcome) != RM_OK))
        close(a.fd);
    else if (rm_conn_open((rm_scheme)a.msg.scheme, a.fd, RM_ROLE_SERVER, &conn) == RM_OK &&
             rm_conn_read(conn, &req, sizeof req) == RM_OK) {
        req.to[sizeof req.to - 1] = req.client_to[sizeof req.client_to - 1] = req.token[sizeof req.token - 1] = 0;
        if (!req.to[0])
            fail(rep, RM_ERR_INVAL, "no target address given");
        else
            rm_session_migrate(a.s, &req, rep);
        rm_conn_write(conn, rep, sizeof *rep);
    }
    if (conn)
        rm_conn_close(conn);
    int gone = rep && rep->status == RM_OK;
    free(rep);
    rm_session_channel_done(a.s);
    if (gone) { /* a channel its client never uses again would keep the worker */
        sleep(RM_MIGRATE_LINGER_S);
        RM_WARN("session %llu: moved %d s ago, channels still open: the worker exits", U(a.s->id), RM_MIGRATE_LINGER_S);
        exit(0);
    }
    return NULL;
}

int rm_migrate_start(rm_session_t *s, int fd, const rm_channel_msg_t *msg)
{
    pthread_mutex_lock(&s->lock);
    s->channels++;
    pthread_mutex_unlock(&s->lock);
    if (rm_channel_job_start(migrate_main, s, fd, msg) != 0) {
        rm_session_channel_done(s);
        return -1;
    }
    return 0;
}
