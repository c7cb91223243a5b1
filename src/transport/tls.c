/* TLS transport: an OpenSSL connection on the TCP socket. Small pieces of
 * one writev are gathered into one record (one SSL_write); big buffers go
 * to SSL_write as they are. OpenSSL reads ahead, so a batch of messages
 * costs few system calls. See tls.h for the configuration. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "remora/protocol.h"
#include "transport.h"

#define RM_TLS_GATHER (16u << 10) /* one TLS record's payload at most */

typedef struct {
    rm_conn_t base;
    SSL *ssl;
    char out[RM_TLS_GATHER];
} tls_conn_t;

static rm_status tls_writev(rm_conn_t *conn, const struct iovec *iov, int iovcnt);

static SSL_CTX *server_ctx;
static SSL_CTX *client_ctx;
static rm_status client_status = RM_ERR_INVAL;
static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static _Thread_local char expect_host[256];

void rm_tls_expect_host(const char *host) { snprintf(expect_host, sizeof expect_host, "%s", host); }

/* OpenSSL's newest queued reason, or fallback; the queue is emptied. */
static const char *ssl_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "%s", fallback);
    ERR_clear_error();
    return buf;
}

static rm_status load_pair(SSL_CTX *ctx, const char *cert, const char *key, const char *who)
{
    char why[256];
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        RM_ERROR("tls: %s certificate %s: %s", who, cert, ssl_reason(why, sizeof why, "unreadable"));
        return RM_ERR_INVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        RM_ERROR("tls: %s key %s: %s", who, key, ssl_reason(why, sizeof why, "unreadable or not the certificate's"));
        return RM_ERR_INVAL;
    }
    return RM_OK;
}

static rm_status load_ca(SSL_CTX *ctx, const char *ca, const char *what)
{
    char why[256];
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        RM_ERROR("tls: %s %s: %s", what, ca, ssl_reason(why, sizeof why, "unreadable"));
        return RM_ERR_INVAL;
    }
    return RM_OK;
}

static SSL_CTX *new_ctx(const SSL_METHOD *m)
{
    SSL_CTX *ctx = SSL_CTX_new(m);
    if (ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1) {
        SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
        SSL_CTX_set_read_ahead(ctx, 1);
        SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF); /* a peer that exits is a close */
        return ctx;
    }
    SSL_CTX_free(ctx);
    RM_ERROR("tls: cannot set up OpenSSL");
    return NULL;
}

rm_status rm_tls_server_setup(const char *cert, const char *key, const char *client_ca)
{
    if (!cert || !key) {
        RM_ERROR("tls: a tls:// listener needs --tls-cert FILE and --tls-key FILE");
        return RM_ERR_INVAL;
    }
    SSL_CTX *ctx = new_ctx(TLS_server_method());
    if (!ctx)
        return RM_ERR_NOMEM;
    rm_status st = load_pair(ctx, cert, key, "server");
    if (st == RM_OK && client_ca && (st = load_ca(ctx, client_ca, "--tls-client-ca")) == RM_OK)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    if (st != RM_OK) {
        SSL_CTX_free(ctx);
        return st;
    }
    SSL_CTX_free(server_ctx);
    server_ctx = ctx;
    return RM_OK;
}

