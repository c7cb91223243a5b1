/* TLS transport: an OpenSSL connection on the TCP socket, through
 * remora's socket BIO (tls_bio.h: no SIGPIPE, reads that spin before they
 * sleep). Small pieces of one writev are gathered into one record (one
 * SSL_write); big buffers go to SSL_write as they are. OpenSSL reads
 * ahead into a buffer of several records, so a batch of messages, or a
 * bulk copy, costs few system calls. AES-GCM comes first (AES-NI), and
 * kernel TLS takes the encryption of the sends where the kernel offers it
 * (REMORA_TLS_KTLS). See tls.h for the configuration. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls_bio.h"
#include "tls_resume.h"
#include "remora/protocol.h"
#include "transport.h"

#define RM_TLS_GATHER (16u << 10)  /* one TLS record's payload at most */
#define RM_TLS_READ_BUF (256u << 10) /* what one read of the socket may take: many records */
/* AES-GCM first: AES-NI makes it the fastest on the machines remora runs
 * on; ChaCha20 stays for peers without it. */
#define RM_TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define RM_TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!MD5:!DSS"

typedef struct {
    rm_conn_t base;
    SSL *ssl;
    char host[256]; /* client: the server's name, for its kept session */
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

/* REMORA_TLS_KTLS (tls.h) */
static int ktls_wanted(void) { return rm_env_number("REMORA_TLS_KTLS", 1, 1) == 1; }

static SSL_CTX *new_ctx(const SSL_METHOD *m)
{
    SSL_CTX *ctx = SSL_CTX_new(m);
    if (ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
        SSL_CTX_set_ciphersuites(ctx, RM_TLS13_SUITES) == 1 && SSL_CTX_set_cipher_list(ctx, RM_TLS12_CIPHERS) == 1) {
        SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
        SSL_CTX_set_read_ahead(ctx, 1);
        SSL_CTX_set_default_read_buffer_len(ctx, RM_TLS_READ_BUF);
        SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | /* a peer that exits is a close */
                                     (ktls_wanted() ? SSL_OP_ENABLE_KTLS : 0));
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
    rm_tls_resume_server(ctx);
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
    rm_tls_resume_client(ctx);
    client_ctx = ctx;
    client_status = RM_OK;
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
    BIO *bio = ssl ? rm_tls_bio_new(fd, !hello_only) : NULL;
    if (bio)
        SSL_set_bio(ssl, bio, bio); /* the SSL owns it now */
    if (!bio || (role == RM_ROLE_CLIENT && !expect_peer(ssl))) {
        RM_ERROR("tls: cannot start a connection (out of memory?)");
        SSL_free(ssl);
        free(c);
        *st = RM_ERR_NOMEM;
        return NULL;
    }
    if (role == RM_ROLE_CLIENT) {
        snprintf(c->host, sizeof c->host, "%s", expect_host);
        rm_tls_resume_offer(ssl, c->host);
    }
    if (hello_only) { /* kernel TLS would stay on the socket, under TLS #2 */
        SSL_set_read_ahead(ssl, 0);
        SSL_clear_options(ssl, SSL_OP_ENABLE_KTLS);
    }
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
    int rc = st != RM_OK ? 0 : role == RM_ROLE_CLIENT ? SSL_connect(c->ssl) : SSL_accept(c->ssl);
    if (st == RM_OK && rc != 1)
        st = handshake_error(c->ssl, rc, role, deadline);
    return st == RM_OK ? rm_sock_set_timeout(fd, keep) : st;
}

/* What carries the stream, for the log: the protocol, the cipher, and
 * whether the kernel encrypts (kernel TLS) or OpenSSL does. */
static void log_crypto(SSL *ssl)
{
    BIO *b = SSL_get_wbio(ssl);
    int ktx = BIO_get_ktls_send(b), krx = BIO_get_ktls_recv(b);
    int tried = (SSL_get_options(ssl) & SSL_OP_ENABLE_KTLS) != 0;
    RM_INFO("tls: %s %s, %s, encryption: %s", SSL_get_version(ssl), SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)),
            SSL_session_reused(ssl) ? "session resumed" : "full handshake",
            ktx && krx  ? "kernel TLS (send and receive)"
            : ktx       ? "kernel TLS sends, OpenSSL receives"
            : krx       ? "OpenSSL sends, kernel TLS receives"
            : tried ? "OpenSSL (no kernel TLS here: the tls module is not loaded, or the cipher is not one it takes)"
                                   : "OpenSSL (REMORA_TLS_KTLS=0)");
}

static rm_status tls_open(int fd, rm_role role, rm_conn_t **out)
{
    rm_status st;
    rm_sock_bulk_buffers(fd);
    tls_conn_t *c = new_conn(fd, role, 0, &st);
    if (!c)
        return st;
    if ((st = handshake(c, role)) != RM_OK) {
        free_conn(c);
        return st;
    }
    log_crypto(c->ssl);
    *out = &c->base;
    return RM_OK;
}

/* Whether the server answers in TLS: else its first byte is a remora
 * welcome's in clear, from a listener that does not speak TLS. The
 * ClientHello is sent first, without waiting; while OpenSSL waits for the
 * server, the next byte is either a TLS record's or the welcome's (a
 * plain listener answers a ClientHello with a refusal in clear). */
static rm_status server_speaks_tls(tls_conn_t *c, int *tls)
{
    static const uint32_t magic = RM_PROTO_MAGIC;
    int fd = c->base.fd;
    unsigned char first;
    /* reads held: the ClientHello goes, and OpenSSL reads nothing, even
     * when a plain server's answer is already there */
    rm_tls_bio_hold_reads(SSL_get_rbio(c->ssl), 1);
    int rc = SSL_connect(c->ssl);
    rm_tls_bio_hold_reads(SSL_get_rbio(c->ssl), 0);
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
    int rc = SSL_shutdown(c->ssl);
    if (rc == 0)
        rc = SSL_shutdown(c->ssl); /* waits for the server's close_notify */
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
        int rc = SSL_write(c->ssl, p, chunk);
            if (rc <= 0)
            return ssl_error(c->ssl, rc, "write");
        p = (const char *)p + rc;
        n -= (size_t)rc;
    }
    return RM_OK;
}

/* What the socket BIO gathered goes out. */
static rm_status flush_bio(tls_conn_t *c)
{
    if (BIO_flush(SSL_get_wbio(c->ssl)) == 1)
        return RM_OK;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return RM_ERR_TIMEOUT;
    return errno == EPIPE || errno == ECONNRESET ? RM_ERR_CLOSED : RM_ERR_IO;
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
    if (st == RM_OK)
        st = write_some(c, c->out, used);
    return st == RM_OK ? flush_bio(c) : st;
}

static rm_status tls_read(rm_conn_t *conn, void *p, size_t n)
{
    tls_conn_t *c = (tls_conn_t *)conn;
    while (n > 0) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
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
