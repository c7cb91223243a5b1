/* Client session: server address from REMORA_SERVER (or Cricket's
 * REMOTE_GPU_ADDRESS, a bare host name), token from REMORA_TOKEN, and the
 * versioned hello/welcome handshake on each new connection. */
#include "session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "remora/protocol.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t connecting = PTHREAD_MUTEX_INITIALIZER;
static uint64_t session_id;
static uint8_t session_key[RM_KEY_LEN];
static unsigned generation = 1;

static void after_fork_child(void)
{
    /* The child is a new client: it must not use the parent's session. */
    pthread_mutex_init(&lock, NULL);
    pthread_mutex_init(&connecting, NULL);
    session_id = 0;
    generation++;
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

unsigned rm_session_generation(void) { return __atomic_load_n(&generation, __ATOMIC_ACQUIRE); }

static rm_status server_address(rm_addr_t *a)
{
    const char *s = getenv("REMORA_SERVER");
    char buf[300];
    if (!s || !*s) {
        const char *host = getenv("REMOTE_GPU_ADDRESS");
        if (host && *host && !strstr(host, "://") && !strchr(host, ':')) {
            snprintf(buf, sizeof buf, "tcp://%s:%d", host, RM_DEFAULT_PORT);
            s = buf;
        } else {
            s = host && *host ? host : RM_DEFAULT_SERVER;
        }
    }
    rm_status st = rm_addr_parse(s, a);
    if (st != RM_OK)
        RM_ERROR("bad server address '%s' (REMORA_SERVER): %s", s, rm_status_str(st));
    return st;
}

static void fill_hello(rm_hello_t *h)
{
    memset(h, 0, sizeof *h);
    h->magic = RM_PROTO_MAGIC;
    h->version = RM_PROTO_VERSION;
    h->features = RM_FEAT_SHM_SEGMENT;
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

static rm_status handshake(int fd, const rm_addr_t *a, uint32_t slot, uint32_t incarnation)
{
    rm_hello_t h;
    rm_welcome_t w;
    fill_hello(&h);
    h.channel = slot;
    h.incarnation = incarnation;
    pthread_mutex_lock(&lock);
    h.session_id = session_id;
    memcpy(h.session_key, session_key, RM_KEY_LEN);
    pthread_mutex_unlock(&lock);
    rm_status st = rm_sock_write_all(fd, &h, sizeof h);
    if (st == RM_OK)
        st = rm_sock_read_all(fd, &w, sizeof w);
    if (st != RM_OK) {
        RM_ERROR("no answer from remora server at %s: %s", a->scheme == RM_SCHEME_TCP ? a->host : a->path,
                 rm_status_str(st));
        return st;
    }
    if (w.magic != RM_PROTO_MAGIC) {
        RM_ERROR("the peer at the server address is not a remora server");
        return RM_ERR_PROTO;
    }
    if (w.status != RM_OK) {
        w.message[sizeof w.message - 1] = 0;
        RM_ERROR("remora server refused the connection: %s", w.message);
        return w.status < RM_STATUS_COUNT ? (rm_status)w.status : RM_ERR_PROTO;
    }
    pthread_mutex_lock(&lock);
    if (session_id == 0) {
        session_id = w.session_id;
        memcpy(session_key, w.session_key, RM_KEY_LEN);
    }
    pthread_mutex_unlock(&lock);
    return RM_OK;
}

rm_status rm_session_connect(uint32_t slot, uint32_t incarnation, rm_conn_t **out, rm_scheme *scheme)
{
    rm_addr_t a;
    int fd;
    rm_status st = server_address(&a);
    if (st != RM_OK)
        return st;
    /* The first connection creates the session: serialise it so that
     * threads starting together join one session instead of making several. */
    pthread_mutex_lock(&connecting);
    if ((st = rm_sock_dial(&a, &fd)) != RM_OK) {
        RM_ERROR("cannot reach remora server %s%s: %s (is remora-server running? set REMORA_SERVER)",
                 a.scheme == RM_SCHEME_TCP ? "tcp://" : "shm://", a.scheme == RM_SCHEME_TCP ? a.host : a.path,
                 rm_status_str(st));
    } else if ((st = handshake(fd, &a, slot, incarnation)) != RM_OK) {
        close(fd);
    } else {
        st = rm_conn_open(a.scheme, fd, RM_ROLE_CLIENT, out);
        *scheme = a.scheme;
    }
    pthread_mutex_unlock(&connecting);
    return st;
}
