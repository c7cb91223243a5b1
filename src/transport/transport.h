/* Transports: how one client thread's channel reaches its server thread.
 *
 * Two levels:
 *  - socket level (rm_sock_*, rm_listener_*): dial, listen, accept, whole
 *    reads/writes and fd passing. The handshake always runs here, on the raw
 *    socket, before a transport stream is opened on it.
 *  - stream level (rm_conn_*): a reliable ordered byte stream built on that
 *    socket by the transport named in the address scheme. TCP uses the socket
 *    itself; SHM uses two shared-memory rings (client creates a memfd and
 *    passes it over the Unix socket) and keeps the socket only to notice a
 *    dead peer.
 * Every transport fills one rm_transport_ops_t; nothing above this layer
 * knows which one it talks to.
 */
#ifndef RM_TRANSPORT_H
#define RM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "clock.h"
#include "remora/status.h"

typedef enum { RM_SCHEME_TCP, RM_SCHEME_SHM, RM_SCHEME_TLS, RM_SCHEME_UCX } rm_scheme;
/* TCP, TLS and UCX all dial and listen on TCP sockets (UCX for its hello
 * and to notice a dead peer). */
static inline int rm_scheme_is_inet(rm_scheme s) { return s != RM_SCHEME_SHM; }
typedef enum { RM_ROLE_CLIENT, RM_ROLE_SERVER } rm_role;

typedef struct {
    rm_scheme scheme;
    char host[256]; /* tcp, tls, ucx: host name or address (tls: the name checked in the certificate) */
    int port;       /* tcp, tls, ucx */
    char path[108]; /* shm: Unix socket path */
} rm_addr_t;

/* "tcp://host:port", "tls://host:port", "ucx://host:port" (remora built with
 * UCX: RM_HAVE_UCX), "shm://NAME" (socket /tmp/remora-NAME.sock),
 * "shm:///abs/path.sock" or a bare "/abs/path.sock" (shm), "host:port" (tcp). */
rm_status rm_addr_parse(const char *s, rm_addr_t *out);
/* A comma-separated list of such addresses (several servers): up to max
 * of them into out[], their number into *n. */
rm_status rm_addr_parse_list(const char *s, rm_addr_t *out, int max, int *n);
/* "tcp://host:port", "tls://host:port", "ucx://host:port" or "shm:///path.sock", for messages. */
/* "tcp", "tls", "ucx" or "shm". */
const char *rm_scheme_name(rm_scheme s);
const char *rm_addr_format(const rm_addr_t *a, char *buf, size_t len);

/* How long a client waits for the server's answer to its hello (seconds,
 * REMORA_CONNECT_TIMEOUT; 0: forever), and for a call's reply
 * (REMORA_CALL_TIMEOUT; 0, the default: forever). */
#define RM_CONNECT_TIMEOUT_DEFAULT_S 10
#define RM_TIMEOUT_MAX_S 86400
uint64_t rm_connect_timeout_s(void);

/* ---- socket level ---- */
typedef struct rm_listener rm_listener_t;

/* Connects to a; timeout_ms (0: none) bounds the connect and stays set on
 * the socket (rm_sock_set_timeout) for the handshake that follows. */
rm_status rm_sock_dial(const rm_addr_t *a, uint64_t timeout_ms, int *fd_out);
/* A read or write on fd (socket level, and every transport's stream opened
 * on it afterwards) that makes no progress for ms fails with RM_ERR_TIMEOUT;
 * 0: wait forever (the default). */
rm_status rm_sock_set_timeout(int fd, uint64_t ms);
uint64_t rm_sock_timeout_ms(int fd); /* what rm_sock_set_timeout set; 0: none */
/* Big kernel buffers (tcp and tls streams): a bulk copy keeps the wire
 * busy while the receiver is still draining. A failure costs only speed. */
void rm_sock_bulk_buffers(int fd);
/* TCP keepalive on every connected socket: a silent peer is probed after
 * IDLE seconds, every INTVL seconds, and given up after COUNT probes. */
#define RM_KEEPALIVE_IDLE_S 60
#define RM_KEEPALIVE_INTVL_S 10
#define RM_KEEPALIVE_COUNT 6
rm_status rm_listener_open(const rm_addr_t *a, rm_listener_t **out);
int rm_listener_fd(const rm_listener_t *l);
/* Bound TCP port (useful with port 0). */
int rm_listener_port(const rm_listener_t *l);
/* RM_ERR_LIMIT (not logged) when out of file descriptors or memory. */
rm_status rm_listener_accept(rm_listener_t *l, int *fd_out);
void rm_listener_close(rm_listener_t *l); /* unlinks a Unix socket path */

