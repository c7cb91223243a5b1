/* The listener: accepts connections on every --listen address, checks the
 * hello (protocol version, token), forks one worker per new client session
 * and hands each connection to its session's worker with its socket. It never
 * touches CUDA, so a crashing or stuck session cannot take it down. */
#define _GNU_SOURCE /* struct ucred */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "ckpt_records.h"
#include "hello.h"
#include "image_cache.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
#include "server.h"
#include "share.h"
#include "tls.h"

#define MAX_SESSIONS 1024
#define DRAINING (-2)
#define HELLO_MS 2000 /* the whole hello must arrive within this */
#define MAX_PENDING 64 /* connections whose hello is still arriving */

typedef struct {
    uint64_t id;
    uint8_t key[RM_KEY_LEN];
    pid_t pid;
    int ctl_fd; /* -1: free slot; DRAINING: the worker stopped taking channels but runs on */
    char peer[64]; /* who opened it: "ip ADDRESS" over TCP, "uid N" over a Unix socket */
    rm_status_session_t info; /* what remora status shows, but the counters */
    uint64_t *resume; /* restored: each channel slot's progress in the checkpoint (RM_MAX_CHANNELS); else NULL */
    int migrated_in;  /* made by a migration (its source had this server's token) */
} session_t;

/* A connection whose hello is still arriving. Hellos are read without
 * blocking, inside the poll loop, so that a slow or silent peer holds only
 * its own slot, never the listener. */
static int64_t now_ms(void) { return (int64_t)(rm_now_ns() / 1000000); }

/* Over tls:// the hello and the answer travel inside TLS #1 (tls.h): its
 * handshake, the hello, the answer, then close_notify both ways before
 * the socket goes to the worker for TLS #2. A tls:// listener reads a
 * hello in clear too, to tell a tcp:// client what is wrong. */
typedef enum {
    PEND_CLEAR,     /* the hello in clear */
    PEND_SNIFF,     /* tls:// listener: TLS or clear? (the first byte) */
    PEND_HANDSHAKE, /* TLS #1's handshake */
    PEND_HELLO,     /* the hello inside TLS #1 */
    PEND_CLOSING,   /* welcome sent: waiting for the client's close_notify */
    PEND_LINGER,    /* TLS #1's handshake failed: the alert sent, waiting for the peer to close */
} pending_phase;

typedef struct {
    int fd; /* -1: free */
    rm_scheme scheme;
    int64_t deadline;
    size_t got;
    rm_hello_t hello;
    pending_phase phase;
    short events;             /* what it waits for */
    rm_tls_pending_t *tls;    /* TLS #1, or NULL */
    rm_channel_msg_t handoff; /* PEND_CLOSING: for the worker of handoff.welcome.session_id */
} pending_t;

typedef struct {
    const rm_server_cfg_t *cfg;
    rm_listener_t *l[RM_MAX_LISTEN];
    rm_scheme scheme[RM_MAX_LISTEN];
    int nl;
    session_t sessions[MAX_SESSIONS];
    uint64_t next_id;
    pending_t pending[MAX_PENDING];
    rm_counters_t *counters; /* shared with the workers, one per session slot */
    rm_share_table_t *share; /* the same: their GPU busy time and compute shares */
    rm_listener_t *metrics;  /* --metrics: HTTP scrapes (metrics.h), or NULL */
    /* Out of file descriptors: a spare one, given up to answer and close a
     * connection the backlog holds; and when accepting may resume. */
    int spare_fd;
    int64_t accept_after;
} listener_t;

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The answer to a hello: inside TLS #1 when there is one, else in clear. */
static rm_status answer(int fd, rm_tls_pending_t *tls, const struct iovec *iov, int n)
{
    return tls ? rm_tls_pending_writev(tls, iov, n) : rm_sock_writev_all(fd, iov, n);
}

static void reject(int fd, rm_tls_pending_t *tls, rm_status st, const char *fmt, const char *detail)
{
    rm_welcome_t w = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = (uint32_t)st};
    snprintf(w.message, sizeof w.message, fmt, detail);
    RM_WARN_LIMITED("rejected a client: %s", w.message);
    struct iovec v = {&w, sizeof w};
    answer(fd, tls, &v, 1);
}

static session_t *find_session(listener_t *L, uint64_t id);

/* A channel joining a session that migrated here proves itself with the
 * session's key: the operator who moved it had this server's token, the
 * program has its old server's. */
static int joins_migrated(listener_t *L, const rm_hello_t *h)
{
    session_t *s = h->session_id && !(h->features & (RM_FEAT_STATUS | RM_FEAT_CHECKPOINT | RM_FEAT_RESTORE |
                                                     RM_FEAT_MIGRATE))
                       ? find_session(L, h->session_id)
                       : NULL;
    return s && s->migrated_in && rm_ct_equal(s->key, h->session_key, RM_KEY_LEN);
}

