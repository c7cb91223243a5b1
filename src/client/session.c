/* Client session: server addresses from REMORA_SERVER (a comma-separated
 * list; or Cricket's REMOTE_GPU_ADDRESS, a bare host name), token from
 * REMORA_TOKEN, and the versioned hello/welcome handshake on each new
 * connection, answered within REMORA_CONNECT_TIMEOUT; the channel's socket
 * then keeps REMORA_CALL_TIMEOUT as its timeout (see rm_sock_set_timeout).
 * Each server of the list holds a session of its own, whose handles carry
 * the server's index (RM_HANDLE_TAG_SHIFT). */
#include "session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "hello_exchange.h"
#include "secret.h"
#include "remora/protocol.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t connecting = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t servers_once = PTHREAD_ONCE_INIT;
static rm_status servers_status;
static int nservers;
static rm_addr_t addrs[RM_MAX_SERVERS];
static struct {
    uint64_t session_id;
    uint8_t session_key[RM_KEY_LEN];
} servers[RM_MAX_SERVERS];
static unsigned generation = 1;
static unsigned moves[RM_MAX_SERVERS]; /* how often each server's session migrated (lock) */

static void after_fork_child(void)
{
    /* The child is a new client: it must not use the parent's sessions. */
    pthread_mutex_init(&lock, NULL);
    pthread_mutex_init(&connecting, NULL);
    for (int i = 0; i < nservers; i++)
        servers[i].session_id = 0;
    generation++;
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

unsigned rm_session_generation(void) { return __atomic_load_n(&generation, __ATOMIC_ACQUIRE); }

/* REMORA_SERVER, else REMOTE_GPU_ADDRESS, else the default. */
static const char *server_list(char *buf, size_t len)
{
    const char *s = getenv("REMORA_SERVER");
    if (s && *s)
        return s;
    const char *host = getenv("REMOTE_GPU_ADDRESS");
    if (host && *host && !strstr(host, "://") && !strchr(host, ':')) {
        snprintf(buf, len, "tcp://%s:%d", host, RM_DEFAULT_PORT);
        return buf;
    }
    return host && *host ? host : RM_DEFAULT_SERVER;
}

static void parse_servers(void)
{
    char buf[300];
    const char *list = server_list(buf, sizeof buf);
    servers_status = rm_addr_parse_list(list, addrs, RM_MAX_SERVERS, &nservers);
    if (servers_status != RM_OK)
        RM_ERROR("bad server address '%s' (REMORA_SERVER): %s", list, rm_status_str(servers_status));
}

int rm_session_servers(void)
{
    pthread_once(&servers_once, parse_servers);
    return servers_status == RM_OK ? nservers : 1;
}

static void fill_hello(rm_hello_t *h)
{
    memset(h, 0, sizeof *h);
    h->magic = RM_PROTO_MAGIC;
    h->version = RM_PROTO_VERSION;
    h->features = RM_FEAT_SHM_SEGMENT | (rm_session_migratable() ? RM_FEAT_MIGRATABLE : 0);
    h->pid = (uint32_t)getpid();
    const char *token = getenv("REMORA_TOKEN");
    if (token)
        snprintf(h->token, sizeof h->token, "%s", token);
    gethostname(h->host, sizeof h->host - 1);
    FILE *f = fopen("/proc/self/comm", "r");
    if (f) {
        if (fgets(h->program, sizeof h->program, f))
            h->program[strcspn(h->program, "\n")] = 0;
        fclose(f);
    }
}

/* The hello out and the welcome in (inside TLS #1 over tls://), or why
 * not: a server that accepts and then stays silent (stopped, overloaded,
 * not remora) is named with the deadline. */
static rm_status exchange(int fd, const rm_addr_t *a, const char *where, const rm_hello_t *h, rm_welcome_t *w)
{
    rm_status st = rm_hello_exchange(fd, a, h, w, NULL);
    if (st == RM_ERR_TIMEOUT)
        RM_ERROR("remora server %s accepted the connection but did not answer the handshake within %llu s "
                 "(REMORA_CONNECT_TIMEOUT): is it stopped or overloaded?",
                 where, (unsigned long long)rm_connect_timeout_s());
    else if (st != RM_OK)
        RM_ERROR("no answer from remora server at %s: %s", where, rm_status_str(st));
    return st;
}

/* Send the hello on fd and read an RM_OK welcome (*w); refusals are
 * logged unless quiet (the caller then says what it makes of them). */
static rm_status handshake_as(int srv, int fd, const char *where, uint32_t slot, uint32_t incarnation,
                              uint32_t features, int quiet, rm_welcome_t *w)
{
    rm_hello_t h;
    fill_hello(&h);
    h.features |= features;
    h.channel = slot;
    h.incarnation = incarnation;
    h.handle_tag = (uint32_t)srv;
    if (addrs[srv].scheme == RM_SCHEME_TLS)
        h.features |= RM_FEAT_TLS;
    pthread_mutex_lock(&lock);
    h.session_id = features & RM_FEAT_RESTORE ? 0 : servers[srv].session_id;
    memcpy(h.session_key, servers[srv].session_key, RM_KEY_LEN);
    pthread_mutex_unlock(&lock);
    rm_status st = exchange(fd, &addrs[srv], where, &h, w);
    if (st != RM_OK)
        return st;
    if (w->magic != RM_PROTO_MAGIC) {
        RM_ERROR("the peer at the server address is not a remora server");
        return RM_ERR_PROTO;
    }
    if (w->status != RM_OK) {
        w->message[sizeof w->message - 1] = 0;
        if (!quiet)
            RM_ERROR("remora server refused the connection: %s", w->message);
        return w->status < RM_STATUS_COUNT ? (rm_status)w->status : RM_ERR_PROTO;
    }
    return RM_OK;
}

static rm_status handshake(int srv, int fd, const char *where, uint32_t slot, uint32_t incarnation)
{
    rm_welcome_t w;
    rm_status st = handshake_as(srv, fd, where, slot, incarnation, 0, 0, &w);
    if (st != RM_OK)
        return st;
    pthread_mutex_lock(&lock);
    if (servers[srv].session_id == 0) {
        servers[srv].session_id = w.session_id;
        memcpy(servers[srv].session_key, w.session_key, RM_KEY_LEN);
    }
    pthread_mutex_unlock(&lock);
    return RM_OK;
}

uint64_t rm_session_call_timeout_s(void)
{
    uint64_t s = rm_env_number("REMORA_CALL_TIMEOUT", 0, RM_TIMEOUT_MAX_S);
    return s && s < RM_CALL_TIMEOUT_MIN_S ? RM_CALL_TIMEOUT_MIN_S : s;
}

/* A token the hello cannot carry whole would be cut and never match. */
static rm_status check_token(void)
{
    const char *token = getenv("REMORA_TOKEN");
    if (!rm_token_too_long(token))
        return RM_OK;
    RM_ERROR("REMORA_TOKEN is %zu bytes long; tokens are at most %d bytes", strlen(token), RM_TOKEN_LEN_MAX);
    return RM_ERR_AUTH;
}

/* Dial, handshake under the connect deadline, then the stream under the
 * call deadline. */
static rm_status connect_locked(int srv, uint32_t slot, uint32_t incarnation, rm_conn_t **out)
{
    char where[300];
    int fd;
    const rm_addr_t *a = &addrs[srv];
    rm_addr_format(a, where, sizeof where);
    rm_status st = rm_sock_dial(a, rm_connect_timeout_s() * 1000, &fd);
    if (st != RM_OK) {
        RM_ERROR("cannot reach remora server %s: %s (is remora-server running? set REMORA_SERVER)", where,
                 rm_status_str(st));
        return st;
    }
    if ((st = handshake(srv, fd, where, slot, incarnation)) != RM_OK ||
        (st = rm_sock_set_timeout(fd, rm_session_call_timeout_s() * 1000)) != RM_OK) {
        close(fd);
        return st;
    }
    return rm_conn_open(a->scheme, fd, RM_ROLE_CLIENT, out);
}

rm_status rm_session_connect(int srv, uint32_t slot, uint32_t incarnation, rm_conn_t **out, rm_scheme *scheme)
{
    rm_status st = check_token();
    if (st == RM_OK) {
        rm_session_servers(); /* parses the list once */
        st = servers_status;
    }
    if (st == RM_OK && (srv < 0 || srv >= nservers))
        st = RM_ERR_INVAL;
    if (st != RM_OK)
        return st;
    /* The first connection creates the session: serialise it so that
     * threads starting together join one session instead of making several. */
    pthread_mutex_lock(&connecting);
    st = connect_locked(srv, slot, incarnation, out);
    pthread_mutex_unlock(&connecting);
    if (st == RM_OK)
        *scheme = addrs[srv].scheme;
    return st;
}

const char *rm_session_restore_dir(void)
{
    const char *d = getenv("REMORA_RESTORE_FROM");
    return d && *d ? d : NULL;
}

int rm_session_migratable(void)
{
    const char *m = getenv("REMORA_MIGRATABLE");
    return m && *m && strcmp(m, "0") != 0;
}

int rm_session_resumable(void) { return rm_session_restore_dir() || rm_session_migratable(); }

rm_status rm_session_moved(int srv, const char *to)
{
    rm_addr_t a;
    rm_status st = rm_addr_parse(to, &a);
    if (st != RM_OK) {
        RM_ERROR("the server moved the session to '%s', which is not an address", to);
        return st;
    }
    pthread_mutex_lock(&connecting);
    pthread_mutex_lock(&lock);
    if (a.scheme == RM_SCHEME_TCP) {
        addrs[srv] = a;
        moves[srv]++;
    } else {
        st = RM_ERR_NOT_SUPPORTED;
    }
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&connecting);
    if (st == RM_OK)
        RM_WARN("remora-server moved the session to %s: this program runs there from now on", to);
    else
        RM_ERROR("the server moved the session to %s: a program follows its session to tcp:// addresses only", to);
    return st;
}

