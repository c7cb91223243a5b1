/* TCP transport: the stream is the socket itself. Big kernel buffers let a
 * bulk copy keep the wire busy while the receiver is still draining; the
 * socket level (sock.c) already set TCP_NODELAY for request/reply latency. */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define RM_TCP_SOCKBUF (4 << 20)

static rm_status tcp_open(int fd, rm_role role, rm_conn_t **out)
{
    int size = RM_TCP_SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0)
        RM_WARN("tcp: socket buffers: %s", strerror(errno));
    rm_conn_t *c = malloc(sizeof *c);
    if (!c) {
        RM_ERROR("tcp: out of memory");
        return RM_ERR_NOMEM;
    }
    c->ops = &rm_tcp_ops;
    c->fd = fd;
    *out = c;
    return RM_OK;
}

static rm_status tcp_writev(rm_conn_t *c, const struct iovec *iov, int iovcnt)
{
    return rm_sock_writev_all(c->fd, iov, iovcnt);
}

static rm_status tcp_read(rm_conn_t *c, void *p, size_t n) { return rm_sock_read_all(c->fd, p, n); }

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