static void client_setup(void)
{
    const char *ca = getenv("REMORA_TLS_CA"), *cert = getenv("REMORA_TLS_CERT"), *key = getenv("REMORA_TLS_KEY");
    if (!ca || !*ca) {
        RM_ERROR("tls: set REMORA_TLS_CA to the CA certificate(s) that signed the server's certificate");
        return;
    }
    if ((cert && *cert) != (key && *key)) {
        RM_ERROR("tls: set both REMORA_TLS_CERT and REMORA_TLS_KEY, or neither");
        return;
    }
    SSL_CTX *ctx = new_ctx(TLS_client_method());
    if (!ctx) {
        client_status = RM_ERR_NOMEM;
        return;
    }
    rm_status st = load_ca(ctx, ca, "REMORA_TLS_CA");
    if (st == RM_OK && cert && *cert)
        st = load_pair(ctx, cert, key, "client (REMORA_TLS_CERT/REMORA_TLS_KEY)");
    if (st != RM_OK) {
        SSL_CTX_free(ctx);
        return;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    client_ctx = ctx;
    client_status = RM_OK;
}

/* OpenSSL writes to the socket with write(2), not send(MSG_NOSIGNAL): around
 * every SSL call that may write, SIGPIPE is blocked in this thread, and one
 * that a dead peer raised meanwhile is taken back, so the host program never
 * sees it (one already pending before is left for it). */
typedef struct {
    sigset_t old;
    int was_pending;
} sigpipe_guard_t;

static void sigpipe_block(sigpipe_guard_t *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void sigpipe_restore(const sigpipe_guard_t *g)
{
    int e = errno;
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec now = {0, 0};
        sigtimedwait(&pipe_set, NULL, &now);
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
    errno = e;
}

/* A failed SSL call as a status: a clean close, the socket's timeout, a
 * dead peer, or a TLS error (logged with OpenSSL's reason). */
static rm_status ssl_error(SSL *ssl, int rc, const char *what)
{
    char why[256];
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_ZERO_RETURN)
        return RM_ERR_CLOSED;
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return RM_ERR_TIMEOUT;
        return errno == 0 || errno == EPIPE || errno == ECONNRESET ? RM_ERR_CLOSED : RM_ERR_IO;
    }
    ssl_reason(why, sizeof why, "protocol error");
    RM_ERROR("tls: %s: %s%s", what, why,
             strstr(why, "certificate required")
                 ? " (the server requires a client certificate: set REMORA_TLS_CERT and REMORA_TLS_KEY)"
                 : "");
    return RM_ERR_PROTO;
}

/* The handshake failed: say why in words a user can act on. */
static rm_status handshake_error(SSL *ssl, int rc, rm_role role, uint64_t deadline_ms)
{
    char why[256];
    long v = SSL_get_verify_result(ssl);
    const char *peer = role == RM_ROLE_CLIENT ? "server" : "client";
    int e = SSL_get_error(ssl, rc);
    if (v != X509_V_OK) {
        ERR_clear_error();
        RM_ERROR("tls: the %s's certificate failed verification: %s", peer, X509_verify_cert_error_string(v));
        return RM_ERR_PROTO;
    }
    if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ) && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ERR_clear_error();
        RM_ERROR("tls: no TLS handshake from the %s within %llu ms: does it speak TLS (tls:// on both sides)?", peer,
                 (unsigned long long)deadline_ms);
        return RM_ERR_TIMEOUT;
    }
    if (e == SSL_ERROR_SYSCALL) {
        ERR_clear_error();
        RM_ERROR("tls: the %s closed the connection during the TLS handshake: does it speak TLS (tls:// on both "
                 "sides)?", peer);
        return RM_ERR_CLOSED;
    }
    ssl_reason(why, sizeof why, "protocol error");
    RM_ERROR("tls: handshake with the %s failed: %s%s", peer, why,
             strstr(why, "wrong version number") || strstr(why, "packet length too long")
                 ? " (the peer does not speak TLS: tls:// on both sides?)"
                 : "");
    return RM_ERR_PROTO;
}

/* Names the certificate must carry: the address's host, as a DNS name or
 * an IP address. */
static int expect_peer(SSL *ssl)
{
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, expect_host, ip) == 1 || inet_pton(AF_INET6, expect_host, ip) == 1;
    if (is_ip)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), expect_host) == 1;
    return SSL_set_tlsext_host_name(ssl, expect_host) == 1 && SSL_set1_host(ssl, expect_host) == 1;
}

/* A connection on fd of role's context, not yet shaken hands; NULL (logged)
 * when there is none. TLS #1 (hello_only) reads no byte past its own
 * records, so that what follows stays in the socket for TLS #2. */
static tls_conn_t *new_conn(int fd, rm_role role, int hello_only, rm_status *st)
{
    if (role == RM_ROLE_CLIENT)
        pthread_once(&client_once, client_setup);
    SSL_CTX *ctx = role == RM_ROLE_CLIENT ? client_ctx : server_ctx;
    if (!ctx) {
        if (role == RM_ROLE_SERVER)
            RM_ERROR("tls: the server has no certificate (--tls-cert, --tls-key)");
        *st = role == RM_ROLE_CLIENT ? client_status : RM_ERR_INVAL;
        return NULL;
    }
    tls_conn_t *c = malloc(sizeof *c);
    SSL *ssl = c ? SSL_new(ctx) : NULL;
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || (role == RM_ROLE_CLIENT && !expect_peer(ssl))) {
        RM_ERROR("tls: cannot start a connection (out of memory?)");
        SSL_free(ssl);
        free(c);
        *st = RM_ERR_NOMEM;
        return NULL;
    }
    if (hello_only)
        SSL_set_read_ahead(ssl, 0);
    c->base.ops = &rm_tls_ops;
    c->base.fd = fd;
    c->ssl = ssl;
    return c;
}