int rm_session_has_moved(int srv)
{
    pthread_mutex_lock(&lock);
    int n = moves[srv] != 0;
    pthread_mutex_unlock(&lock);
    return n;
}

/* Ask the server to restore the session from REMORA_RESTORE_FROM: RM_OK
 * also when it holds the session already (another thread asked first). */
static rm_status ask_restore(int srv, const char *where, char *why, size_t n)
{
    int fd;
    rm_welcome_t w;
    rm_status st = rm_sock_dial(&addrs[srv], rm_connect_timeout_s() * 1000, &fd);
    if (st != RM_OK)
        return st;
    rm_ckpt_request_t *req = calloc(1, sizeof *req);
    rm_ckpt_reply_t rep;
    if (!req)
        st = RM_ERR_NOMEM;
    if (st == RM_OK && (st = handshake_as(srv, fd, where, 0, 0, RM_FEAT_RESTORE, 1, &w)) == RM_OK) {
        snprintf(req->dir, sizeof req->dir, "%s", rm_session_restore_dir());
        if ((st = rm_sock_set_timeout(fd, 0)) == RM_OK && (st = rm_sock_write_all(fd, req, sizeof *req)) == RM_OK)
            st = rm_sock_read_all(fd, &rep, sizeof rep);
        if (st == RM_OK && rep.status != RM_OK && rep.status != RM_ERR_LIMIT) { /* LIMIT: running already */
            rep.message[sizeof rep.message - 1] = 0;
            snprintf(why, n, "%s", rep.message);
            st = RM_ERR_INVAL;
        }
    } else if (st != RM_OK) {
        snprintf(why, n, "%s", w.message);
    }
    free(req);
    close(fd);
    return st;
}