/* Checks a complete hello; on failure answers the client and returns -1. */
static int check_hello(listener_t *L, const pending_t *c, rm_hello_t *h)
{
    char why[sizeof ((rm_welcome_t *)0)->message];
    /* a key-proven join is checked against its own token: it passes whatever it is */
    const char *token = joins_migrated(L, h) ? h->token : L->cfg->token ? L->cfg->token : "";
    rm_status st = rm_hello_check(h, token, why, sizeof why);
    if (st != RM_OK) {
        reject(c->fd, c->tls, st, "%s", why);
        return -1;
    }
    return 0;
}

/* Checks magic and version as soon as they are in; -1 (answered) if wrong. */
static int check_preamble(const pending_t *c)
{
    char why[sizeof ((rm_welcome_t *)0)->message];
    rm_status st = rm_hello_check_preamble(&c->hello, why, sizeof why);
    if (st != RM_OK) {
        reject(c->fd, c->tls, st, "%s", why);
        return -1;
    }
    return 0;
}

static session_t *find_session(listener_t *L, uint64_t id)
{
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L->sessions[i].ctl_fd >= 0 && L->sessions[i].id == id)
            return &L->sessions[i];
    return NULL;
}

/* In a forked worker: close what belongs to the listener and to other clients. */
static void close_inherited(listener_t *L)
{
    if (L->spare_fd >= 0)
        close(L->spare_fd);
    for (int i = 0; i < L->nl; i++)
        close(rm_listener_fd(L->l[i]));
    if (L->metrics)
        close(rm_listener_fd(L->metrics));
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L->sessions[i].ctl_fd >= 0)
            close(L->sessions[i].ctl_fd);
    for (int i = 0; i < MAX_PENDING; i++) /* other clients' sockets: copies would hide their hang-ups */
        if (L->pending[i].fd >= 0)
            close(L->pending[i].fd);
}

/* Who is at the other end of fd, for the per-peer limit: the address over
 * TCP (its port aside), the user over a Unix socket. */
static void peer_of(int fd, char *out, size_t n)
{
    struct sockaddr_storage a = {0};
    socklen_t len = sizeof a;
    char host[INET6_ADDRSTRLEN];
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getpeername(fd, (struct sockaddr *)&a, &len) != 0)
        a.ss_family = AF_UNSPEC;
    const void *addr = a.ss_family == AF_INET    ? (const void *)&((struct sockaddr_in *)&a)->sin_addr
                       : a.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&a)->sin6_addr
                                                 : NULL;
    if (addr && inet_ntop(a.ss_family, addr, host, sizeof host))
        snprintf(out, n, "ip %s", host);
    else if (a.ss_family == AF_UNIX && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
        snprintf(out, n, "uid %u", (unsigned)cred.uid);
    else
        snprintf(out, n, "unknown");
}

/* Whether one more session is allowed: in all, and for this peer. On
 * refusal *why says which limit. */
static int session_allowed(const listener_t *L, const char *peer, const char **why)
{
    int all = 0, mine = 0;
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L->sessions[i].ctl_fd >= 0) {
            all++;
            mine += strcmp(L->sessions[i].peer, peer) == 0;
        }
    int max_all = L->cfg->max_sessions ? L->cfg->max_sessions : RM_DEFAULT_SESSIONS;
    int max_mine = L->cfg->max_sessions_per_peer ? L->cfg->max_sessions_per_peer : max_all;
    *why = all >= max_all   ? "the server has as many sessions as it takes (remora-server --max-sessions)"
           : mine >= max_mine ? "this peer has as many sessions as one may (remora-server --max-sessions-per-peer)"
                              : NULL;
    return *why == NULL;
}

/* A session made from a checkpoint: its id, key and client, and what its worker restores. */
typedef struct {
    const rm_ckpt_session_t *from;
    uint64_t id;
    rm_worker_restore_t worker;
} restored_t;

/* A new session's worker; client_fd: the channel that asked (-1: none,
 * restore). The session is new, or made from a checkpoint (rs). */