rm_status rm_sock_write_all(int fd, const void *p, size_t n);
rm_status rm_sock_writev_all(int fd, const struct iovec *iov, int iovcnt);
rm_status rm_sock_read_all(int fd, void *p, size_t n); /* RM_ERR_CLOSED on EOF */
/* recv(2) that polls without blocking for the spin budget
 * (rm_transport_spin_ns) first, then blocks: a reply due in microseconds
 * then costs no wake-up of a sleeping thread. recv's result and errno. */
ssize_t rm_sock_recv_soon(int fd, void *buf, size_t cap);
/* Send/receive bytes with up to 4 file descriptors attached (Unix sockets). */
rm_status rm_sock_send_fds(int fd, const int *fds, int nfds, const void *data, size_t n);
rm_status rm_sock_recv_fds(int fd, int *fds, int *nfds, int maxfds, void *data, size_t n);

/* ---- stream level ---- */
typedef struct rm_conn rm_conn_t;

/* Bytes that travel beside a connection's messages (through shared
 * segments): up with the next message written, down before the next reply
 * read. Only the network emulator cares (it charges them to its link). */
typedef enum { RM_CARRY_UP, RM_CARRY_DOWN } rm_carry;

typedef struct {
    const char *name;
    /* On failure fd is left open: rm_conn_open closes it. */
    rm_status (*open)(int fd, rm_role role, rm_conn_t **out);
    /* Write all bytes of all iovecs, in order. Blocks while the peer is slow;
     * fails with RM_ERR_CLOSED if the peer goes away. */
    rm_status (*writev)(rm_conn_t *c, const struct iovec *iov, int iovcnt);
    /* Read exactly n bytes. Blocks (busy-poll briefly, then sleep); fails with
     * RM_ERR_CLOSED if the peer goes away, never hangs on a dead peer, and
     * with RM_ERR_TIMEOUT (reads and writes) when the socket has a timeout
     * (rm_sock_set_timeout before rm_conn_open) and no byte moved for that
     * long; the stream is then out of step and only good for closing. */
    rm_status (*read)(rm_conn_t *c, void *p, size_t n);
    void (*close)(rm_conn_t *c);
    /* Optional (NULL: nothing to do): n bytes carried beside the stream. */
    void (*carry)(rm_conn_t *c, rm_carry dir, size_t n);
} rm_transport_ops_t;

/* Every transport's connection struct begins with this. */
struct rm_conn {
    const rm_transport_ops_t *ops;
    int fd; /* the socket; for SHM only used for fd passing and liveness */
};

extern const rm_transport_ops_t rm_tcp_ops;
extern const rm_transport_ops_t rm_shm_ops;
extern const rm_transport_ops_t rm_tls_ops; /* tls.h configures it */
#ifdef RM_HAVE_UCX
extern const rm_transport_ops_t rm_ucx_ops; /* ucx.c */
#endif

/* Takes ownership of fd (closed on failure too). */
rm_status rm_conn_open(rm_scheme s, int fd, rm_role role, rm_conn_t **out);
static inline rm_status rm_conn_writev(rm_conn_t *c, const struct iovec *iov, int n)
{
    return c->ops->writev(c, iov, n);
}
static inline rm_status rm_conn_write(rm_conn_t *c, const void *p, size_t n)
{
    struct iovec v = {(void *)p, n};
    return c->ops->writev(c, &v, 1);
}
static inline rm_status rm_conn_read(rm_conn_t *c, void *p, size_t n) { return c->ops->read(c, p, n); }
static inline int rm_conn_fd(const rm_conn_t *c) { return c->fd; }
static inline void rm_conn_carry(rm_conn_t *c, rm_carry dir, size_t n)
{
    if (c->ops->carry)
        c->ops->carry(c, dir, n);
}
void rm_conn_close(rm_conn_t *c);

/* Shared by the transports. A waiting reader busy-polls this long before it
 * sleeps (REMORA_SPIN_US, default RM_SPIN_US_DEFAULT): an answer that comes
 * soon is seen without a wake-up's latency. */
#define RM_SPIN_US_DEFAULT 50
uint64_t rm_transport_spin_ns(void);
/* An environment variable as a number in [0, max]; def when unset or bad (logged). */
uint64_t rm_env_number(const char *name, uint64_t def, uint64_t max);

#endif
