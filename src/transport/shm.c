/* Shared-memory transport: two single-producer single-consumer byte rings
 * (client->server, server->client) in a memfd the client creates and passes
 * to the server over the Unix socket.
 *
 * Layout of the memfd: one control page holding each ring's indices (head,
 * tail and the futex word each on its own cache line), then ring 0's data,
 * then ring 1's, each ring_size bytes (a power of two) and page aligned.
 * head and tail count bytes ever written and read; both only grow.
 *
 * Waiting: a side that can make no progress (reader: ring empty, writer: ring
 * full) first spins for REMORA_SPIN_US, then announces itself in the ring's
 * waiters count, re-checks, and sleeps on the futex word for at most 100 ms.
 * The other side issues FUTEX_WAKE only when it sees a waiter, so the fast
 * path makes no system call. After every sleep that ends empty-handed the
 * sleeper polls the Unix socket: a hang-up means the peer is gone. A socket
 * with a timeout (rm_sock_set_timeout before the open) bounds each wait: no
 * byte moved for that long is RM_ERR_TIMEOUT (a peer alive but stopped).
 *
 * Trust: the peer can write anything into the shared pages. Each side keeps
 * its own index and the ring size in private memory, reads only the peer's
 * index from the shared page and rejects it (RM_ERR_PROTO) unless it implies
 * 0..ring_size bytes in use, so garbage can corrupt the byte stream but never
 * make this side read or write outside the mapping. The server maps the memfd
 * only after checking its size and that it is sealed against shrinking (a
 * shrunk mapping would SIGBUS). The socket is only polled, never read, so
 * other messages (fds) can travel on it while the rings are in use. */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SHM_MAGIC 0x48534d52u /* "RMSH" */
#define SHM_LAYOUT 1          /* bumped whenever the memfd layout changes */
#define SHM_CTL_BYTES 4096u
#define SHM_RING_MIN (4096ull)
#define SHM_RING_MAX (1ull << 30)
#define SHM_RING_MB_DEFAULT 8
#define SHM_SLEEP_NS 100000000L /* longest futex sleep between liveness checks */
/* Copy granularity: bigger moves are published in steps of this size so the
 * peer starts draining before the whole ring is full. */
#define SHM_STEP ((size_t)256 << 10)

/* Sent with the memfd: what the server checks before mapping it. */
typedef struct {
    uint32_t magic;
    uint32_t layout;
    uint64_t ring_size;
} shm_hello_t;

/* One ring's shared control block. */
typedef struct {
    alignas(64) _Atomic uint64_t head; /* bytes ever written: the producer's */
    alignas(64) _Atomic uint64_t tail; /* bytes ever read: the consumer's */
    alignas(64) _Atomic uint32_t seq;  /* futex word, bumped to wake sleepers */
    _Atomic uint32_t waiters;          /* sides sleeping (or about to) on seq */
} shm_ring_ctl_t;

_Static_assert(2 * sizeof(shm_ring_ctl_t) <= SHM_CTL_BYTES, "ring controls fit the page");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shared 64-bit atomics must be lock-free");

/* This side's end of one ring. */
typedef struct {
    shm_ring_ctl_t *ctl;
    uint8_t *data;
    _Atomic uint64_t *mine;   /* index this end stores: head or tail */
    _Atomic uint64_t *theirs; /* index the peer stores: never trusted */
    uint64_t pos;             /* this end's index, private */
    uint64_t published;       /* last pos stored to *mine */
    uint64_t seen;            /* last *theirs loaded, once checked */
    int producer;
} shm_end_t;

typedef struct {
    rm_conn_t base;
    void *map;
    size_t map_len;
    uint64_t size; /* ring size, private copy */
    uint64_t spin_ns;
    uint64_t timeout_ns; /* longest wait without progress; 0: none */
    shm_end_t tx, rx;
} shm_conn_t;

/* ---- waiting ---- */