static void free_conn(tls_conn_t *c)
{
    SSL_free(c->ssl);
    free(c);
}

/* The handshake under the connect deadline; the stream then keeps the
 * timeout the caller set. */
static rm_status handshake(tls_conn_t *c, rm_role role)
{
    int fd = c->base.fd;
    uint64_t keep = rm_sock_timeout_ms(fd), deadline = rm_connect_timeout_s() * 1000;
    rm_status st = deadline ? rm_sock_set_timeout(fd, deadline) : RM_OK;
    sigpipe_guard_t g;
    sigpipe_block(&g);
    int rc = st != RM_OK ? 0 : role == RM_ROLE_CLIENT ? SSL_connect(c->ssl) : SSL_accept(c->ssl);
    sigpipe_restore(&g);
    if (st == RM_OK && rc != 1)
        st = handshake_error(c->ssl, rc, role, deadline);
    return st == RM_OK ? rm_sock_set_timeout(fd, keep) : st;
}

static rm_status tls_open(int fd, rm_role role, rm_conn_t **out)
{
    rm_status st;
    tls_conn_t *c = new_conn(fd, role, 0, &st);
    if (!c)
        return st;
    if ((st = handshake(c, role)) != RM_OK) {
        free_conn(c);
        return st;
    }
    *out = &c->base;
    return RM_OK;
}

/* Whether the server answers in TLS: else its first byte is a remora
 * welcome's in clear, from a listener that does not speak TLS. The
 * ClientHello is sent first, without waiting; while OpenSSL waits for the
 * server, the next byte is either a TLS record's or the welcome's. */
static rm_status server_speaks_tls(tls_conn_t *c, int *tls)
{
    static const uint32_t magic = RM_PROTO_MAGIC;
    int fd = c->base.fd, flags = fcntl(fd, F_GETFL);
    unsigned char first;
    sigpipe_guard_t g;
    sigpipe_block(&g);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = SSL_connect(c->ssl);
    fcntl(fd, F_SETFL, flags);
    sigpipe_restore(&g);
    *tls = 1;
    if (rc == 1)
        return RM_OK;
    if (SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ)
        return handshake_error(c->ssl, rc, RM_ROLE_CLIENT, 0);
    uint64_t keep = rm_sock_timeout_ms(fd), deadline = rm_connect_timeout_s() * 1000;
    rm_status st = rm_sock_set_timeout(fd, deadline);
    ssize_t r = st == RM_OK ? recv(fd, &first, 1, MSG_PEEK) : -1;
    if (st == RM_OK && r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        RM_ERROR("tls: no TLS handshake from the server within %llu ms: does it speak TLS (tls:// on both sides)?",
                 (unsigned long long)deadline);
        st = RM_ERR_TIMEOUT;
    } else if (st == RM_OK && r <= 0) {
        RM_ERROR("tls: the server closed the connection during the TLS handshake: does it speak TLS (tls:// on both "
                 "sides)?");
        st = RM_ERR_CLOSED;
    }
    *tls = !(r == 1 && first == *(const unsigned char *)&magic);
    return st == RM_OK ? rm_sock_set_timeout(fd, keep) : st;
}

rm_status rm_tls_hello_open(int fd, rm_conn_t **out)
{
    rm_status st;
    int tls = 0;
    tls_conn_t *c = new_conn(fd, RM_ROLE_CLIENT, 1, &st);
    if (!c)
        return st;
    if ((st = server_speaks_tls(c, &tls)) == RM_OK && tls)
        st = handshake(c, RM_ROLE_CLIENT);
    if (st != RM_OK || !tls) {
        free_conn(c);
        *out = NULL;
        return st;
    }
    *out = &c->base;
    return RM_OK;
}

rm_status rm_tls_hello_close(rm_conn_t *conn)
{
    tls_conn_t *c = (tls_conn_t *)conn;
    sigpipe_guard_t g;
    sigpipe_block(&g);
    int rc = SSL_shutdown(c->ssl);
    if (rc == 0)
        rc = SSL_shutdown(c->ssl); /* waits for the server's close_notify */
    sigpipe_restore(&g);
    rm_status st = rc == 1 ? RM_OK : ssl_error(c->ssl, rc, "closing the handshake's TLS");
    free_conn(c);
    return st;
}

