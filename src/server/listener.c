/* The listener: accepts connections on every --listen address, checks the
 * hello (protocol version, token), forks one worker per new client session
 * and hands each connection to its session's worker with its socket. It never
 * touches CUDA, so a crashing or stuck session cannot take it down. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

#define MAX_SESSIONS 1024
#define HELLO_MS 2000 /* the whole hello must arrive within this */

typedef struct {
    uint64_t id;
    uint8_t key[RM_KEY_LEN];
    pid_t pid;
    int ctl_fd; /* -1: free slot */
} session_t;

typedef struct {
    const rm_server_cfg_t *cfg;
    rm_listener_t *l[RM_MAX_LISTEN];
    rm_scheme scheme[RM_MAX_LISTEN];
    int nl;
    session_t sessions[MAX_SESSIONS];
    uint64_t next_id;
} listener_t;

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int token_equal(const char *want, const char *got)
{
    /* constant time over the whole buffer */
    unsigned diff = 0;
    size_t n = strlen(want);
    for (size_t i = 0; i < RM_TOKEN_MAX; i++) {
        char w = i < n ? want[i] : 0;
        diff |= (unsigned)(w ^ got[i]);
    }
    return diff == 0;
}

static void reject(int fd, rm_status st, const char *fmt, const char *detail)
{
    rm_welcome_t w = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = (uint32_t)st};
    snprintf(w.message, sizeof w.message, fmt, detail);
    RM_WARN("rejected a client: %s", w.message);
    rm_sock_write_all(fd, &w, sizeof w);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read exactly n bytes before the deadline: a peer that trickles its hello
 * byte by byte must not hold the listener (and everyone behind it). */
static int read_by(int fd, void *p, size_t n, int64_t deadline)
{
    char *q = p;
    while (n > 0) {
        int64_t left = deadline - now_ms();
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) != 1)
            return -1;
        ssize_t r = recv(fd, q, n, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            return -1;
        if (r > 0)
            q += r, n -= (size_t)r;
    }
    return 0;
}

