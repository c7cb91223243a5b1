/* UCX transport (ucx://HOST:PORT): the stream travels as UCP tag messages,
 * so UCX picks the wire (RDMA verbs, RoCE, shared memory, TCP; UCX_TLS
 * narrows it) and moves large messages by rendezvous, straight from the
 * sender's memory into the receiver's.
 *
 * Connection: the hello runs on a TCP socket at HOST:PORT like tcp://; then
 * each side makes a UCP worker for this one connection, sends its worker
 * address over that socket, and connects an endpoint to the peer's (error
 * handling mode "peer"). The socket stays open only to notice a dead peer,
 * as shm:// keeps its Unix socket. (A UCP listener cannot be used: the
 * server's listener forks a worker process per session after the hello, and
 * a UCP connection request cannot cross a fork.)
 *
 * Framing: every message carries the same tag and the endpoint keeps them in
 * order. A write sends its small iovecs copied together into one message and
 * each large iovec as a message of its own from the caller's memory (UCX
 * registers it on first use and keeps it in its registration cache, so the
 * client's pinned segments are registered once). A read takes the next
 * message straight into the caller's memory when it fits, else into a
 * buffer it then serves from. A message of zero bytes says "closing": every
 * message before it has arrived.
 *
 * Waiting: busy-poll the worker for the spin budget, then sleep in poll() on
 * the worker's event fd and the socket. A hang-up of the socket or the
 * endpoint's error callback means the peer is gone; what had arrived before
 * is still read. A socket timeout (rm_sock_set_timeout before the open)
 * bounds each wait without progress. Two threads may use one connection at
 * once (one reading, one writing): the worker is used under a lock, and a
 * sleeper wakes at least every millisecond while the other thread may have
 * taken its event. */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ucp/api/ucp.h>
#include <ucs/config/global_opts.h>
#include <unistd.h>

#include "log.h"

#define RM_UCX_TAG 0x72656d6f72610000ull /* every message ("remora") */
#define RM_UCX_TAG_MASK UINT64_MAX
#define RM_UCX_DIRECT_MIN (16u << 10) /* iovecs this large go from the caller's memory */
#define RM_UCX_COALESCE (64u << 10)   /* smaller ones are copied together up to this */
#define RM_UCX_ADDR_MAX (64u << 10)   /* a worker address longer than this is refused */
#define RM_UCX_DRAIN_NS 200000000ull  /* after a hang-up: how long to take what had arrived */
#define RM_UCX_CLOSE_NS 500000000ull  /* close: how long to wait for the goodbye to be flushed */
#define RM_UCX_SHARED_SLEEP_MS 1      /* a sleeper's longest nap while the other thread works */
#define RM_UCX_DYING_MS 200           /* a failed request: how long to wait for a hang-up */

typedef struct {
    rm_conn_t base;
    ucp_worker_h worker;
    ucp_ep_h ep;
    int peer_mode; /* the endpoint is in error handling mode "peer" */
    int efd;
    pthread_mutex_t lock; /* the worker, the endpoint and everything below */
    int users;            /* threads inside read or writev */
    int ep_failed;        /* the endpoint's error callback ran */
    uint64_t gone_ns;     /* when the socket hung up; 0: it has not */
    rm_status broken;     /* RM_OK while usable; else what every call now answers */
    uint64_t timeout_ns;  /* longest wait without progress; 0: none */
    uint64_t progress_ns; /* last time anything moved */
    char *rbuf;           /* a message longer than the read that took it: */
    size_t rcap, rhead, rtail; /* unread bytes are rbuf[rhead, rtail) */
    size_t wlen;
    char wbuf[RM_UCX_COALESCE]; /* small iovecs of one write, copied together */
} ucx_conn_t;

/* ---- the process's UCP context ---- */

/* One context for every connection of the process, made on first use. A
 * forked child makes its own (the parent's has no async thread in the
 * child); the inherited one is kept reachable, never used or freed. */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static ucp_context_h ctx, ctx_inherited;