static session_t *new_session(listener_t *L, const rm_hello_t *h, rm_scheme scheme, int client_fd,
                              const char *peer, const restored_t *rs)
{
    session_t *s = NULL;
    for (int i = 0; i < MAX_SESSIONS && !s; i++)
        if (L->sessions[i].ctl_fd == -1)
            s = &L->sessions[i];
    if (!s)
        return NULL;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    size_t slot = (size_t)(s - L->sessions);
    rm_counters_t *counters = &L->counters[slot];
    *counters = (rm_counters_t){0};
    rm_share_clear(L->share, slot);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return NULL;
    free(s->resume);
    s->resume = rs ? malloc(sizeof rs->from->done) : NULL;
    if (rs && s->resume)
        memcpy(s->resume, rs->from->done, sizeof rs->from->done);
    s->id = rs ? rs->id : ++L->next_id;
    s->migrated_in = rs && !rs->worker.dir;
    if (rs && rs->id > L->next_id)
        L->next_id = rs->id; /* ids made from now on are new */
    if (rs)
        memcpy(s->key, rs->from->key, RM_KEY_LEN);
    if ((rs && !s->resume) || (!rs && getrandom(s->key, sizeof s->key, 0) != (ssize_t)sizeof s->key)) {
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    if (pid == 0) {
        close(sv[0]);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        close_inherited(L);
        if (client_fd >= 0)
            close(client_fd); /* it arrives again over sv[1]; a second copy would hide hang-ups */
        rm_worker_main(sv[1], L->cfg, s->id, s->peer,
                       (rm_worker_shared_t){.counters = counters, .share = L->share, .slot = slot},
                       rs ? &rs->worker : NULL);
    }
    close(sv[1]);
    s->pid = pid;
    s->ctl_fd = sv[0];
    /* a worker that stops reading must not hold the listener: a full queue fails the send */
    fcntl(s->ctl_fd, F_SETFL, fcntl(s->ctl_fd, F_GETFL) | O_NONBLOCK);
    s->info = (rm_status_session_t){.session_id = s->id, .start_unix_ms = rm_wall_ms(),
                                    .pid = rs ? rs->from->pid : h->pid, .worker_pid = (uint32_t)pid,
                                    .scheme = (uint32_t)scheme};
    memcpy(s->info.host, rs ? rs->from->host : h->host, sizeof s->info.host);
    memcpy(s->info.program, rs ? rs->from->program : h->program, sizeof s->info.program);
    RM_INFO("session %llu: pid %u on %s (%s), worker %d", (unsigned long long)s->id, h->pid, h->host,
            h->program, (int)pid);
    return s;
}

/* The session's busy time in the last window on its busiest GPU, in
 * thousandths of the window. */
static uint32_t window_permille(const rm_share_table_t *t, size_t slot)
{
    uint64_t now = rm_now_ns(), most = 0;
    for (int d = 0; d < RM_SHARE_DEVICES; d++) {
        uint64_t w = rm_share_window(&t->slot[slot][d], now);
        most = w > most ? w : most;
    }
    return (uint32_t)(most * 1000 / RM_SHARE_WINDOW_NS);
}

/* Every live session's record and counters: what remora status and the
 * metrics show. Returns how many. */
static uint32_t collect(listener_t *L, rm_status_session_t *v, const rm_counters_t **c)
{
    uint32_t n = 0;
    for (int i = 0; i < MAX_SESSIONS; i++) {
        const session_t *s = &L->sessions[i];
        if (s->ctl_fd < 0)
            continue;
        c[n] = &L->counters[i];
        v[n] = s->info;
        v[n].calls = rm_counters_get(&c[n]->calls);
        v[n].bytes_in = rm_counters_get(&c[n]->bytes_in);
        v[n].bytes_out = rm_counters_get(&c[n]->bytes_out);
        v[n].mem_limit = rm_counters_get(&c[n]->mem_limit);
        v[n].mem_bytes = rm_counters_get(&c[n]->mem_bytes);
        v[n].compute_share = (uint32_t)rm_counters_get(&c[n]->compute_share);
        v[n].compute_pinned = (uint32_t)rm_counters_get(&c[n]->compute_pinned);
        v[n].gpu_busy_ns = rm_counters_get(&c[n]->gpu_busy_ns);
        v[n].gpu_busy_permille = window_permille(L->share, (size_t)i);
        n++;
    }
    return n;
}

static rm_status_session_t records[MAX_SESSIONS];
static const rm_counters_t *record_counters[MAX_SESSIONS];

/* A status hello (remora status): the welcome, then every live session
 * (216 bytes each). */
static void answer_status(listener_t *L, const pending_t *c)
{
    uint32_t n = collect(L, records, record_counters);
    rm_welcome_t w = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = RM_OK};
    struct iovec iov[3] = {{&w, sizeof w}, {&n, sizeof n}, {records, n * sizeof records[0]}};
    /* with many sessions, more than a socket buffer holds: a peer that does
     * not read holds the listener a second per write at most */
    struct timeval limit = {.tv_sec = 1};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (answer(c->fd, c->tls, iov, 3) != RM_OK)
        RM_WARN("could not answer a status request");
}

