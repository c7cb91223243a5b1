/* Session worker: a process forked by the listener for one client process.
 * It loads the backend (the real driver by path, or the fake), then takes
 * channel sockets from the listener over its control socket and serves each
 * on a thread of its own. When the last channel closes the client is gone:
 * the worker exits and the OS and driver release everything it held. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_cache.h"
#include "log.h"
#include "checkpoint.h"
#include "ckpt_restore.h"
#include "output.h"
#include "server.h"
#include "sv.h"
#include "thread.h"

typedef struct {
    rm_session_t *s;
    int fd;
    rm_channel_msg_t msg;
} channel_arg_t;

static void channel_done(rm_session_t *s)
{
    pthread_mutex_lock(&s->lock);
    int left = --s->channels;
    pthread_mutex_unlock(&s->lock);
    if (left == 0) {
        rm_session_open_gates(s); /* or the driver's exit would wait for them */
        RM_INFO("session %llu: last channel closed, worker exits", (unsigned long long)s->id);
        exit(0);
    }
}

static void *channel_main(void *p)
{
    channel_arg_t a = *(channel_arg_t *)p;
    free(p);
    rm_conn_t *conn;
    if (!a.msg.welcomed && rm_sock_write_all(a.fd, &a.msg.welcome, sizeof a.msg.welcome) != RM_OK) {
        RM_WARN("session %llu: client left during the handshake", (unsigned long long)a.s->id);
        close(a.fd);
    } else if (rm_conn_open((rm_scheme)a.msg.scheme, a.fd, RM_ROLE_SERVER, &conn) != RM_OK) {
        RM_WARN("session %llu: channel setup failed", (unsigned long long)a.s->id); /* fd closed */
    } else {
        rm_sv_serve(a.s, conn, a.msg.hello.channel, a.msg.hello.incarnation,
                    (a.msg.hello.features & RM_FEAT_RESUME) != 0);
    }
    channel_done(a.s);
    return NULL;
}

/* A channel past the session's limit: the client is told, and not served
 * (over tls:// it was welcomed by the listener already: it sees its
 * connection closed, the worker's log says why). */
static void refuse_channel(rm_session_t *s, int fd, rm_channel_msg_t *msg, int limit)
{
    rm_welcome_t *w = &msg->welcome;
    w->status = RM_ERR_LIMIT;
    snprintf(w->message, sizeof w->message,
             "the session has %d channels (client threads), the server's limit (remora-server --max-channels)",
             limit);
    RM_WARN("session %llu: %s: one more refused", (unsigned long long)s->id, w->message);
    if (!msg->welcomed)
        rm_sock_write_all(fd, w, sizeof *w);
    close(fd);
}

static int start_channel(rm_session_t *s, int fd, rm_channel_msg_t *msg, int limit)
{
    pthread_mutex_lock(&s->lock);
    int full = s->channels >= limit;
    if (!full)
        s->channels++;
    pthread_mutex_unlock(&s->lock);
    if (full) {
        refuse_channel(s, fd, msg, limit);
        return 0;
    }
    channel_arg_t *a = malloc(sizeof *a);
    if (!a) {
        channel_done(s);
        return -1;
    }
    *a = (channel_arg_t){s, fd, *msg};
    if (rm_thread_detached(channel_main, a) != 0) {
        free(a);
        channel_done(s);
        return -1;
    }
    return 0;
}

static int load_backend(const rm_server_cfg_t *cfg, rm_backend_t *b)
{
    if (strcmp(cfg->backend, "fake") == 0) {
        rm_backend_fake_fill(b);
        return 0;
    }
    rm_status st = rm_backend_real_open(cfg->driver_path, b);
    if (st != RM_OK)
        RM_ERROR("cannot load the CUDA driver: %s", rm_status_str(st));
    return st == RM_OK ? 0 : -1;
}

/* The device-memory limit of a session of this tenant: its own, else the server's. */
static uint64_t mem_limit_of(const rm_server_cfg_t *cfg, const char *peer)
{
    for (int i = 0; i < cfg->ntenant_mem; i++)
        if (strcmp(cfg->tenant_mem[i].tenant, peer) == 0)
            return cfg->tenant_mem[i].bytes;
    return cfg->mem_limit;
}

/* The compute share of a session of this tenant: its own, else the server's. */
static const rm_share_rule_t *share_of(const rm_server_cfg_t *cfg, const char *peer)
{
    for (int i = 0; i < cfg->ntenant_share; i++)
        if (strcmp(cfg->tenant_share[i].tenant, peer) == 0)
            return &cfg->tenant_share[i];
    return &cfg->share;
}