static pid_t ctx_pid;

static rm_status context_get(ucp_context_h *out)
{
    pthread_mutex_lock(&ctx_lock);
    if (ctx && ctx_pid != getpid()) {
        ctx_inherited = ctx;
        ctx = NULL;
    }
    rm_status st = RM_OK;
    if (!ctx) {
        ucp_config_t *cfg;
        ucs_status_t s = ucp_config_read(NULL, NULL, &cfg);
        if (s == UCS_OK) {
            ucp_params_t p = {
                .field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED |
                              UCP_PARAM_FIELD_NAME,
                .features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP,
                .mt_workers_shared = 1,
                .name = "remora",
            };
            s = ucp_init(&p, cfg, &ctx);
            ucp_config_release(cfg);
        }
        if (s != UCS_OK) {
            RM_ERROR("ucx: cannot initialise UCP: %s", ucs_status_string(s));
            ctx = NULL;
            st = RM_ERR_IO;
        } else {
            ctx_pid = getpid();
        }
    }
    if (st == RM_OK)
        *out = ctx;
    pthread_mutex_unlock(&ctx_lock);
    return st;
}

/* ---- waiting ---- */

static rm_status from_ucs(ucs_status_t s, const char *what)
{
    switch (s) {
    case UCS_OK:
        return RM_OK;
    case UCS_ERR_CONNECTION_RESET:
    case UCS_ERR_ENDPOINT_TIMEOUT:
    case UCS_ERR_UNREACHABLE:
    case UCS_ERR_CANCELED:
        RM_DEBUG("ucx: %s: %s: peer gone", what, ucs_status_string(s));
        return RM_ERR_CLOSED;
    case UCS_ERR_NO_MEMORY:
        RM_ERROR("ucx: %s: %s", what, ucs_status_string(s));
        return RM_ERR_NOMEM;
    default:
        RM_ERROR("ucx: %s: %s", what, ucs_status_string(s));
        return RM_ERR_IO;
    }
}

static void on_ep_error(void *arg, ucp_ep_h ep, ucs_status_t status)
{
    (void)ep;
    RM_DEBUG("ucx: endpoint error: %s", ucs_status_string(status));
    ((ucx_conn_t *)arg)->ep_failed = 1;
}

/* The peer never writes on the socket after the hello, so readable means
 * hung up (or a peer not speaking this protocol, which is as good as gone). */
static void check_socket(ucx_conn_t *c, short revents)
{
    if (!revents)
        return;
    char b;
    ssize_t r = recv(c->base.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
        (revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL))) {
        RM_DEBUG("ucx: the peer hung up its socket");
        c->gone_ns = rm_now_ns();
    } else if (r > 0) {
        RM_ERROR("ucx: the peer wrote on the liveness socket: not a remora ucx peer");
        c->gone_ns = rm_now_ns();
    }
}

/* One step of a wait, with c->lock held: RM_OK to look again, or why to
 * stop. Progresses the worker; when nothing moved, busy-polls for the spin
 * budget, then sleeps (lock released) until the worker or the socket has
 * news, the timeout or, after a hang-up, the drain time runs out. */