/* A scrape of --metrics: one request, answered, closed. */
static void answer_metrics(listener_t *L)
{
    int fd;
    if (rm_listener_accept(L->metrics, &fd) != RM_OK)
        return;
    uint32_t n = collect(L, records, record_counters);
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_metrics_render(&w, records, record_counters, n);
    if (w.oom)
        RM_WARN("metrics: out of memory");
    else
        rm_metrics_answer(fd, (const char *)w.data, w.len);
    rm_wbuf_free(&w);
    close(fd);
}

/* The connection goes to the worker of session s with m. Over TLS the
 * welcome is sent here, inside TLS #1, and the socket goes once the client
 * closed TLS #1 (PEND_CLOSING): 1 then, else 0 (done with it). */
static int hand_over(pending_t *c, session_t *s, rm_channel_msg_t m)
{
    m.scheme = c->scheme;
    if (c->tls) {
        struct iovec v = {&m.welcome, sizeof m.welcome};
        short events = POLLIN;
        if (rm_tls_pending_writev(c->tls, &v, 1) != RM_OK || rm_tls_pending_shutdown(c->tls, &events) < 0)
            return 0;
        m.welcomed = 1;
        c->handoff = m;
        c->phase = PEND_CLOSING;
        c->events = events;
        return 1;
    }
    if (rm_sock_send_fds(s->ctl_fd, &c->fd, 1, &m, sizeof m) != RM_OK)
        reject(c->fd, NULL, RM_ERR_IO, "%s", "the session's worker is gone or not taking connections");
    return 0;
}

/* TLS #1 is closed: the socket, blocking again, to its worker for TLS #2. */
static void hand_over_closed(listener_t *L, pending_t *c)
{
    session_t *s = find_session(L, c->handoff.welcome.session_id);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    if (!s || rm_sock_send_fds(s->ctl_fd, &c->fd, 1, &c->handoff, sizeof c->handoff) != RM_OK)
        RM_WARN_LIMITED("session %llu: its worker is gone or not taking connections: a client dropped",
                        (unsigned long long)c->handoff.welcome.session_id);
}

/* remora checkpoint SESSION or remora migrate SESSION: to that session's
 * worker, which answers. */
static int forward_checkpoint(listener_t *L, pending_t *c, const rm_hello_t *h)
{
    session_t *s = find_session(L, h->session_id);
    if (!s) {
        reject(c->fd, c->tls, RM_ERR_NOT_FOUND, "%s", "no such session (remora status lists them)");
        return 0;
    }
    rm_channel_msg_t m = {.hello = *h};
    m.welcome = (rm_welcome_t){.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = RM_OK,
                               .session_id = s->id};
    return hand_over(c, s, m);
}

static void restore_failed(int fd, rm_status st, const char *message)
{
    rm_ckpt_reply_t rep = {.status = (uint32_t)st};
    snprintf(rep.message, sizeof rep.message, "%s", message);
    RM_WARN("restore refused: %s", rep.message);
    rm_sock_write_all(fd, &rep, sizeof rep);
}

/* remora restore DIR (or a client whose server died): the checkpoint's
 * session section names the session; its worker restores the rest and
 * answers. The request is read here, under the hello's deadline. */
static void restore_session(listener_t *L, int fd, rm_scheme scheme, const rm_hello_t *h)
{
    rm_welcome_t w = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = RM_OK};
    rm_ckpt_request_t *req = malloc(sizeof *req);
    rm_ckpt_session_t *from = malloc(sizeof *from);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (!req || !from || rm_sock_set_timeout(fd, HELLO_MS) != RM_OK || rm_sock_write_all(fd, &w, sizeof w) != RM_OK ||
        rm_sock_read_all(fd, req, sizeof *req) != RM_OK)
        goto out;
    req->dir[sizeof req->dir - 1] = 0;
    rm_ckpt_t c;
    rm_ckpt_header_t hd;
    char why[sizeof ((rm_ckpt_reply_t *)0)->message];
    if (!req->dir[0]) {
        restore_failed(fd, RM_ERR_INVAL, "no directory given");
    } else if (rm_ckpt_read_session(&c, req->dir, &hd, from) != RM_OK) {
        restore_failed(fd, RM_ERR_INVAL, c.err);
    } else if (find_session(L, hd.session)) {
        snprintf(why, sizeof why, "session %llu is running on this server already", (unsigned long long)hd.session);
        restore_failed(fd, RM_ERR_LIMIT, why);
    } else {
        char peer[64];
        peer_of(fd, peer, sizeof peer);
        restored_t rs = {.from = from, .id = hd.session, .worker = {.dir = req->dir, .fd = fd}};
        if (!new_session(L, h, scheme, -1, peer, &rs))
            restore_failed(fd, RM_ERR_NOMEM, "server cannot start a session worker");
        else
            RM_INFO("session %llu: restoring from %s", (unsigned long long)hd.session, req->dir);
    }
out:
    free(req);
    free(from);
}