static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Errors (timeout, value changed, signal) all mean "look again". */
static void futex_wait(_Atomic uint32_t *word, uint32_t val)
{
    struct timespec ts = {0, SHM_SLEEP_NS};
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
    atomic_fetch_add_explicit(word, 1, memory_order_relaxed);
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* The peer hung up or died. Polls only: the socket's bytes are not ours. */
static int peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

/* Bytes this end can move now: data to read, or room to write. The peer's
 * index is loaded only when the last one seen allows no progress, so a
 * writer leaves the reader's tail alone until the ring looks full and the
 * two sides do not pull that cache line back and forth on every message. */
static rm_status end_avail(const shm_conn_t *c, shm_end_t *e, uint64_t *avail)
{
    uint64_t used = e->producer ? e->pos - e->seen : e->seen - e->pos;
    if (used == (e->producer ? c->size : 0)) {
        e->seen = atomic_load(e->theirs); /* seq_cst: see end_publish */
        used = e->producer ? e->pos - e->seen : e->seen - e->pos;
        if (used > c->size) {
            RM_ERROR("shm: ring control corrupted by the peer (%llu bytes in use of %llu)",
                     (unsigned long long)used, (unsigned long long)c->size);
            return RM_ERR_PROTO;
        }
    }
    *avail = e->producer ? c->size - used : used;
    return RM_OK;
}

/* Make this end's progress visible, waking the peer if it sleeps on it. */
static void end_publish(shm_end_t *e)
{
    if (e->pos == e->published)
        return;
    /* All seq_cst, like the sleeper's count-then-look in sleep_once: in
     * their single order either we see its waiters count or it sees our
     * index, so no wake-up is lost. */
    atomic_store(e->mine, e->pos);
    e->published = e->pos;
    if (atomic_load(&e->ctl->waiters))
        futex_wake(&e->ctl->seq);
}

/* Busy-polls for spin_ns, reading the clock every 64 polls. */
static rm_status spin(const shm_conn_t *c, shm_end_t *e, uint64_t *avail)
{
    uint64_t deadline = rm_now_ns() + c->spin_ns;
    do {
        for (int i = 0; i < 64; i++) {
            rm_status st = end_avail(c, e, avail);
            if (st != RM_OK || *avail)
                return st;
            cpu_relax();
        }
    } while (rm_now_ns() < deadline);
    return RM_OK;
}

/* One futex sleep; RM_OK with *avail == 0 means "still nothing, go again". */
static rm_status sleep_once(const shm_conn_t *c, shm_end_t *e, uint64_t *avail)
{
    shm_ring_ctl_t *r = e->ctl;
    uint32_t seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
    atomic_fetch_add(&r->waiters, 1);
    rm_status st = end_avail(c, e, avail);
    if (st == RM_OK && !*avail)
        futex_wait(&r->seq, seq);
    atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_relaxed);
    if (st == RM_OK && !*avail)
        st = end_avail(c, e, avail);
    if (st != RM_OK || *avail || !peer_gone(c->base.fd))
        return st;
    /* Gone; but hand over what it wrote before it went, as TCP would. */
    st = end_avail(c, e, avail);
    if (st == RM_OK && !*avail) {
        RM_DEBUG("shm: peer closed the connection");
        return RM_ERR_CLOSED;
    }
    return st;
}

/* Until this end can move at least one byte. */
static rm_status end_wait(const shm_conn_t *c, shm_end_t *e, uint64_t *avail)
{
    rm_status st = end_avail(c, e, avail);
    if (st != RM_OK || *avail)
        return st;
    end_publish(e); /* the peer may be waiting for what we hold back */
    st = spin(c, e, avail);
    uint64_t deadline = c->timeout_ns ? rm_now_ns() + c->timeout_ns : UINT64_MAX;
    while (st == RM_OK && !*avail) {
        if (rm_now_ns() >= deadline) {
            RM_DEBUG("shm: no progress within %llu ms", (unsigned long long)(c->timeout_ns / 1000000));
            return RM_ERR_TIMEOUT;
        }
        st = sleep_once(c, e, avail);
    }
    return st;
}

