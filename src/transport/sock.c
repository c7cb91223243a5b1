/* Socket level of the transport layer: dialing and listening on TCP and Unix
 * sockets, whole reads and writes, and passing file descriptors. Every fd
 * made here is close-on-exec so a server that execs helpers leaks none, and
 * every write uses MSG_NOSIGNAL: a dead peer is an RM_ERR_CLOSED, never a
 * SIGPIPE in the host program. */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define RM_SOCK_MAX_FDS 4    /* fds one rm_sock_send_fds can carry */
#define RM_SOCK_IOV_BATCH 64 /* iovecs handed to one sendmsg */
#define RM_SOCK_BULK_BUF (4 << 20)

struct rm_listener {
    int fd;
    rm_scheme scheme;
    int port;       /* tcp: the bound port */
    char path[108]; /* unix: unlinked on close */
};

/* Errors that mean the peer went away, as opposed to a local failure. A
 * socket timeout (rm_sock_set_timeout) ends a wait with EAGAIN. */
static rm_status io_error(const char *what)
{
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK) {
        RM_DEBUG("%s: no progress within the socket's timeout", what);
        return RM_ERR_TIMEOUT;
    }
    if (e == EPIPE || e == ECONNRESET || e == ENOTCONN || e == ETIMEDOUT) {
        RM_DEBUG("%s: %s: peer gone", what, strerror(e));
        return RM_ERR_CLOSED;
    }
    RM_ERROR("%s: %s", what, strerror(e));
    return RM_ERR_IO;
}

/* Latency over batching for request/reply traffic; keepalive so a peer
 * machine that vanishes (or a network that drops everything) is noticed
 * after RM_KEEPALIVE_IDLE_S + RM_KEEPALIVE_COUNT * RM_KEEPALIVE_INTVL_S of
 * silence, not after the kernel's default two hours. Failures only cost
 * speed or that notice. */
static void tcp_tune(int fd)
{
    int one = 1, idle = RM_KEEPALIVE_IDLE_S, intvl = RM_KEEPALIVE_INTVL_S, cnt = RM_KEEPALIVE_COUNT;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) != 0)
        RM_WARN("tcp socket options: %s", strerror(errno));
}

void rm_sock_bulk_buffers(int fd)
{
    int size = RM_SOCK_BULK_BUF;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0)
        RM_WARN("socket buffers: %s", strerror(errno));
}

rm_status rm_sock_set_timeout(int fd, uint64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        RM_ERROR("socket timeout: %s", strerror(errno));
        return RM_ERR_IO;
    }
    return RM_OK;
}

uint64_t rm_sock_timeout_ms(int fd)
{
    struct timeval tv = {0, 0};
    socklen_t len = sizeof tv;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) != 0)
        return 0;
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* connect() that survives a signal: after EINTR the attempt goes on in the
 * background, so wait for it and collect its result. Returns 0 or -1/errno;
 * a connect cut short by the socket's send timeout is ETIMEDOUT. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno == EINPROGRESS || errno == EAGAIN)
        errno = ETIMEDOUT;
    if (errno != EINTR)
        return -1;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -1;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        return -1;
    errno = err;
    return err ? -1 : 0;
}

/* connect_fd with the socket's timeouts set to timeout_ms first (0: none);
 * they stay for the handshake that follows. */
static int dial_fd(int fd, const struct sockaddr *sa, socklen_t len, uint64_t timeout_ms)
{
    if (timeout_ms && rm_sock_set_timeout(fd, timeout_ms) != RM_OK)
        return -1;
    return connect_fd(fd, sa, len);
}

static int bind_listen(int fd, const struct sockaddr *sa, socklen_t len)
{
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        return -1;
    if (bind(fd, sa, len) != 0)
        return -1;
    return listen(fd, SOMAXCONN);
}

/* A connected (passive = 0, each attempt bounded by timeout_ms unless 0) or
 * listening (passive = 1) TCP socket on the first address of a->host that
 * works. */
static rm_status tcp_socket(const rm_addr_t *a, int passive, uint64_t timeout_ms, int *fd_out)
{
    char port[8];
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(port, sizeof port, "%d", a->port);
    int rc = getaddrinfo(a->host, port, &hints, &res);
    if (rc != 0) {
        RM_ERROR("tcp %s:%d: %s", a->host, a->port, gai_strerror(rc));
        return RM_ERR_ADDR;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if ((passive ? bind_listen(fd, ai->ai_addr, ai->ai_addrlen)
                     : dial_fd(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms)) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        RM_ERROR("tcp %s %s:%d: %s", passive ? "listen on" : "connect to", a->host, a->port,
                 strerror(err));
        return RM_ERR_IO;
    }
    if (!passive)
        tcp_tune(fd);
    *fd_out = fd;
    return RM_OK;
}

static rm_status unix_sockaddr(const char *path, struct sockaddr_un *sun)
{
    size_t n = strlen(path);
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof sun->sun_path) {
        RM_ERROR("unix socket path '%s' is empty or too long", path);
        return RM_ERR_ADDR;
    }
    memcpy(sun->sun_path, path, n + 1);
    return RM_OK;
}