rm_status rm_session_rejoin(int srv, uint32_t slot, uint32_t incarnation, rm_conn_t **out, uint64_t *resume_done)
{
    char where[300], why[256] = "";
    const rm_addr_t *a = &addrs[srv];
    rm_addr_format(a, where, sizeof where);
    uint64_t wait_ms = rm_env_number("REMORA_RESTORE_WAIT", 60, RM_TIMEOUT_MAX_S) * 1000, waited = 0;
    rm_status st = RM_ERR_CLOSED;
    int asked = 0;
    pthread_mutex_lock(&connecting);
    for (; waited <= wait_ms; waited += 200) {
        int fd;
        rm_welcome_t w;
        if ((st = rm_sock_dial(a, rm_connect_timeout_s() * 1000, &fd)) == RM_OK) {
            st = handshake_as(srv, fd, where, slot, incarnation, RM_FEAT_RESUME, 1, &w);
            if (st == RM_OK && (st = rm_sock_set_timeout(fd, rm_session_call_timeout_s() * 1000)) == RM_OK) {
                *resume_done = w.resume_done;
                st = rm_conn_open(a->scheme, fd, RM_ROLE_CLIENT, out);
                break;
            }
            close(fd);
            if (st == RM_ERR_AUTH && !asked && rm_session_restore_dir()) { /* the server does not hold it: restore it */
                asked = 1;
                if ((st = ask_restore(srv, where, why, sizeof why)) == RM_OK)
                    continue;
                if (st == RM_ERR_INVAL || st == RM_ERR_AUTH || st == RM_ERR_VERSION)
                    break; /* a bad checkpoint, or a server that will not */
                asked = 0;
            }
        }
        usleep(200 * 1000);
    }
    pthread_mutex_unlock(&connecting);
    if (st != RM_OK)
        RM_ERROR("could not resume the session on remora server %s%s%s: %s%s%s", where,
                 rm_session_restore_dir() ? " from " : "", rm_session_restore_dir() ? rm_session_restore_dir() : "",
                 rm_status_str(st), why[0] ? ": " : "", why);
    return st;
}