/* A session migrating here (the source's worker, migrate.h): the hello
 * names it (id, key, client); its worker reads the migration stream after
 * the welcome, answers, and keeps the session once the source commits. */
static void migrate_in(listener_t *L, int fd, rm_scheme scheme, const rm_hello_t *h)
{
    rm_welcome_t w = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = RM_OK,
                      .session_id = h->session_id};
    rm_ckpt_session_t *from = calloc(1, sizeof *from);
    const char *why = NULL;
    char peer[64];
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    peer_of(fd, peer, sizeof peer);
    if (!from)
        why = "the server is out of memory";
    else if (!h->session_id || find_session(L, h->session_id))
        why = "a session of that id runs on this server already";
    else
        session_allowed(L, peer, &why);
    if (why) {
        reject(fd, NULL, RM_ERR_LIMIT, "%s", why);
        free(from);
        return;
    }
    memcpy(from->key, h->session_key, RM_KEY_LEN);
    from->pid = h->pid;
    memcpy(from->host, h->host, sizeof from->host);
    memcpy(from->program, h->program, sizeof from->program);
    for (int i = 0; i < RM_MAX_CHANNELS; i++)
        from->done[i] = RM_RESUME_NONE; /* the worker answers resumes (worker.c) */
    restored_t rs = {.from = from, .id = h->session_id, .worker = {.dir = NULL, .fd = fd}};
    if (rm_sock_write_all(fd, &w, sizeof w) != RM_OK)
        RM_WARN("session %llu: the migrating source left", (unsigned long long)h->session_id);
    else if (!new_session(L, h, scheme, -1, peer, &rs))
        RM_WARN("session %llu: cannot start a worker for a migrating session", (unsigned long long)h->session_id);
    else
        RM_INFO("session %llu: migrating here from %s", (unsigned long long)h->session_id, peer);
    free(from);
}

/* Whether the hello came over the scheme of the listener; if not, the
 * client is told (-1). */
static int check_scheme(const pending_t *c, const rm_hello_t *h)
{
    const char *why = NULL;
    if (c->scheme == RM_SCHEME_TLS && !c->tls)
        why = h->features & RM_FEAT_TLS ? "this server takes the hello inside TLS: the client's remora is older "
                                          "than the server's (update it)"
                                        : "this server address takes TLS clients only: connect with tls://";
    else if (c->scheme != RM_SCHEME_TLS && h->features & RM_FEAT_TLS) /* a client older than the server */
        why = "this server address does not speak TLS: connect with tcp://";
    else if (c->scheme == RM_SCHEME_UCX && !(h->features & RM_FEAT_UCX))
        why = "this server address takes UCX clients only: connect with ucx://";
    else if (c->scheme != RM_SCHEME_UCX && h->features & RM_FEAT_UCX)
        why = "this server address does not speak UCX: connect with tcp://";
    if (why)
        reject(c->fd, NULL, RM_ERR_PROTO, "%s", why);
    return why ? -1 : 0;
}

/* A complete hello arrived: route the connection to its session's worker.
 * 1: the connection is still pending (PEND_CLOSING), else done with. */
static int route(listener_t *L, pending_t *c)
{
    rm_hello_t h = c->hello;
    int fd = c->fd;
    if (check_scheme(c, &h) != 0 || check_hello(L, c, &h) != 0)
        return 0;
    if (h.features & RM_FEAT_STATUS) {
        answer_status(L, c);
        return 0;
    }
    if ((h.features & RM_FEAT_CHECKPOINT) || (h.features & (RM_FEAT_MIGRATE | RM_FEAT_RESTORE)) == RM_FEAT_MIGRATE)
        return forward_checkpoint(L, c, &h); /* the operator's (token-checked), not the client's */
    if (h.features & RM_FEAT_RESTORE) { /* token-checked too; the directory is the server's */
        if (c->tls) { /* the request would have to travel in a TLS #2 of the listener's: not done yet */
            reject(fd, c->tls, RM_ERR_NOT_SUPPORTED, "%s", "restore over tls:// is not supported yet: use tcp:// or shm://");
            return 0;
        }
        c->fd = -1; /* out of the pending slots: the restoring worker keeps its copy and answers */
        if (h.features & RM_FEAT_MIGRATE)
            migrate_in(L, fd, c->scheme, &h);
        else
            restore_session(L, fd, c->scheme, &h);
        close(fd);
        return 0;
    }
    session_t *s;
    if (h.session_id == 0) {
        char peer[64];
        const char *why;
        peer_of(fd, peer, sizeof peer);
        if (!session_allowed(L, peer, &why)) {
            reject(fd, c->tls, RM_ERR_LIMIT, "%s", why);
            return 0;
        }
        s = new_session(L, &h, c->scheme, fd, peer, NULL);
        if (!s) {
            reject(fd, c->tls, RM_ERR_NOMEM, "%s", "server cannot start a session worker");
            return 0;
        }
    } else {
        s = find_session(L, h.session_id);
        if (!s || !rm_ct_equal(s->key, h.session_key, RM_KEY_LEN)) {
            reject(fd, c->tls, RM_ERR_AUTH, "%s", "unknown session or wrong session key");
            return 0;
        }
    }
    rm_channel_msg_t m = {.hello = h};
    m.welcome = (rm_welcome_t){.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = RM_OK,
                               .features = RM_FEAT_SHM_SEGMENT, .session_id = s->id,
                               .resume_done = RM_RESUME_NONE};
    memcpy(m.welcome.session_key, s->key, RM_KEY_LEN);
    if ((h.features & RM_FEAT_RESUME) && s->resume && h.channel < RM_MAX_CHANNELS)
        m.welcome.resume_done = s->resume[h.channel];
    return hand_over(c, s, m);
}