/* A socket file left by a server that died is removed; one a live server
 * still answers on, or a path that is not a socket, is refused. */
static rm_status clear_stale_path(const struct sockaddr_un *sun)
{
    struct stat sb;
    if (lstat(sun->sun_path, &sb) != 0) {
        if (errno == ENOENT)
            return RM_OK;
        RM_ERROR("%s: %s", sun->sun_path, strerror(errno));
        return RM_ERR_IO;
    }
    if (!S_ISSOCK(sb.st_mode)) {
        RM_ERROR("%s exists and is not a socket", sun->sun_path);
        return RM_ERR_ADDR;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return io_error("socket");
    int live = connect_fd(fd, (const struct sockaddr *)sun, sizeof *sun) == 0;
    close(fd);
    if (live) {
        RM_ERROR("%s: another server is listening there", sun->sun_path);
        return RM_ERR_ADDR;
    }
    if (unlink(sun->sun_path) != 0 && errno != ENOENT) {
        RM_ERROR("removing stale socket %s: %s", sun->sun_path, strerror(errno));
        return RM_ERR_IO;
    }
    return RM_OK;
}

static rm_status unix_socket(const char *path, int passive, uint64_t timeout_ms, int *fd_out)
{
    struct sockaddr_un sun;
    rm_status st = unix_sockaddr(path, &sun);
    if (st == RM_OK && passive)
        st = clear_stale_path(&sun);
    if (st != RM_OK)
        return st;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return io_error("socket");
    const struct sockaddr *sa = (const struct sockaddr *)&sun;
    if ((passive ? bind_listen(fd, sa, sizeof sun) : dial_fd(fd, sa, sizeof sun, timeout_ms)) != 0) {
        RM_ERROR("unix socket %s %s: %s", passive ? "listen on" : "connect to", path,
                 strerror(errno));
        close(fd);
        return RM_ERR_IO;
    }
    *fd_out = fd;
    return RM_OK;
}

rm_status rm_sock_dial(const rm_addr_t *a, uint64_t timeout_ms, int *fd_out)
{
    if (rm_scheme_is_inet(a->scheme))
        return tcp_socket(a, 0, timeout_ms, fd_out);
    return unix_socket(a->path, 0, timeout_ms, fd_out);
}

/* ---- listeners ---- */

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

rm_status rm_listener_open(const rm_addr_t *a, rm_listener_t **out)
{
    rm_listener_t *l = calloc(1, sizeof *l);
    if (!l) {
        RM_ERROR("listener: out of memory");
        return RM_ERR_NOMEM;
    }
    l->scheme = a->scheme;
    rm_status st;
    if (rm_scheme_is_inet(a->scheme)) {
        st = tcp_socket(a, 1, 0, &l->fd);
        if (st == RM_OK)
            l->port = bound_port(l->fd);
    } else {
        st = unix_socket(a->path, 1, 0, &l->fd);
        if (st == RM_OK)
            snprintf(l->path, sizeof l->path, "%s", a->path);
    }
    if (st != RM_OK) {
        free(l);
        return st;
    }
    *out = l;
    return RM_OK;
}

int rm_listener_fd(const rm_listener_t *l) { return l->fd; }

int rm_listener_port(const rm_listener_t *l) { return l->port; }

rm_status rm_listener_accept(rm_listener_t *l, int *fd_out)
{
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            if (rm_scheme_is_inet(l->scheme))
                tcp_tune(fd);
            *fd_out = fd;
            return RM_OK;
        }
        /* ECONNABORTED: a client gave up while queued; wait for the next. */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            return RM_ERR_LIMIT; /* the caller says so, as often as it sees fit */
        if (errno != EINTR && errno != ECONNABORTED)
            return io_error("accept");
    }
}

void rm_listener_close(rm_listener_t *l)
{
    if (!l)
        return;
    close(l->fd);
    if (l->path[0])
        unlink(l->path);
    free(l);
}

/* ---- whole reads and writes ---- */