/* The session starts from a checkpoint: the requester hears how it went. */
static void restore_first(rm_session_t *s, const rm_worker_restore_t *restore)
{
    rm_ckpt_reply_t rep;
    rm_status st = rm_session_restore(s, restore->dir, &rep);
    rm_sock_write_all(restore->fd, &rep, sizeof rep);
    close(restore->fd);
    if (st != RM_OK)
        _exit(1); /* nothing of it is in use: the listener frees its slot */
}

void rm_worker_main(int ctl_fd, const rm_server_cfg_t *cfg, uint64_t session_id, const char *peer,
                    rm_worker_shared_t shared, const rm_worker_restore_t *restore)
{
    static rm_backend_t backend;
    static rm_session_t session;
    rm_log_set_prefix("worker");
    if (load_backend(cfg, &backend) != 0)
        _exit(2);
    rm_session_init(&session, &backend, session_id, mem_limit_of(cfg, peer));
    rm_image_cache_tenant(peer);
    if (cfg->pinned_limit)
        session.seg_limit = cfg->pinned_limit;
    session.buf_limit = cfg->buffer_limit ? cfg->buffer_limit : RM_DEFAULT_BUFFER_LIMIT;
    session.mm.mode = cfg->alloc_plain ? RM_MM_PLAIN : RM_MM_VMM;
    session.mm.va_base = cfg->va_base;
    if (shared.counters)
        session.counters = shared.counters;
    rm_counters_set(&session.counters->mem_limit, mem_limit_of(cfg, peer)); /* until the client lowers it */
    const rm_share_rule_t *share = share_of(cfg, peer);
    uint32_t percent = share->percent < 100 ? share->percent : 0;
    int pinned = percent && (share->pinned || cfg->no_lend);
    if (shared.share)
        rm_pace_attach(&session.pace, shared.share, shared.slot, percent, pinned, &session.counters->gpu_busy_ns);
    rm_counters_set(&session.counters->compute_share, percent); /* until the client lowers it */
    rm_counters_set(&session.counters->compute_pinned, (uint64_t)pinned);
    rm_quota_publish(&session.quota, session.counters->gpu_mem_used, session.counters->gpu_mem_limit,
                     RM_COUNTERS_GPUS);
    if (rm_output_capture() != 0) /* device printf goes to the client */
        RM_WARN("session %llu: device output cannot be collected; it goes to the server's stdout",
                (unsigned long long)session_id);
    RM_INFO("session %llu: worker started (%s backend)", (unsigned long long)session_id, backend.name);
    int tagged = 0;
    if (restore) {
        restore_first(&session, restore);
        tagged = 1; /* the checkpoint named the tag and the client */
    }
    for (;;) {
        rm_channel_msg_t msg;
        int fd = -1, nfd = 0;
        rm_status st = rm_sock_recv_fds(ctl_fd, &fd, &nfd, 1, &msg, sizeof msg);
        if (st != RM_OK)
            break; /* listener gone: keep serving what we have */
        if (nfd != 1) {
            RM_WARN("control message without a socket");
            continue;
        }
        if (msg.hello.features & RM_FEAT_CHECKPOINT) { /* remora checkpoint, not a channel */
            if (rm_checkpoint_start(&session, fd, &msg) != 0)
                close(fd);
            continue;
        }
        if (!tagged++) { /* the hello that made the session names its server tag and client */
            rm_handles_set_tag(&session.handles, msg.hello.handle_tag);
            session.client_pid = msg.hello.pid;
            memcpy(session.key, msg.welcome.session_key, RM_KEY_LEN);
            memcpy(session.host, msg.hello.host, sizeof session.host - 1);
            memcpy(session.program, msg.hello.program, sizeof session.program - 1);
        }
        if (start_channel(&session, fd, &msg, cfg->max_channels ? cfg->max_channels : RM_DEFAULT_CHANNELS) != 0)
            close(fd);
    }
    /* No more channels will come: say so (the listener stops routing to this
     * session), and serve those there are; the last to close ends the process. */
    close(ctl_fd);
    pthread_mutex_lock(&session.lock);
    while (session.channels > 0)
        pthread_cond_wait(&session.progress, &session.lock);
    pthread_mutex_unlock(&session.lock);
    exit(0);
}