void rm_tls_hello_free(rm_conn_t *c) { free_conn((tls_conn_t *)c); }

/* The listener's TLS #1 (tls.h). */
rm_tls_pending_t *rm_tls_pending_new(int fd)
{
    rm_status unused;
    return (rm_tls_pending_t *)new_conn(fd, RM_ROLE_SERVER, 1, &unused);
}

static int step_result(tls_conn_t *c, int rc, short *events, int in_handshake)
{
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        ERR_clear_error();
        return 0;
    }
    if (in_handshake)
        handshake_error(c->ssl, rc, RM_ROLE_SERVER, 0);
    else
        ERR_clear_error();
    return -1;
}

int rm_tls_pending_accept(rm_tls_pending_t *p, short *events)
{
    tls_conn_t *c = (tls_conn_t *)p;
    int rc = SSL_accept(c->ssl);
    return rc == 1 ? 1 : step_result(c, rc, events, 1);
}

int rm_tls_pending_read(rm_tls_pending_t *p, void *buf, size_t n, size_t *got, short *events)
{
    tls_conn_t *c = (tls_conn_t *)p;
    while (*got < n) {
        int rc = SSL_read(c->ssl, (char *)buf + *got, (int)(n - *got));
        if (rc <= 0)
            return step_result(c, rc, events, 0);
        *got += (size_t)rc;
    }
    return 1;
}

rm_status rm_tls_pending_writev(rm_tls_pending_t *p, const struct iovec *iov, int iovcnt)
{
    tls_conn_t *c = (tls_conn_t *)p;
    int fd = c->base.fd, flags = fcntl(fd, F_GETFL);
    /* a peer that does not read holds the listener a second per write at most */
    struct timeval limit = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    rm_status st = tls_writev(&c->base, iov, iovcnt);
    fcntl(fd, F_SETFL, flags);
    return st;
}

int rm_tls_pending_shutdown(rm_tls_pending_t *p, short *events)
{
    tls_conn_t *c = (tls_conn_t *)p;
    int rc = SSL_shutdown(c->ssl);
    if (rc == 0)
        rc = SSL_shutdown(c->ssl);
    return rc == 1 ? 1 : step_result(c, rc, events, 0);
}

void rm_tls_pending_free(rm_tls_pending_t *p) { free_conn((tls_conn_t *)p); }

static rm_status write_some(tls_conn_t *c, const void *p, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
        sigpipe_guard_t g;
        sigpipe_block(&g);
        int rc = SSL_write(c->ssl, p, chunk);
        sigpipe_restore(&g);
        if (rc <= 0)
            return ssl_error(c->ssl, rc, "write");
        p = (const char *)p + rc;
        n -= (size_t)rc;
    }
    return RM_OK;
}

static rm_status tls_writev(rm_conn_t *conn, const struct iovec *iov, int iovcnt)
{
    tls_conn_t *c = (tls_conn_t *)conn;
    size_t used = 0;
    rm_status st = RM_OK;
    for (int i = 0; i < iovcnt && st == RM_OK; i++) {
        size_t n = iov[i].iov_len;
        if (used + n <= sizeof c->out) {
            memcpy(c->out + used, iov[i].iov_base, n);
            used += n;
            continue;
        }
        if ((st = write_some(c, c->out, used)) == RM_OK)
            used = 0;
        if (st == RM_OK && n < sizeof c->out) {
            memcpy(c->out, iov[i].iov_base, n);
            used = n;
        } else if (st == RM_OK) {
            st = write_some(c, iov[i].iov_base, n);
        }
    }
    return st == RM_OK ? write_some(c, c->out, used) : st;
}

static rm_status tls_read(rm_conn_t *conn, void *p, size_t n)
{
    tls_conn_t *c = (tls_conn_t *)conn;
    while (n > 0) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
        /* no SIGPIPE guard: a read writes only to answer a key update, which
         * remora's peers never ask for */
        int rc = SSL_read(c->ssl, p, chunk);
        if (rc <= 0)
            return ssl_error(c->ssl, rc, "read");
        p = (char *)p + rc;
        n -= (size_t)rc;
    }
    return RM_OK;
}

static void tls_close(rm_conn_t *conn)
{
    tls_conn_t *c = (tls_conn_t *)conn;
    SSL_free(c->ssl);
    close(conn->fd);
    free(c);
}

const rm_transport_ops_t rm_tls_ops = {
    .name = "tls",
    .open = tls_open,
    .writev = tls_writev,
    .read = tls_read,
    .close = tls_close,
};
