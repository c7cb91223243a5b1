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
#include "clock.h"
#include "migrate.h"
#include "output.h"
#include "server.h"
#include "sv.h"
#include "thread.h"

typedef struct {
    rm_session_t *s;
    int fd;
    rm_channel_msg_t msg;
} channel_arg_t;

void rm_session_channel_done(rm_session_t *s)
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
        /* one that cannot follow a move holds the session here (migrate.h) */
        int fixed = !(a.msg.hello.features & RM_FEAT_MIGRATABLE) || a.msg.scheme == RM_SCHEME_SHM;
        __atomic_add_fetch(&a.s->fixed_channels, fixed, __ATOMIC_ACQ_REL);
        rm_sv_serve(a.s, conn, a.msg.hello.channel, a.msg.hello.incarnation,
                    (a.msg.hello.features & RM_FEAT_RESUME) != 0);
        __atomic_sub_fetch(&a.s->fixed_channels, fixed, __ATOMIC_ACQ_REL);
    }
    rm_session_channel_done(a.s);
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
        rm_session_channel_done(s);
        return -1;
    }
    *a = (channel_arg_t){s, fd, *msg};
    if (rm_thread_detached(channel_main, a) != 0) {
        free(a);
        rm_session_channel_done(s);
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

/* The session starts from a checkpoint, or from a migration stream (dir
 * NULL): the requester hears how it went. A migrated session is kept only
 * once the source commits (else the source runs it on); the source's
 * socket then waits for the client's first channel (the pause it reports). */
static void restore_first(rm_session_t *s, const rm_worker_restore_t *restore)
{
    rm_ckpt_reply_t rep;
    if (!restore->dir) /* the source sends pre-copy rounds at its pace */
        rm_sock_set_timeout(restore->fd, RM_MIGRATE_IO_MS);
    rm_status st = restore->dir ? rm_session_restore(s, restore->dir, &rep)
                                : rm_session_restore_stream(s, restore->fd, &rep);
    char commit = 0;
    if (rm_sock_write_all(restore->fd, &rep, sizeof rep) != RM_OK && !restore->dir)
        st = RM_ERR_IO;
    if (st == RM_OK && !restore->dir &&
        (rm_sock_read_all(restore->fd, &commit, 1) != RM_OK || commit != RM_MIGRATE_COMMIT)) {
        RM_WARN("session %llu: the source did not commit the migration: dropped", (unsigned long long)s->id);
        st = RM_ERR_CLOSED;
    }
    if (st == RM_OK && !restore->dir) {
        s->migrated = 1;
        s->migrate_fd = restore->fd;
        s->ready_ns = rm_now_ns();
        RM_INFO("session %llu: migrated here; waiting for its client", (unsigned long long)s->id);
        return;
    }
    close(restore->fd);
    if (st != RM_OK)
        _exit(1); /* nothing of it is in use: the listener frees its slot */
}

/* A channel of a session migrated here: it resumes from where the source
 * stopped it, and the first one ends the source's wait (the pause). */
static void joined_migrated(rm_session_t *s, rm_channel_msg_t *msg)
{
    uint32_t ch = msg->hello.channel;
    if ((msg->hello.features & RM_FEAT_RESUME) && ch < RM_MAX_CHANNELS)
        msg->welcome.resume_done = __atomic_load_n(&s->done[ch], __ATOMIC_ACQUIRE);
    if (s->migrate_fd < 0)
        return;
    uint64_t us = (rm_now_ns() - s->ready_ns) / 1000;
    rm_sock_write_all(s->migrate_fd, &us, sizeof us);
    close(s->migrate_fd);
    s->migrate_fd = -1;
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
    session.ctl_fd = ctl_fd;
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
        if (msg.hello.features & RM_FEAT_MIGRATE) { /* remora migrate, not a channel */
            if (rm_migrate_start(&session, fd, &msg) != 0)
                close(fd);
            continue;
        }
        if (session.migrated)
            joined_migrated(&session, &msg);
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