static rm_status wait_step(ucx_conn_t *c)
{
    if (ucp_worker_progress(c->worker)) {
        c->progress_ns = rm_now_ns();
        return RM_OK;
    }
    uint64_t now = rm_now_ns(), idle = now - c->progress_ns;
    if (c->gone_ns && (c->ep_failed || now - c->gone_ns >= RM_UCX_DRAIN_NS))
        return RM_ERR_CLOSED;
    if (idle < rm_transport_spin_ns())
        return RM_OK;
    if (c->timeout_ns && idle >= c->timeout_ns) {
        RM_DEBUG("ucx: no progress within %llu ms", (unsigned long long)(c->timeout_ns / 1000000));
        return RM_ERR_TIMEOUT;
    }
    ucs_status_t s = ucp_worker_arm(c->worker);
    if (s == UCS_ERR_BUSY)
        return RM_OK;
    if (s != UCS_OK)
        return from_ucs(s, "worker arm");
    int ms = -1;
    if (c->timeout_ns)
        ms = (int)((c->timeout_ns - idle + 999999) / 1000000);
    if (c->users > 1 && (ms < 0 || ms > RM_UCX_SHARED_SLEEP_MS))
        ms = RM_UCX_SHARED_SLEEP_MS;
    if (c->gone_ns && (ms < 0 || ms > 10))
        ms = 10;
    struct pollfd p[2] = {{.fd = c->efd, .events = POLLIN},
                          {.fd = c->base.fd, .events = POLLIN | POLLRDHUP}};
    pthread_mutex_unlock(&c->lock);
    int r = poll(p, c->gone_ns ? 1 : 2, ms);
    pthread_mutex_lock(&c->lock);
    if (r < 0 && errno != EINTR) {
        RM_ERROR("ucx: poll: %s", strerror(errno));
        return RM_ERR_IO;
    }
    if (r > 0 && !c->gone_ns)
        check_socket(c, p[1].revents);
    return RM_OK;
}

/* Closes the endpoint at once: outstanding requests end (cancelled). UCX
 * allows that only for an endpoint in error mode "peer"; one without (a lane
 * with no peer-failure support) is left to the worker's destruction. Either
 * way a broken connection's worker is never progressed again, so no
 * caller's buffer is written after the call that failed returns (on every
 * lane the receiver copies in its own progress). */
static void ep_force_close(ucx_conn_t *c)
{
    if (!c->ep || !c->peer_mode)
        return;
    ucp_request_param_t p = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS, .flags = UCP_EP_CLOSE_FLAG_FORCE};
    ucs_status_ptr_t req = ucp_ep_close_nbx(c->ep, &p);
    c->ep = NULL;
    if (UCS_PTR_IS_PTR(req)) {
        uint64_t until = rm_now_ns() + RM_UCX_CLOSE_NS;
        while (ucp_request_check_status(req) == UCS_INPROGRESS && rm_now_ns() < until)
            ucp_worker_progress(c->worker);
        ucp_request_free(req);
    }
}

/* The connection is done for: st from now on. */
static rm_status fail(ucx_conn_t *c, rm_status st)
{
    if (c->broken == RM_OK) {
        c->broken = st;
        ep_force_close(c);
    }
    return c->broken;
}

/* A request failed with s: if the peer hangs up its socket within
 * RM_UCX_DYING_MS, that is the cause (a dying peer's shared-memory segment,
 * say, goes before its sockets close): RM_ERR_CLOSED. */
static rm_status request_error(ucx_conn_t *c, ucs_status_t s, const char *what)
{
    struct pollfd p = {.fd = c->base.fd, .events = POLLIN | POLLRDHUP};
    if (!c->gone_ns && !c->ep_failed && poll(&p, 1, RM_UCX_DYING_MS) > 0)
        check_socket(c, p.revents);
    if (c->gone_ns || c->ep_failed) {
        RM_DEBUG("ucx: %s: %s after the peer went away", what, ucs_status_string(s));
        return RM_ERR_CLOSED;
    }
    return from_ucs(s, what);
}

/* Waits for a send or receive request to finish. */
static rm_status wait_request(ucx_conn_t *c, ucs_status_ptr_t req, const char *what)
{
    if (UCS_PTR_IS_ERR(req))
        return fail(c, request_error(c, UCS_PTR_STATUS(req), what));
    if (req == NULL)
        return RM_OK;
    ucs_status_t s;
    rm_status st = RM_OK;
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS)
        if ((st = wait_step(c)) != RM_OK) {
            ucp_request_cancel(c->worker, req); /* a receive; a send ends with the endpoint */
            fail(c, st);
            break;
        }
    ucp_request_free(req); /* if unfinished, UCX frees it when it ends */
    if (st != RM_OK)
        return c->broken;
    c->progress_ns = rm_now_ns();
    return s == UCS_OK ? RM_OK : fail(c, request_error(c, s, what));
}

