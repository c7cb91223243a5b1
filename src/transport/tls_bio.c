/* remora's socket BIO for OpenSSL (see tls_bio.h). */
#include "tls_bio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "transport.h"

#define OUT_CAP (256u << 10) /* records gathered into one send */

typedef struct {
    int fd;
    int stream; /* reads spin, sends are gathered */
    int eof;    /* the peer closed its side */
    int hold;   /* reads take nothing (rm_tls_bio_hold_reads) */
    BIO *sock;  /* OpenSSL's socket BIO on fd: kernel TLS lives there */
    size_t out_len, out_sent; /* out[out_sent, out_len) is still to send */
    char *out;
} bio_state_t;

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

/* OpenSSL's socket BIO writes with write(2), not send(MSG_NOSIGNAL): around
 * each of its sends SIGPIPE is blocked in this thread, and one that a dead
 * peer raised meanwhile is taken back, so the host program never sees it
 * (one already pending before is left for it). */
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

static int retry_errno(void) { return errno == EAGAIN || errno == EWOULDBLOCK; }

/* send(2) of what it can; 0 and the retry flag when the socket would block
 * (non-blocking, or its timeout), 0 when it failed; errno says which. */
static int send_some(BIO *b, const bio_state_t *s, const char *p, size_t n, size_t *done)
{
    for (;;) {
        ssize_t r = send(s->fd, p, n, MSG_NOSIGNAL);
        if (r >= 0) {
            *done = (size_t)r;
            return 1;
        }
        if (errno != EINTR) {
            if (retry_errno())
                BIO_set_retry_write(b);
            return 0;
        }
    }
}

/* Sends what was gathered; 1 when it is all gone. */
static int flush_out(BIO *b, bio_state_t *s)
{
    while (s->out_sent < s->out_len) {
        size_t k;
        if (!send_some(b, s, s->out + s->out_sent, s->out_len - s->out_sent, &k))
            return 0;
        s->out_sent += k;
    }
    s->out_len = s->out_sent = 0;
    return 1;
}

static int bio_write(BIO *b, const char *p, size_t n, size_t *done)
{
    bio_state_t *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (s->out_len && (s->out_len + n > OUT_CAP || BIO_get_ktls_send(s->sock)) && !flush_out(b, s))
        return 0;
    if (BIO_get_ktls_send(s->sock)) {
        sigpipe_guard_t g;
        sigpipe_block(&g);
        int ok = BIO_write_ex(s->sock, p, n, done);
        sigpipe_restore(&g);
        if (!ok && BIO_should_retry(s->sock))
            BIO_set_retry_write(b);
        return ok;
    }
    if (!s->out || n > OUT_CAP)
        return send_some(b, s, p, n, done);
    memcpy(s->out + s->out_len, p, n); /* OpenSSL reuses p for the next record */
    s->out_len += n;
    *done = n;
    return 1;
}

static int bio_read(BIO *b, char *p, size_t n, size_t *done)
{
    bio_state_t *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (s->hold) {
        BIO_set_retry_read(b);
        return 0;
    }
    if (BIO_get_ktls_recv(s->sock)) {
        int ok = BIO_read_ex(s->sock, p, n, done);
        if (!ok && BIO_should_retry(s->sock))
            BIO_set_retry_read(b);
        s->eof = BIO_eof(s->sock);
        return ok;
    }
    for (;;) {
        ssize_t r = s->stream ? rm_sock_recv_soon(s->fd, p, n) : recv(s->fd, p, n, 0);
        if (r > 0) {
            *done = (size_t)r;
            return 1;
        }
        if (r == 0) {
            s->eof = 1;
            return 0;
        }
        if (errno != EINTR) {
            if (retry_errno())
                BIO_set_retry_read(b);
            return 0;
        }
    }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    bio_state_t *s = BIO_get_data(b);
    if (cmd == BIO_CTRL_EOF)
        return s->eof;
    if (cmd == BIO_CTRL_FLUSH) {
        BIO_clear_retry_flags(b);
        return flush_out(b, s);
    }
    if (cmd == BIO_CTRL_WPENDING)
        return (long)(s->out_len - s->out_sent);
    return BIO_ctrl(s->sock, cmd, num, ptr); /* the fd, kernel TLS */
}

static int bio_destroy(BIO *b)
{
    bio_state_t *s = BIO_get_data(b);
    if (s) {
        BIO_free(s->sock);
        free(s->out);
        free(s);
        BIO_set_data(b, NULL);
    }
    return 1;
}

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "remora socket");
    if (m && BIO_meth_set_write_ex(m, bio_write) && BIO_meth_set_read_ex(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_destroy(m, bio_destroy)) {
        method = m;
        return;
    }
    BIO_meth_free(m);
}

void rm_tls_bio_hold_reads(BIO *b, int hold) { ((bio_state_t *)BIO_get_data(b))->hold = hold; }

BIO *rm_tls_bio_new(int fd, int stream)
{
    pthread_once(&method_once, make_method);
    bio_state_t *s = method ? calloc(1, sizeof *s) : NULL;
    BIO *b = s ? BIO_new(method) : NULL;
    if (s) {
        s->sock = BIO_new_socket(fd, BIO_NOCLOSE);
        s->out = stream ? malloc(OUT_CAP) : NULL;
    }
    if (!b || !s->sock || (stream && !s->out)) {
        if (s) {
            BIO_free(s->sock);
            free(s->out);
        }
        BIO_free(b);
        free(s);
        return NULL;
    }
    s->fd = fd;
    s->stream = stream;
    BIO_set_data(b, s);
    BIO_set_init(b, 1);
    return b;
}