/* The worker's control socket hung up: it exited, or it stopped taking
 * channels and serves the ones it has until they close (draining, its slot
 * kept: its counters are still in use). Its slot is free once it exited. */
static void reap(listener_t *L, session_t *s, int wait)
{
    int status = 0;
    if (s->ctl_fd >= 0)
        close(s->ctl_fd);
    s->ctl_fd = DRAINING;
    if (waitpid(s->pid, &status, wait ? 0 : WNOHANG) != s->pid)
        return;
    s->ctl_fd = -1;
    rm_share_clear(L->share, (size_t)(s - L->sessions));
    if (WIFSIGNALED(status))
        RM_WARN("session %llu: worker %d killed by signal %d", (unsigned long long)s->id, (int)s->pid,
                WTERMSIG(status));
    else
        RM_INFO("session %llu: worker %d exited (%d)", (unsigned long long)s->id, (int)s->pid,
                WEXITSTATUS(status));
}

static int open_all(listener_t *L)
{
    FILE *ready = NULL;
    char tmp[4096];
    for (int i = 0; i < L->cfg->nlisten; i++) {
        rm_addr_t a;
        if (rm_addr_parse(L->cfg->listen[i], &a) != RM_OK ||
            rm_listener_open(&a, &L->l[L->nl]) != RM_OK) {
            RM_ERROR("cannot listen on %s", L->cfg->listen[i]);
            return -1;
        }
        L->scheme[L->nl++] = a.scheme;
    }
    char metrics_at[320] = "";
    if (L->cfg->metrics_addr) {
        rm_addr_t a;
        char tcp[300];
        if (rm_metrics_address(L->cfg->metrics_addr, tcp, sizeof tcp) != RM_OK || rm_addr_parse(tcp, &a) != RM_OK ||
            rm_listener_open(&a, &L->metrics) != RM_OK) {
            RM_ERROR("cannot serve metrics on %s (HOST:PORT)", L->cfg->metrics_addr);
            return -1;
        }
        a.port = rm_listener_port(L->metrics);
        rm_addr_format(&a, tcp, sizeof tcp);
        snprintf(metrics_at, sizeof metrics_at, "http://%s/metrics", tcp + strlen("tcp://"));
        RM_INFO("metrics at %s", metrics_at);
    }
    /* written whole, then renamed: a reader never sees half of it */
    snprintf(tmp, sizeof tmp, "%s.tmp", L->cfg->ready_file ? L->cfg->ready_file : "");
    if (L->cfg->ready_file && !(ready = fopen(tmp, "w"))) {
        RM_ERROR("cannot write %s", L->cfg->ready_file);
        return -1;
    }
    for (int i = 0; i < L->nl; i++) {
        rm_addr_t a;
        rm_addr_parse(L->cfg->listen[i], &a);
        char buf[300];
        a.port = rm_listener_port(L->l[i]);
        rm_addr_format(&a, buf, sizeof buf);
        RM_INFO("listening on %s", buf);
        if (ready)
            fprintf(ready, "%s\n", buf);
    }
    if (ready && metrics_at[0])
        fprintf(ready, "%s\n", metrics_at);
    if (ready && (fclose(ready) != 0 || rename(tmp, L->cfg->ready_file) != 0)) {
        RM_ERROR("cannot write %s", L->cfg->ready_file);
        return -1;
    }
    return 0;
}

/* Done with a pending connection: TLS #1 ended (close_notify sent, when
 * it got that far), the socket closed (the worker has its own copy). */
static void drop_pending(pending_t *c)
{
    if (c->tls) {
        short events;
        if (c->phase != PEND_CLOSING && c->phase != PEND_HANDSHAKE)
            rm_tls_pending_shutdown(c->tls, &events);
        rm_tls_pending_free(c->tls);
        c->tls = NULL;
    }
    close(c->fd);
    c->fd = -1;
}