/* A thread starts using the connection. One already asleep in it may need
 * an event this one's progress takes: it is woken to sleep again in short
 * naps (wait_step) while both are inside. */
static void enter(ucx_conn_t *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->users++ > 0 && c->broken == RM_OK)
        ucp_worker_signal(c->worker);
}

/* ---- writing ---- */

static rm_status send_msg(ucx_conn_t *c, const void *p, size_t n)
{
    ucp_request_param_t prm = {.op_attr_mask = 0};
    return wait_request(c, ucp_tag_send_nbx(c->ep, p, n, RM_UCX_TAG, &prm), "send");
}

static rm_status flush_small(ucx_conn_t *c)
{
    size_t n = c->wlen;
    c->wlen = 0;
    return n ? send_msg(c, c->wbuf, n) : RM_OK;
}

static rm_status write_locked(ucx_conn_t *c, const struct iovec *iov, int iovcnt)
{
    if (c->broken != RM_OK)
        return c->broken;
    if (c->gone_ns)
        return fail(c, RM_ERR_CLOSED);
    rm_status st = RM_OK;
    c->wlen = 0;
    for (int i = 0; i < iovcnt && st == RM_OK; i++) {
        size_t n = iov[i].iov_len;
        if (n >= RM_UCX_DIRECT_MIN) {
            if ((st = flush_small(c)) == RM_OK)
                st = send_msg(c, iov[i].iov_base, n);
            continue;
        }
        if (c->wlen + n > sizeof c->wbuf)
            st = flush_small(c);
        if (n)
            memcpy(c->wbuf + c->wlen, iov[i].iov_base, n);
        c->wlen += n;
    }
    return st == RM_OK ? flush_small(c) : st;
}

static rm_status ucx_writev(rm_conn_t *conn, const struct iovec *iov, int iovcnt)
{
    ucx_conn_t *c = (ucx_conn_t *)conn;
    enter(c);
    rm_status st = write_locked(c, iov, iovcnt);
    c->users--;
    pthread_mutex_unlock(&c->lock);
    return st;
}

/* ---- reading ---- */

/* Takes the next message whole into dst (room for len). */
static rm_status recv_msg(ucx_conn_t *c, ucp_tag_message_h m, void *dst, size_t len)
{
    ucp_request_param_t prm = {.op_attr_mask = 0};
    return wait_request(c, ucp_tag_msg_recv_nbx(c->worker, dst, len, m, &prm), "receive");
}

static rm_status grow_rbuf(ucx_conn_t *c, size_t len)
{
    if (len <= c->rcap)
        return RM_OK;
    char *p = realloc(c->rbuf, len);
    if (!p) {
        RM_ERROR("ucx: out of memory for a %zu-byte message", len);
        return RM_ERR_NOMEM;
    }
    c->rbuf = p;
    c->rcap = len;
    return RM_OK;
}

static rm_status read_locked(ucx_conn_t *c, char *q, size_t n)
{
    while (n > 0) {
        size_t have = c->rtail - c->rhead;
        if (have) {
            size_t take = have < n ? have : n;
            memcpy(q, c->rbuf + c->rhead, take);
            c->rhead += take;
            q += take;
            n -= take;
            continue;
        }
        if (c->broken != RM_OK)
            return c->broken;
        ucp_tag_recv_info_t info;
        ucp_tag_message_h m = ucp_tag_probe_nb(c->worker, RM_UCX_TAG, RM_UCX_TAG_MASK, 1, &info);
        if (!m) {
            rm_status st = wait_step(c);
            if (st != RM_OK)
                return fail(c, st);
            continue;
        }
        c->progress_ns = rm_now_ns();
        rm_status st;
        if (info.length == 0) { /* the goodbye */
            recv_msg(c, m, NULL, 0);
            return fail(c, RM_ERR_CLOSED);
        }
        if (info.length <= n) {
            if ((st = recv_msg(c, m, q, info.length)) != RM_OK)
                return st;
            q += info.length;
            n -= info.length;
            continue;
        }
        if ((st = grow_rbuf(c, info.length)) != RM_OK) {
            recv_msg(c, m, NULL, 0); /* truncated: the message is dropped */
            return fail(c, st);
        }
        if ((st = recv_msg(c, m, c->rbuf, info.length)) != RM_OK)
            return st;
        c->rhead = 0;
        c->rtail = info.length;
    }
    return RM_OK;
}