/* ---- moving bytes ---- */

/* n <= what end_avail allowed: into the ring (producer) or out of it. */
static void end_copy(const shm_conn_t *c, shm_end_t *e, uint8_t *p, size_t n)
{
    size_t off = (size_t)(e->pos & (c->size - 1));
    size_t first = n < c->size - off ? n : (size_t)(c->size - off);
    if (e->producer) {
        memcpy(e->data + off, p, first);
        memcpy(e->data, p + first, n - first);
    } else {
        memcpy(p, e->data + off, first);
        memcpy(p + first, e->data, n - first);
    }
    e->pos += n;
}

/* All n bytes through this end, piecewise when n exceeds the ring. */
static rm_status end_transfer(const shm_conn_t *c, shm_end_t *e, uint8_t *p, size_t n)
{
    while (n > 0) {
        uint64_t avail;
        rm_status st = end_wait(c, e, &avail);
        if (st != RM_OK)
            return st;
        size_t k = n < avail ? n : (size_t)avail;
        if (k > SHM_STEP)
            k = SHM_STEP;
        end_copy(c, e, p, k);
        if (e->pos - e->published >= SHM_STEP)
            end_publish(e);
        p += k;
        n -= k;
    }
    return RM_OK;
}

static rm_status shm_writev(rm_conn_t *base, const struct iovec *iov, int iovcnt)
{
    shm_conn_t *c = (shm_conn_t *)base;
    for (int i = 0; i < iovcnt; i++) {
        rm_status st = end_transfer(c, &c->tx, iov[i].iov_base, iov[i].iov_len);
        if (st != RM_OK)
            return st;
    }
    end_publish(&c->tx);
    return RM_OK;
}

static rm_status shm_read(rm_conn_t *base, void *p, size_t n)
{
    shm_conn_t *c = (shm_conn_t *)base;
    rm_status st = end_transfer(c, &c->rx, p, n);
    end_publish(&c->rx);
    return st;
}

/* ---- opening and closing ---- */

static void end_init(shm_end_t *e, shm_ring_ctl_t *ctl, uint8_t *data, int producer)
{
    e->ctl = ctl;
    e->data = data;
    e->mine = producer ? &ctl->head : &ctl->tail;
    e->theirs = producer ? &ctl->tail : &ctl->head;
    e->pos = e->published = e->seen = 0;
    e->producer = producer;
}

/* An unsigned number from the environment, or def if unset or out of range. */

static uint64_t ring_size_from_env(void)
{
    uint64_t mb = rm_env_number("REMORA_SHM_RING_MB", SHM_RING_MB_DEFAULT, SHM_RING_MAX >> 20);
    if (mb == 0 || (mb & (mb - 1)) != 0) {
        RM_WARN("REMORA_SHM_RING_MB=%llu is not a power of two; using %d", (unsigned long long)mb,
                SHM_RING_MB_DEFAULT);
        mb = SHM_RING_MB_DEFAULT;
    }
    return mb << 20;
}

static rm_status shm_map(shm_conn_t *c, int memfd, uint64_t size, rm_role role)
{
    size_t len = SHM_CTL_BYTES + 2 * (size_t)size;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (m == MAP_FAILED) {
        RM_ERROR("shm: mapping %zu bytes: %s", len, strerror(errno));
        return RM_ERR_NOMEM;
    }
    shm_ring_ctl_t *ctl = m;
    uint8_t *data = (uint8_t *)m + SHM_CTL_BYTES;
    int out = role == RM_ROLE_CLIENT ? 0 : 1; /* ring 0 carries client->server */
    end_init(&c->tx, &ctl[out], data + out * size, 1);
    end_init(&c->rx, &ctl[1 - out], data + (1 - out) * size, 0);
    c->map = m;
    c->map_len = len;
    c->size = size;
    return RM_OK;
}