/* Reads and checks the hello; on failure answers the client and returns -1. */
static int read_hello(listener_t *L, int fd, rm_hello_t *h)
{
    int64_t deadline = now_ms() + HELLO_MS;
    memset(h, 0, sizeof *h);
    if (read_by(fd, h, 8, deadline) != 0)
        return -1;
    if (h->magic != RM_PROTO_MAGIC) {
        reject(fd, RM_ERR_PROTO, "%s", "not a remora client (bad magic)");
        return -1;
    }
    if (h->version != RM_PROTO_VERSION) {
        char v[32];
        snprintf(v, sizeof v, "%u", h->version);
        reject(fd, RM_ERR_VERSION, "protocol version mismatch: server speaks 1, client %s", v);
        return -1;
    }
    if (read_by(fd, (char *)h + 8, sizeof *h - 8, deadline) != 0) {
        RM_WARN("rejected a client: no complete hello within %d ms", HELLO_MS);
        return -1;
    }
    h->token[RM_TOKEN_MAX - 1] = h->host[sizeof h->host - 1] = h->program[sizeof h->program - 1] = 0;
    const char *want = L->cfg->token ? L->cfg->token : "";
    if (!token_equal(want, h->token)) {
        reject(fd, RM_ERR_AUTH, "%s", "authentication failed: wrong or missing REMORA_TOKEN");
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

static void close_listeners_in_child(listener_t *L, int keep_fd)
{
    for (int i = 0; i < L->nl; i++)
        close(rm_listener_fd(L->l[i]));
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L->sessions[i].ctl_fd >= 0 && L->sessions[i].ctl_fd != keep_fd)
            close(L->sessions[i].ctl_fd);
}

static session_t *new_session(listener_t *L, const rm_hello_t *h, int client_fd)
{
    session_t *s = NULL;
    for (int i = 0; i < MAX_SESSIONS && !s; i++)
        if (L->sessions[i].ctl_fd < 0)
            s = &L->sessions[i];
    if (!s)
        return NULL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return NULL;
    s->id = ++L->next_id;
    if (getrandom(s->key, sizeof s->key, 0) != (ssize_t)sizeof s->key) {
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
        close_listeners_in_child(L, -1);
        close(client_fd); /* it arrives again over sv[1]; a second copy would hide hang-ups */
        rm_worker_main(sv[1], L->cfg, s->id);
    }
    close(sv[1]);
    s->pid = pid;
    s->ctl_fd = sv[0];
    RM_INFO("session %llu: pid %u on %s (%s), worker %d", (unsigned long long)s->id, h->pid, h->host,
            h->program, (int)pid);
    return s;
}

static void handle_conn(listener_t *L, int fd, rm_scheme scheme)
{
    rm_hello_t h;
    if (read_hello(L, fd, &h) != 0)
        goto close_fd;
    session_t *s;
    if (h.session_id == 0) {
        s = new_session(L, &h, fd);
        if (!s) {
            reject(fd, RM_ERR_NOMEM, "%s", "server cannot start a session worker");
            goto close_fd;
        }
    } else {
        s = find_session(L, h.session_id);
        if (!s || memcmp(s->key, h.session_key, RM_KEY_LEN) != 0) {
            reject(fd, RM_ERR_AUTH, "%s", "unknown session or wrong session key");
            goto close_fd;
        }
    }
    rm_channel_msg_t m = {.hello = h, .scheme = scheme};
    m.welcome = (rm_welcome_t){.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .status = RM_OK,
                               .features = RM_FEAT_SHM_SEGMENT, .session_id = s->id};
    memcpy(m.welcome.session_key, s->key, RM_KEY_LEN);
    if (rm_sock_send_fds(s->ctl_fd, &fd, 1, &m, sizeof m) != RM_OK)
        reject(fd, RM_ERR_IO, "%s", "session worker is gone");
close_fd:
    close(fd);
}

static void reap(listener_t *L, session_t *s)
{
    int status = 0;
    close(s->ctl_fd);
    s->ctl_fd = -1;
    waitpid(s->pid, &status, 0);
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
        if (a.scheme == RM_SCHEME_TCP)
            snprintf(buf, sizeof buf, "tcp://%s:%d", a.host, rm_listener_port(L->l[i]));
        else
            snprintf(buf, sizeof buf, "shm://%s", a.path);
        RM_INFO("listening on %s", buf);
        if (ready)
            fprintf(ready, "%s\n", buf);
    }
    if (ready && (fclose(ready) != 0 || rename(tmp, L->cfg->ready_file) != 0)) {
        RM_ERROR("cannot write %s", L->cfg->ready_file);
        return -1;
    }
    return 0;
}

static void poll_once(listener_t *L)
{
    struct pollfd p[RM_MAX_LISTEN + MAX_SESSIONS];
    session_t *owner[RM_MAX_LISTEN + MAX_SESSIONS];
    int n = 0;
    for (int i = 0; i < L->nl; i++, n++)
        p[n] = (struct pollfd){.fd = rm_listener_fd(L->l[i]), .events = POLLIN}, owner[n] = NULL;
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L->sessions[i].ctl_fd >= 0)
            p[n] = (struct pollfd){.fd = L->sessions[i].ctl_fd, .events = POLLIN}, owner[n++] = &L->sessions[i];
    if (poll(p, (nfds_t)n, 500) <= 0)
        return;
    for (int i = 0; i < n; i++) {
        if (!p[i].revents)
            continue;
        if (owner[i]) { /* a worker's control socket only ever reports its exit */
            reap(L, owner[i]);
            continue;
        }
        int fd;
        if (rm_listener_accept(L->l[i], &fd) == RM_OK)
            handle_conn(L, fd, L->scheme[i]);
    }
}

rm_status rm_listener_run(const rm_server_cfg_t *cfg)
{
    static listener_t L;
    L.cfg = cfg;
    for (int i = 0; i < MAX_SESSIONS; i++)
        L.sessions[i].ctl_fd = -1;
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rm_status st = open_all(&L) == 0 ? RM_OK : RM_ERR_ADDR;
    while (st == RM_OK && !stop_requested)
        poll_once(&L);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (L.sessions[i].ctl_fd >= 0) {
            kill(L.sessions[i].pid, SIGTERM);
            reap(&L, &L.sessions[i]);
        }
    for (int i = 0; i < L.nl; i++)
        rm_listener_close(L.l[i]);
    RM_INFO("server stopped");
    return st;
}