/* Track a new connection until its hello is in. When every slot is taken,
 * the oldest handshake gives way: idle connections cannot lock others out. */
static void add_pending(listener_t *L, int fd, rm_scheme scheme)
{
    pending_t *slot = &L->pending[0];
    for (int i = 0; i < MAX_PENDING && slot->fd >= 0; i++)
        if (L->pending[i].fd < 0 || L->pending[i].deadline < slot->deadline)
            slot = &L->pending[i];
    if (slot->fd >= 0) {
        RM_WARN_LIMITED("too many connections in handshake: dropping the oldest");
        drop_pending(slot);
    }
    *slot = (pending_t){.fd = fd, .scheme = scheme, .deadline = now_ms() + HELLO_MS,
                        .phase = scheme == RM_SCHEME_TLS ? PEND_SNIFF : PEND_CLEAR, .events = POLLIN};
}

static void linger(pending_t *c);

/* A TLS ClientHello at a listener without TLS: the client is told in
 * clear. */
static void refuse_tls_client(pending_t *c)
{
    reject(c->fd, NULL, RM_ERR_PROTO, "%s", "this server address does not speak TLS: connect with tcp://");
    linger(c);
}

/* More bytes of a hello in clear: 1 once it is complete, 0 while more
 * are to come, -1 when the peer is to be dropped (answered if it can). */
static int read_clear(pending_t *c)
{
    ssize_t r = recv(c->fd, (char *)&c->hello + c->got, sizeof c->hello - c->got, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0)
        return -1;
    size_t before = c->got;
    c->got += (size_t)r;
    if (before == 0 && c->scheme != RM_SCHEME_TLS && *(const unsigned char *)&c->hello == 0x16) {
        refuse_tls_client(c);
        return 0;
    }
    if (before < 8 && c->got >= 8 && check_preamble(c) != 0)
        return -1;
    return c->got == sizeof c->hello;
}