static rm_status open_client(shm_conn_t *c, int fd)
{
    uint64_t size = ring_size_from_env();
    rm_status st = RM_ERR_IO;
    int memfd = memfd_create("remora-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (memfd < 0) {
        RM_ERROR("shm: memfd_create: %s", strerror(errno));
        return RM_ERR_IO;
    }
    if (ftruncate(memfd, (off_t)(SHM_CTL_BYTES + 2 * size)) != 0 ||
        fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        RM_ERROR("shm: sizing the ring memory: %s", strerror(errno));
        goto close_memfd;
    }
    st = shm_map(c, memfd, size, RM_ROLE_CLIENT);
    if (st != RM_OK)
        goto close_memfd;
    shm_hello_t hello = {SHM_MAGIC, SHM_LAYOUT, size};
    st = rm_sock_send_fds(fd, &memfd, 1, &hello, sizeof hello);
    if (st != RM_OK)
        goto unmap;
    close(memfd);
    return RM_OK;
unmap:
    munmap(c->map, c->map_len);
close_memfd:
    close(memfd);
    return st;
}

/* Everything about the client's memfd that mapping and using it relies on. */
static rm_status check_segment(int memfd, const shm_hello_t *h)
{
    struct stat sb;
    uint64_t size = h->ring_size;
    if (h->magic != SHM_MAGIC || h->layout != SHM_LAYOUT) {
        RM_ERROR("shm: bad hello (magic %#x layout %u)", h->magic, h->layout);
        return RM_ERR_PROTO;
    }
    if (size < SHM_RING_MIN || size > SHM_RING_MAX || (size & (size - 1)) != 0) {
        RM_ERROR("shm: bad ring size %llu", (unsigned long long)size);
        return RM_ERR_PROTO;
    }
    if (fstat(memfd, &sb) != 0 || (uint64_t)sb.st_size != SHM_CTL_BYTES + 2 * size) {
        RM_ERROR("shm: ring memory is not %llu bytes",
                 (unsigned long long)(SHM_CTL_BYTES + 2 * size));
        return RM_ERR_PROTO;
    }
    int seals = fcntl(memfd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        RM_ERROR("shm: ring memory is not a memfd sealed against shrinking");
        return RM_ERR_PROTO;
    }
    return RM_OK;
}

static rm_status open_server(shm_conn_t *c, int fd)
{
    shm_hello_t hello;
    int memfd, nfds;
    rm_status st = rm_sock_recv_fds(fd, &memfd, &nfds, 1, &hello, sizeof hello);
    if (st != RM_OK)
        return st;
    if (nfds != 1) {
        RM_ERROR("shm: client sent no ring memory");
        return RM_ERR_PROTO;
    }
    st = check_segment(memfd, &hello);
    if (st == RM_OK)
        st = shm_map(c, memfd, hello.ring_size, RM_ROLE_SERVER);
    close(memfd); /* the mapping keeps the memory */
    return st;
}

static rm_status shm_conn_open(int fd, rm_role role, rm_conn_t **out)
{
    shm_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        RM_ERROR("shm: out of memory");
        return RM_ERR_NOMEM;
    }
    rm_status st = role == RM_ROLE_CLIENT ? open_client(c, fd) : open_server(c, fd);
    if (st != RM_OK) {
        free(c);
        return st;
    }
    c->base.ops = &rm_shm_ops;
    c->base.fd = fd;
    c->spin_ns = rm_transport_spin_ns();
    c->timeout_ns = rm_sock_timeout_ms(fd) * 1000000;
    *out = &c->base;
    return RM_OK;
}

static void shm_close(rm_conn_t *base)
{
    shm_conn_t *c = (shm_conn_t *)base;
    /* Hang up first, then wake any sleeping peer so it notices now rather
     * than at the end of its sleep. */
    close(c->base.fd);
    futex_wake(&c->tx.ctl->seq);
    futex_wake(&c->rx.ctl->seq);
    munmap(c->map, c->map_len);
    free(c);
}

const rm_transport_ops_t rm_shm_ops = {
    .name = "shm",
    .open = shm_conn_open,
    .writev = shm_writev,
    .read = shm_read,
    .close = shm_close,
};
