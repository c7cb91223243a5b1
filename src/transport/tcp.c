/* TCP transport: the stream is the socket itself. Big kernel buffers let a
 * bulk copy keep the wire busy while the receiver is still draining; the
 * socket level (sock.c) already set TCP_NODELAY for request/reply latency.
 * Small reads are served from a user-space buffer filled by one recv, so a
 * batch of messages (headers and payloads) costs one system call, not two
 * per message; large reads go straight into the caller's memory. */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define RM_TCP_RDBUF (64u << 10)

typedef struct {
    rm_conn_t base;
    size_t head, tail; /* unread bytes are buf[head, tail) */
    char buf[RM_TCP_RDBUF];
} tcp_conn_t;

static rm_status tcp_open(int fd, rm_role role, rm_conn_t **out)
{
    rm_sock_bulk_buffers(fd);
    tcp_conn_t *c = malloc(sizeof *c);
    if (!c) {
        RM_ERROR("tcp: out of memory");
        return RM_ERR_NOMEM;
    }
    c->base.ops = &rm_tcp_ops;
    c->base.fd = fd;
    c->head = c->tail = 0;
    *out = &c->base;
    return RM_OK;
}

static rm_status tcp_writev(rm_conn_t *c, const struct iovec *iov, int iovcnt)
{
    return rm_sock_writev_all(c->fd, iov, iovcnt);
}

static rm_status tcp_read(rm_conn_t *conn, void *p, size_t n)
{
    tcp_conn_t *c = (tcp_conn_t *)conn;
    char *q = p;
    for (;;) {
        size_t have = c->tail - c->head, take = have < n ? have : n;
        memcpy(q, c->buf + c->head, take);
        c->head += take;
        q += take;
        n -= take;
        if (n == 0)
            return RM_OK;
        if (n >= RM_TCP_RDBUF / 2) /* large: no detour through the buffer */
            return rm_sock_read_all(conn->fd, q, n);
        ssize_t r = rm_sock_recv_soon(conn->fd, c->buf, RM_TCP_RDBUF);
        if (r == 0)
            return RM_ERR_CLOSED;
        if (r < 0 && errno != EINTR) {
            RM_DEBUG("tcp: recv: %s", strerror(errno));
            if (errno == EAGAIN || errno == EWOULDBLOCK) /* the socket's timeout */
                return RM_ERR_TIMEOUT;
            return errno == ECONNRESET ? RM_ERR_CLOSED : RM_ERR_IO;
        }
        c->head = 0;
        c->tail = r > 0 ? (size_t)r : 0;
    }
}

static void tcp_close(rm_conn_t *c)
{
    close(c->fd);
    free(c);
}

const rm_transport_ops_t rm_tcp_ops = {
    .name = "tcp",
    .open = tcp_open,
    .writev = tcp_writev,
    .read = tcp_read,
    .close = tcp_close,
};