/* The first byte at a tls:// listener: a TLS record starts TLS #1. */
static int sniff(pending_t *c)
{
    unsigned char first;
    ssize_t r = recv(c->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0)
        return -1;
    if (first != 0x16) {
        c->phase = PEND_CLEAR;
        return 1;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    if (!(c->tls = rm_tls_pending_new(c->fd)))
        return -1;
    c->phase = PEND_HANDSHAKE;
    return 1;
}

/* More bytes of the hello inside TLS #1, as read_clear. */
static int read_tls(pending_t *c)
{
    size_t before = c->got;
    int r = rm_tls_pending_read(c->tls, &c->hello, sizeof c->hello, &c->got, &c->events);
    if (r >= 0 && before < 8 && c->got >= 8 && check_preamble(c) != 0)
        return -1;
    return r;
}

/* A failed TLS handshake (its alert sent) or a TLS client refused in
 * clear: the socket is closed once the peer has read why and closed
 * (closing on bytes it sent meanwhile would reset the connection, the
 * alert or answer lost), or at the deadline. */
static void linger(pending_t *c)
{
    if (c->tls)
        rm_tls_pending_free(c->tls);
    c->tls = NULL;
    shutdown(c->fd, SHUT_WR);
    c->phase = PEND_LINGER;
    c->events = POLLIN;
}

static int lingering(pending_t *c)
{
    char skip[4096];
    ssize_t r = recv(c->fd, skip, sizeof skip, MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : r > 0 ? 0 : -1;
}

/* The connection is readable (or writable, as TLS asked): one more step. */
static void step_pending(listener_t *L, pending_t *c)
{
    int r = 1;
    c->events = POLLIN;
    if (c->phase == PEND_LINGER) {
        if (lingering(c) < 0)
            drop_pending(c);
        return;
    }
    if (c->phase == PEND_SNIFF)
        r = sniff(c);
    if (r > 0 && c->phase == PEND_HANDSHAKE && (r = rm_tls_pending_accept(c->tls, &c->events)) > 0)
        c->phase = PEND_HELLO;
    if (r < 0 && c->phase == PEND_HANDSHAKE) {
        linger(c);
        return;
    }
    if (r > 0 && c->phase == PEND_CLOSING) {
        if ((r = rm_tls_pending_shutdown(c->tls, &c->events)) > 0)
            hand_over_closed(L, c);
        if (r != 0)
            drop_pending(c);
        return;
    }
    if (r > 0)
        r = c->phase == PEND_HELLO ? read_tls(c) : read_clear(c);
    if (r > 0)
        r = route(L, c) ? 0 : -1;
    if (r < 0)
        drop_pending(c);
}

static void expire_pending(listener_t *L)
{
    int64_t now = now_ms();
    for (int i = 0; i < MAX_PENDING; i++)
        if (L->pending[i].fd >= 0 && now >= L->pending[i].deadline) {
            if (L->pending[i].phase != PEND_LINGER)
                RM_WARN_LIMITED("rejected a client: no complete hello within %d ms", HELLO_MS);
            drop_pending(&L->pending[i]);
        }
}

/* Out of file descriptors (the backlog keeps the listener readable): the
 * spare descriptor makes room to take the waiting connection, tell it why
 * and close it, so that the listener neither spins nor stalls; then it
 * waits a moment before accepting again. */
#define FD_BACKOFF_MS 100

static void out_of_fds(listener_t *L, rm_listener_t *l)
{
    int fd;
    if (L->spare_fd >= 0) {
        close(L->spare_fd);
        if (rm_listener_accept(l, &fd) == RM_OK) {
            reject(fd, NULL, RM_ERR_LIMIT, "%s", "the server is out of file descriptors: try again later");
            close(fd);
        }
        L->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    L->accept_after = now_ms() + FD_BACKOFF_MS;
    RM_WARN_LIMITED("out of file descriptors: a connection refused (raise the fd limit, or lower --max-sessions)");
}

enum { SLOT_LISTENER, SLOT_PENDING, SLOT_WORKER, SLOT_METRICS };

static void poll_once(listener_t *L)
{
    enum { MAX_FDS = RM_MAX_LISTEN + MAX_PENDING + MAX_SESSIONS + 1 };
    struct pollfd p[MAX_FDS];
    struct {
        int kind, index;
    } slot[MAX_FDS];
    int n = 0;
    for (int i = 0; i < L->nl && now_ms() >= L->accept_after; i++, n++)
        p[n] = (struct pollfd){.fd = rm_listener_fd(L->l[i]), .events = POLLIN}, slot[n].kind = SLOT_LISTENER,
        slot[n].index = i;
    for (int i = 0; i < MAX_PENDING; i++)
        if (L->pending[i].fd >= 0)
            p[n] = (struct pollfd){.fd = L->pending[i].fd, .events = L->pending[i].events}, slot[n].kind = SLOT_PENDING,
            slot[n++].index = i;
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L->sessions[i].ctl_fd >= 0)
            p[n] = (struct pollfd){.fd = L->sessions[i].ctl_fd, .events = POLLIN}, slot[n].kind = SLOT_WORKER,
            slot[n++].index = i;
    if (L->metrics)
        p[n] = (struct pollfd){.fd = rm_listener_fd(L->metrics), .events = POLLIN}, slot[n++].kind = SLOT_METRICS;
    int ready = poll(p, (nfds_t)n, 200);
    for (int i = 0; i < n && ready > 0; i++) {
        if (!p[i].revents)
            continue;
        int fd;
        switch (slot[i].kind) {
        case SLOT_LISTENER: {
            rm_status st = rm_listener_accept(L->l[slot[i].index], &fd);
            if (st == RM_OK)
                add_pending(L, fd, L->scheme[slot[i].index]);
            else if (st == RM_ERR_LIMIT)
                out_of_fds(L, L->l[slot[i].index]);
            break;
        }
        case SLOT_PENDING: step_pending(L, &L->pending[slot[i].index]); break;
        case SLOT_METRICS: answer_metrics(L); break;
        default: reap(L, &L->sessions[slot[i].index], 0); /* a worker's socket reports only its hang-up */
        }
    }
    expire_pending(L);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L->sessions[i].ctl_fd == DRAINING)
            reap(L, &L->sessions[i], 0);
}

rm_status rm_listener_run(const rm_server_cfg_t *cfg)
{
    static listener_t L;
    L.cfg = cfg;
    for (int i = 0; i < MAX_SESSIONS; i++)
        L.sessions[i].ctl_fd = -1;
    for (int i = 0; i < MAX_PENDING; i++)
        L.pending[i].fd = -1;
    L.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rm_image_cache_init(cfg->cache_dir, cfg->cache_size ? cfg->cache_size : RM_DEFAULT_CACHE_SIZE);
    if (!(L.counters = rm_counters_map(MAX_SESSIONS)) || !(L.share = rm_share_map(MAX_SESSIONS))) {
        RM_ERROR("cannot map the session counters");
        return RM_ERR_NOMEM;
    }
    rm_status st = open_all(&L) == 0 ? RM_OK : RM_ERR_ADDR;
    while (st == RM_OK && !stop_requested)
        poll_once(&L);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L.sessions[i].ctl_fd != -1) {
            kill(L.sessions[i].pid, SIGTERM);
            reap(&L, &L.sessions[i], 1);
        }
    for (int i = 0; i < L.nl; i++)
        rm_listener_close(L.l[i]);
    if (L.metrics)
        rm_listener_close(L.metrics);
    RM_INFO("server stopped");
    return st;
}