static rm_status ucx_read(rm_conn_t *conn, void *p, size_t n)
{
    ucx_conn_t *c = (ucx_conn_t *)conn;
    enter(c);
    rm_status st = read_locked(c, p, n);
    c->users--;
    pthread_mutex_unlock(&c->lock);
    return st;
}

/* ---- opening and closing ---- */

/* UCX logs, as errors and warnings, two things that are expected here: an
 * endpoint in error mode "peer" refused on a shared-memory lane, and the
 * peer's unread messages (its goodbye) dropped when a worker is destroyed.
 * Muted around those calls, unless UCX_LOG_LEVEL asks for more than
 * warnings. */
static ucs_log_level_t mute_ucx(void)
{
    ucs_log_level_t level = ucs_global_opts.log_component.log_level;
    if (level <= UCS_LOG_LEVEL_WARN)
        ucs_global_opts.log_component.log_level = UCS_LOG_LEVEL_FATAL;
    return level;
}

static void unmute_ucx(ucs_log_level_t level) { ucs_global_opts.log_component.log_level = level; }

/* Sends this worker's address over the socket and reads the peer's. */
static rm_status swap_addresses(ucx_conn_t *c, ucp_address_t **peer)
{
    ucp_address_t *mine;
    size_t len;
    ucs_status_t s = ucp_worker_get_address(c->worker, &mine, &len);
    if (s != UCS_OK)
        return from_ucs(s, "worker address");
    uint32_t n32 = (uint32_t)len;
    struct iovec v[2] = {{&n32, sizeof n32}, {mine, len}};
    rm_status st = rm_sock_writev_all(c->base.fd, v, 2);
    ucp_worker_release_address(c->worker, mine);
    if (st == RM_OK)
        st = rm_sock_read_all(c->base.fd, &n32, sizeof n32);
    if (st != RM_OK)
        return st;
    if (n32 == 0 || n32 > RM_UCX_ADDR_MAX) {
        RM_ERROR("ucx: the peer's worker address is %u bytes (want 1..%u)", n32, RM_UCX_ADDR_MAX);
        return RM_ERR_PROTO;
    }
    if (!(*peer = malloc(n32)))
        return RM_ERR_NOMEM;
    if ((st = rm_sock_read_all(c->base.fd, *peer, n32)) != RM_OK) {
        free(*peer);
        *peer = NULL;
    }
    return st;
}

static rm_status connect_ep(ucx_conn_t *c)
{
    ucp_address_t *peer = NULL;
    rm_status st = swap_addresses(c, &peer);
    if (st != RM_OK)
        return st;
    ucp_ep_params_t ep = {
        .field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                      UCP_EP_PARAM_FIELD_ERR_HANDLER,
        .address = peer,
        .err_mode = UCP_ERR_HANDLING_MODE_PEER,
        .err_handler = {.cb = on_ep_error, .arg = c},
    };
    ucs_log_level_t level = mute_ucx(); /* a refusal of mode "peer" is expected on shm lanes */
    ucs_status_t s = ucp_ep_create(c->worker, &ep, &c->ep);
    unmute_ucx(level);
    c->peer_mode = s == UCS_OK;
    if (s == UCS_ERR_UNREACHABLE) {
        /* UCX 1.13's shared-memory lanes have no peer-failure support: the
         * socket alone tells that the peer is gone. */
        RM_DEBUG("ucx: no lane with peer-failure handling; connecting without it");
        ep.err_mode = UCP_ERR_HANDLING_MODE_NONE;
        s = ucp_ep_create(c->worker, &ep, &c->ep);
    }
    free(peer);
    if (s == UCS_OK)
        return RM_OK;
    c->ep = NULL;
    /* A peer that wrote, closed and exited before this side connected (its
     * shared memory is gone): what it wrote is here to read, then
     * RM_ERR_CLOSED, as on a socket. */
    if (request_error(c, s, "connect") == RM_ERR_CLOSED)
        return RM_OK;
    RM_ERROR("ucx: cannot connect to the peer's worker: %s (UCX_TLS=%s)", ucs_status_string(s),
             getenv("UCX_TLS") ? getenv("UCX_TLS") : "unset");
    return RM_ERR_IO;
}