rm_status rm_sock_writev_all(int fd, const struct iovec *iov, int iovcnt)
{
    struct iovec batch[RM_SOCK_IOV_BATCH];
    size_t done = 0; /* bytes of iov[0] already sent */
    for (;;) {
        /* Skip what is sent, and empty iovecs: a send of nothing could
         * still fail on a peer that has gone. */
        while (iovcnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt == 0)
            return RM_OK;
        size_t n = (size_t)iovcnt < RM_SOCK_IOV_BATCH ? (size_t)iovcnt : RM_SOCK_IOV_BATCH;
        memcpy(batch, iov, n * sizeof *iov);
        batch[0].iov_base = (char *)batch[0].iov_base + done;
        batch[0].iov_len -= done;
        struct msghdr m = {.msg_iov = batch, .msg_iovlen = n};
        ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return io_error("send");
        }
        done += (size_t)r;
    }
}

rm_status rm_sock_write_all(int fd, const void *p, size_t n)
{
    struct iovec v = {(void *)p, n};
    return rm_sock_writev_all(fd, &v, 1);
}

ssize_t rm_sock_recv_soon(int fd, void *buf, size_t cap)
{
    uint64_t until = rm_now_ns() + rm_transport_spin_ns();
    do {
        ssize_t r = recv(fd, buf, cap, MSG_DONTWAIT);
        if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return r;
    } while (rm_now_ns() < until);
    return recv(fd, buf, cap, 0);
}

rm_status rm_sock_read_all(int fd, void *p, size_t n)
{
    char *q = p;
    while (n > 0) {
        ssize_t r = recv(fd, q, n, MSG_WAITALL);
        if (r > 0) {
            q += r;
            n -= (size_t)r;
        } else if (r == 0) {
            RM_DEBUG("recv: peer closed the connection");
            return RM_ERR_CLOSED;
        } else if (errno != EINTR) {
            return io_error("recv");
        }
    }
    return RM_OK;
}

/* ---- fd passing ---- */

typedef union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * RM_SOCK_MAX_FDS)];
} fd_control_t;

rm_status rm_sock_send_fds(int fd, const int *fds, int nfds, const void *data, size_t n)
{
    if (nfds < 0 || nfds > RM_SOCK_MAX_FDS || n == 0) {
        RM_ERROR("send_fds: %d fds with %zu bytes (want 0..%d fds and at least one byte)", nfds, n,
                 RM_SOCK_MAX_FDS);
        return RM_ERR_INVAL;
    }
    fd_control_t ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec v = {(void *)data, n};
    struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
    if (nfds > 0) {
        m.msg_control = ctl.buf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t r;
    do
        r = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return io_error("sendmsg (fd passing)");
    /* The fds travelled with the first byte; the rest is plain data. */
    return rm_sock_write_all(fd, (const char *)data + r, n - (size_t)r);
}

/* Moves the fds of every SCM_RIGHTS message into fds (room for
 * RM_SOCK_MAX_FDS); returns how many arrived, which may exceed the room. */
static int take_fds(struct msghdr *m, int *fds)
{
    int got = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++, got++) {
            int f;
            memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof f);
            if (got < RM_SOCK_MAX_FDS)
                fds[got] = f;
            else
                close(f);
        }
    }
    return got;
}

static void close_fds(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

rm_status rm_sock_recv_fds(int fd, int *fds, int *nfds, int maxfds, void *data, size_t n)
{
    if (maxfds < 0 || n == 0) {
        RM_ERROR("recv_fds: room for %d fds and %zu bytes", maxfds, n);
        return RM_ERR_INVAL;
    }
    fd_control_t ctl;
    int got_fds[RM_SOCK_MAX_FDS];
    memset(&ctl, 0, sizeof ctl);
    struct iovec v = {data, n};
    struct msghdr m = {
        .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t r;
    do
        r = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return io_error("recvmsg (fd passing)");
    if (r == 0) {
        RM_DEBUG("recvmsg: peer closed the connection");
        return RM_ERR_CLOSED;
    }
    int got = take_fds(&m, got_fds);
    int kept = got < RM_SOCK_MAX_FDS ? got : RM_SOCK_MAX_FDS;
    if ((m.msg_flags & MSG_CTRUNC) || got > maxfds) {
        RM_ERROR("recv_fds: peer sent %d fds or more, room for %d", got, maxfds);
        close_fds(got_fds, kept);
        return RM_ERR_PROTO;
    }
    rm_status st = rm_sock_read_all(fd, (char *)data + r, n - (size_t)r);
    if (st != RM_OK) {
        close_fds(got_fds, kept);
        return st;
    }
    if (got > 0)
        memcpy(fds, got_fds, sizeof(int) * (size_t)got);
    *nfds = got;
    return RM_OK;
}