static rm_status make_worker(ucx_conn_t *c)
{
    ucp_context_h uc;
    rm_status st = context_get(&uc);
    if (st != RM_OK)
        return st;
    ucp_worker_params_t wp = {.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
                              .thread_mode = UCS_THREAD_MODE_SERIALIZED};
    ucs_status_t s = ucp_worker_create(uc, &wp, &c->worker);
    if (s != UCS_OK) {
        c->worker = NULL;
        return from_ucs(s, "worker create");
    }
    if ((s = ucp_worker_get_efd(c->worker, &c->efd)) != UCS_OK)
        return from_ucs(s, "worker event fd");
    return RM_OK;
}

static void destroy(ucx_conn_t *c)
{
    ep_force_close(c);
    if (c->worker) {
        ucs_log_level_t level = mute_ucx();
        ucp_worker_destroy(c->worker);
        unmute_ucx(level);
    }
    pthread_mutex_destroy(&c->lock);
    free(c->rbuf);
    free(c);
}

static rm_status ucx_open(int fd, rm_role role, rm_conn_t **out)
{
    (void)role; /* both sides do the same */
    ucx_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        RM_ERROR("ucx: out of memory");
        return RM_ERR_NOMEM;
    }
    c->base.ops = &rm_ucx_ops;
    c->base.fd = fd;
    c->efd = -1;
    pthread_mutex_init(&c->lock, NULL);
    c->timeout_ns = rm_sock_timeout_ms(fd) * 1000000;
    rm_status st = make_worker(c);
    if (st == RM_OK)
        st = connect_ep(c);
    if (st != RM_OK) {
        destroy(c);
        return st;
    }
    c->progress_ns = rm_now_ns();
    *out = &c->base;
    return RM_OK;
}

/* Says goodbye (so the peer reads everything up to it, then RM_ERR_CLOSED)
 * and flushes it out, for at most RM_UCX_CLOSE_NS; a peer already gone, or
 * a broken connection, is just dropped. */
static void ucx_close(rm_conn_t *conn)
{
    ucx_conn_t *c = (ucx_conn_t *)conn;
    pthread_mutex_lock(&c->lock);
    if (c->broken == RM_OK && !c->gone_ns) {
        c->timeout_ns = RM_UCX_CLOSE_NS;
        c->progress_ns = rm_now_ns();
        ucp_request_param_t bye = {.op_attr_mask = 0};
        if (wait_request(c, ucp_tag_send_nbx(c->ep, NULL, 0, RM_UCX_TAG, &bye), "goodbye") == RM_OK) {
            ucp_request_param_t p = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS, .flags = 0};
            ucs_status_ptr_t req = ucp_ep_close_nbx(c->ep, &p);
            c->ep = NULL;
            if (UCS_PTR_IS_PTR(req)) {
                uint64_t until = rm_now_ns() + RM_UCX_CLOSE_NS;
                while (ucp_request_check_status(req) == UCS_INPROGRESS && rm_now_ns() < until &&
                       wait_step(c) == RM_OK)
                    ;
                ucp_request_free(req); /* unfinished: the worker's destruction ends it */
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    close(c->base.fd);
    destroy(c);
}

const rm_transport_ops_t rm_ucx_ops = {
    .name = "ucx",
    .open = ucx_open,
    .writev = ucx_writev,
    .read = ucx_read,
    .close = ucx_close,
};
