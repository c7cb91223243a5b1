/* Transport tests. One conformance suite runs over every transport (tcp, shm;
 * with the argument "ucx", over ucx:// on the lane UCX_TLS picks, each case in
 * a process of its own) with this process in each role and the peer a forked
 * child (and, with the argument "emul", over both through the network emulator, whose wrapper
 * must keep every promise of the transport under it): messages both
 * ways, a message bigger than any ring or socket buffer, tiny writes, writev,
 * full duplex, a peer killed mid-read or mid-write, and injected faults. Then
 * what is particular to one layer: address parsing, listeners, fd passing,
 * and shm peers that send a bad hello or scribble over the ring control.
 * Nothing waits on a timer to be correct; the only timed checks are upper
 * bounds on noticing a dead peer and a lower bound on injected delay. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "emul.h"
#include "fault.h"
#include "remora/protocol.h"
#include "tls.h"
#include "transport.h"

#define CHECK_ST(expr, want)                                                                       \
    do {                                                                                           \
        rm_status st_ = (expr);                                                                    \
        if (st_ != (want)) {                                                                       \
            fprintf(stderr, "%s:%d: [pid %d] %s gave '%s', want '%s'\n", __FILE__, __LINE__,       \
                    (int)getpid(), #expr, rm_status_str(st_), rm_status_str(want));                \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

#define BIG_BYTES ((size_t)64 << 20)    /* beyond any ring and socket buffer */
#define DUPLEX_BYTES ((size_t)24 << 20) /* each way at once */
#define DEAD_PEER_LIMIT_S 3.0           /* "within a second or two", with slack */
#define WATCHDOG_S 100                  /* a hang fails here, before CTest's timeout */

/* RM_TEST_WATCHDOG_S overrides it (valgrind runs need several times longer). */
static unsigned watchdog_s(void)
{
    const char *s = getenv("RM_TEST_WATCHDOG_S");
    return s && atoi(s) > 0 ? (unsigned)atoi(s) : WATCHDOG_S;
}

/* ---- helpers ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Byte i of the test stream with this seed; not periodic in any ring size. */
static uint8_t pat(uint64_t i, uint32_t seed)
{
    uint32_t x = (uint32_t)(i ^ (i >> 32)) * 0x9E3779B1u + seed * 0x85EBCA6Bu;
    return (uint8_t)((x ^ (x >> 15)) >> 7);
}

static void fill(uint8_t *p, size_t n, uint64_t start, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pat(start + i, seed);
}

static int matches(const uint8_t *p, size_t n, uint64_t start, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pat(start + i, seed))
            return 0;
    return 1;
}

static uint64_t checksum(const uint8_t *p, size_t n) /* FNV-1a */
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    CHECK(p != NULL);
    return p;
}

static int has_cloexec(int fd) { return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* ---- a connection with a forked peer ---- */

typedef struct {
    rm_addr_t addr; /* where to dial (the bound port for tcp) */
    rm_listener_t *l;
    rm_role role; /* this process's role; the peer takes the other */
} suite_t;

typedef struct {
    const char *fault;             /* the peer's REMORA_FAULT, or NULL */
    void (*on_conn)(rm_conn_t *c); /* the peer runs this on its end ... */
    void (*on_fd)(int fd);         /* ... or this on its raw socket */
} peer_t;

/* This side's socket: clients dial, servers accept. */
static int raw_end(const suite_t *s)
{
    int fd;
    if (s->role == RM_ROLE_CLIENT)
        CHECK_ST(rm_sock_dial(&s->addr, 0, &fd), RM_OK);
    else
        CHECK_ST(rm_listener_accept(s->l, &fd), RM_OK);
    CHECK(has_cloexec(fd));
    return fd;
}

static rm_conn_t *open_end(const suite_t *s)
{
    rm_conn_t *c;
    CHECK_ST(rm_conn_open(s->addr.scheme, raw_end(s), s->role, &c), RM_OK);
    return c;
}

/* Forks the peer. Call before opening this side's end, so that the peer's
 * death closes the only copy of its socket. */
static pid_t spawn(const suite_t *s, peer_t p)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid > 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(watchdog_s());
    CHECK_ST(rm_fault_set(p.fault), RM_OK);
    suite_t peer = *s;
    peer.role = s->role == RM_ROLE_SERVER ? RM_ROLE_CLIENT : RM_ROLE_SERVER;
    if (p.on_fd) {
        int fd = raw_end(&peer);
        p.on_fd(fd);
        close(fd);
    } else {
        rm_conn_t *c = open_end(&peer);
        p.on_conn(c);
        rm_conn_close(c);
    }
    _exit(0);
}

/* want_sig 0: the peer must exit 0; else it must die of that signal. */
static void join(pid_t pid, int want_sig)
{
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (want_sig)
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == want_sig);
    else
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- conformance cases ---- */

/* Echo: [u32 len][len bytes] comes back with every byte plus one; len 0 ends. */
static void peer_echo(rm_conn_t *c)
{
    uint8_t buf[512];
    for (;;) {
        uint32_t len;
        CHECK_ST(rm_conn_read(c, &len, sizeof len), RM_OK);
        if (len == 0)
            return;
        CHECK(len <= sizeof buf);
        CHECK_ST(rm_conn_read(c, buf, len), RM_OK);
        for (uint32_t i = 0; i < len; i++)
            buf[i]++;
        struct iovec v[2] = {{&len, sizeof len}, {buf, len}};
        CHECK_ST(rm_conn_writev(c, v, 2), RM_OK);
    }
}

static void case_small_both_ways(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_echo});
    rm_conn_t *c = open_end(s);
    uint8_t out[512], in[512];
    for (uint32_t round = 0; round < 2000; round++) {
        uint32_t len = round % 300 + 1, back;
        fill(out, len, round, 1);
        CHECK_ST(rm_conn_write(c, &len, sizeof len), RM_OK);
        CHECK_ST(rm_conn_write(c, out, len), RM_OK);
        CHECK_ST(rm_conn_read(c, &back, sizeof back), RM_OK);
        CHECK(back == len);
        CHECK_ST(rm_conn_read(c, in, len), RM_OK);
        for (uint32_t i = 0; i < len; i++)
            CHECK(in[i] == (uint8_t)(out[i] + 1));
    }
    uint32_t end = 0;
    CHECK_ST(rm_conn_write(c, &end, sizeof end), RM_OK);
    join(pid, 0);
    rm_conn_close(c);
}

/* Takes BIG_BYTES in one read, answers their checksum, sends BIG_BYTES back. */
static void peer_big(rm_conn_t *c)
{
    uint8_t *buf = xmalloc(BIG_BYTES);
    CHECK_ST(rm_conn_read(c, buf, BIG_BYTES), RM_OK);
    uint64_t sum = checksum(buf, BIG_BYTES);
    CHECK_ST(rm_conn_write(c, &sum, sizeof sum), RM_OK);
    fill(buf, BIG_BYTES, 0, 7);
    CHECK_ST(rm_conn_write(c, buf, BIG_BYTES), RM_OK);
    free(buf);
}

static void case_big_message(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_big});
    rm_conn_t *c = open_end(s);
    uint8_t *buf = xmalloc(BIG_BYTES);
    uint64_t sum;
    fill(buf, BIG_BYTES, 0, 3);
    CHECK_ST(rm_conn_write(c, buf, BIG_BYTES), RM_OK);
    CHECK_ST(rm_conn_read(c, &sum, sizeof sum), RM_OK);
    CHECK(sum == checksum(buf, BIG_BYTES));
    fill(buf, BIG_BYTES, 0, 7);
    sum = checksum(buf, BIG_BYTES);
    memset(buf, 0, BIG_BYTES);
    CHECK_ST(rm_conn_read(c, buf, BIG_BYTES), RM_OK);
    CHECK(checksum(buf, BIG_BYTES) == sum);
    free(buf);
    join(pid, 0);
    rm_conn_close(c);
}

/* Writes of 1..7 bytes, read back in chunks of 1..13: a stream, not messages. */
#define TINY_WRITES 20000

static void send_tiny(rm_conn_t *c, uint32_t seed)
{
    uint8_t b[8];
    uint64_t off = 0;
    for (int i = 0; i < TINY_WRITES; i++) {
        size_t n = (size_t)(i % 7) + 1;
        fill(b, n, off, seed);
        CHECK_ST(rm_conn_write(c, b, n), RM_OK);
        off += n;
    }
}

static void recv_tiny(rm_conn_t *c, uint32_t seed)
{
    uint64_t total = 0, off = 0;
    for (int i = 0; i < TINY_WRITES; i++)
        total += (uint64_t)(i % 7) + 1;
    uint8_t b[16];
    for (int j = 0; off < total; j++) {
        size_t n = (size_t)(j % 13) + 1;
        if (n > total - off)
            n = (size_t)(total - off);
        CHECK_ST(rm_conn_read(c, b, n), RM_OK);
        CHECK(matches(b, n, off, seed));
        off += n;
    }
}

static void peer_tiny(rm_conn_t *c)
{
    recv_tiny(c, 11);
    send_tiny(c, 12);
}

static void case_tiny_writes(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_tiny});
    rm_conn_t *c = open_end(s);
    send_tiny(c, 11);
    recv_tiny(c, 12);
    join(pid, 0);
    rm_conn_close(c);
}

/* Slices of one buffer as iovecs: empty ones, odd sizes, and more iovecs
 * than IOV_MAX allows in one system call. */
#define IOV_MANY 2000
static const size_t iov_sizes[] = {0, 1, 7, 4096, 0, 100000, 3};
#define IOV_FEW (sizeof iov_sizes / sizeof iov_sizes[0])

static size_t slice(uint8_t *buf, struct iovec *v)
{
    size_t off = 0, i;
    for (i = 0; i < IOV_FEW; off += iov_sizes[i], i++)
        v[i] = (struct iovec){buf + off, iov_sizes[i]};
    for (; i < IOV_FEW + IOV_MANY; off += i % 3, i++)
        v[i] = (struct iovec){buf + off, i % 3};
    return off;
}

static void peer_writev(rm_conn_t *c)
{
    static struct iovec v[IOV_FEW + IOV_MANY];
    uint8_t *buf = xmalloc(200000);
    size_t n = slice(buf, v);
    CHECK_ST(rm_conn_read(c, buf, n), RM_OK);
    CHECK(matches(buf, n, 0, 5));
    fill(buf, n, 0, 6);
    CHECK_ST(rm_conn_writev(c, v, (int)(IOV_FEW + IOV_MANY)), RM_OK);
    free(buf);
}

static void case_writev(const suite_t *s)
{
    static struct iovec v[IOV_FEW + IOV_MANY];
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_writev});
    rm_conn_t *c = open_end(s);
    uint8_t *buf = xmalloc(200000);
    size_t n = slice(buf, v);
    fill(buf, n, 0, 5);
    CHECK_ST(rm_conn_writev(c, v, (int)(IOV_FEW + IOV_MANY)), RM_OK);
    CHECK_ST(rm_conn_writev(c, v, 0), RM_OK);
    memset(buf, 0, n);
    CHECK_ST(rm_conn_read(c, buf, n), RM_OK);
    CHECK(matches(buf, n, 0, 6));
    free(buf);
    join(pid, 0);
    rm_conn_close(c);
}

/* Both sides write DUPLEX_BYTES while reading the other's: with both rings
 * (or socket buffers) full, neither may wait for the other. */
typedef struct {
    rm_conn_t *c;
    uint32_t seed;
    rm_status st;
} duplex_t;

static void *duplex_writer(void *arg)
{
    duplex_t *d = arg;
    uint8_t *buf = xmalloc(DUPLEX_BYTES);
    fill(buf, DUPLEX_BYTES, 0, d->seed);
    d->st = rm_conn_write(d->c, buf, DUPLEX_BYTES);
    free(buf);
    return NULL;
}

static void duplex(rm_conn_t *c, uint32_t my_seed, uint32_t peer_seed)
{
    duplex_t d = {c, my_seed, RM_ERR_IO};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, duplex_writer, &d) == 0);
    uint8_t *buf = xmalloc(DUPLEX_BYTES);
    CHECK_ST(rm_conn_read(c, buf, DUPLEX_BYTES), RM_OK);
    CHECK(matches(buf, DUPLEX_BYTES, 0, peer_seed));
    free(buf);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_ST(d.st, RM_OK);
}

static void peer_duplex(rm_conn_t *c) { duplex(c, 22, 21); }

static void case_full_duplex(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_duplex});
    rm_conn_t *c = open_end(s);
    duplex(c, 21, 22);
    join(pid, 0);
    rm_conn_close(c);
}

/* Says it is ready, then dies without a word while the other side waits. */
static void peer_ready_then_die(rm_conn_t *c)
{
    CHECK_ST(rm_conn_write(c, "R", 1), RM_OK);
    usleep(200000);
    raise(SIGKILL);
}

static void case_peer_killed_in_read(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_ready_then_die});
    rm_conn_t *c = open_end(s);
    char b;
    CHECK_ST(rm_conn_read(c, &b, 1), RM_OK);
    double t0 = now_s();
    CHECK_ST(rm_conn_read(c, &b, 1), RM_ERR_CLOSED);
    CHECK(now_s() - t0 < DEAD_PEER_LIMIT_S);
    join(pid, SIGKILL);
    rm_conn_close(c);
}

static void case_peer_killed_in_write(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_ready_then_die});
    rm_conn_t *c = open_end(s);
    uint8_t *buf = xmalloc(BIG_BYTES);
    memset(buf, 1, BIG_BYTES);
    CHECK_ST(rm_conn_read(c, buf, 1), RM_OK);
    double t0 = now_s();
    CHECK_ST(rm_conn_write(c, buf, BIG_BYTES), RM_ERR_CLOSED);
    CHECK(now_s() - t0 < DEAD_PEER_LIMIT_S);
    free(buf);
    join(pid, SIGKILL);
    rm_conn_close(c);
}

/* Writes after a read saw the peer gone: the first may still land in the
 * socket's buffer, a later one meets the dead peer's reset. Either is
 * fine; a SIGPIPE (the test does not ignore it) kills the test. */
static void case_write_after_peer_died(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_ready_then_die});
    rm_conn_t *c = open_end(s);
    char b;
    CHECK_ST(rm_conn_read(c, &b, 1), RM_OK);
    CHECK_ST(rm_conn_read(c, &b, 1), RM_ERR_CLOSED);
    join(pid, SIGKILL);
    rm_status st = RM_OK;
    for (int i = 0; i < 50 && st == RM_OK; i++) {
        st = rm_conn_write(c, "x", 1);
        usleep(2000);
    }
    CHECK(st == RM_OK || st == RM_ERR_CLOSED);
    rm_conn_close(c);
}

/* Under close_after_bytes:1000 the peer's 5000-byte write delivers 1000. */
static void peer_close_after(rm_conn_t *c)
{
    uint8_t b[5000];
    fill(b, sizeof b, 0, 9);
    CHECK_ST(rm_conn_write(c, b, sizeof b), RM_ERR_CLOSED);
    CHECK_ST(rm_conn_write(c, b, 1), RM_ERR_CLOSED);
    CHECK_ST(rm_conn_read(c, b, 1), RM_ERR_CLOSED);
}

static void case_fault_close_after(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.fault = "close_after_bytes:1000", .on_conn = peer_close_after});
    rm_conn_t *c = open_end(s);
    uint8_t b[1000];
    CHECK_ST(rm_conn_read(c, b, sizeof b), RM_OK);
    CHECK(matches(b, sizeof b, 0, 9));
    CHECK_ST(rm_conn_read(c, b, 1), RM_ERR_CLOSED);
    join(pid, 0);
    rm_conn_close(c);
}

/* Under truncate_after_bytes:100 writes "succeed" but only 100 bytes arrive;
 * the connection stays up until the peer closes it. */
static void peer_truncate(rm_conn_t *c)
{
    uint8_t b[300];
    fill(b, sizeof b, 0, 10);
    CHECK_ST(rm_conn_write(c, b, 250), RM_OK);
    CHECK_ST(rm_conn_write(c, b + 250, 50), RM_OK);
    CHECK_ST(rm_conn_read(c, b, 1), RM_OK);
}

static void case_fault_truncate(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.fault = "truncate_after_bytes:100", .on_conn = peer_truncate});
    rm_conn_t *c = open_end(s);
    uint8_t b[100];
    CHECK_ST(rm_conn_read(c, b, sizeof b), RM_OK);
    CHECK(matches(b, sizeof b, 0, 10));
    CHECK_ST(rm_conn_write(c, "k", 1), RM_OK);
    CHECK_ST(rm_conn_read(c, b, 1), RM_ERR_CLOSED);
    join(pid, 0);
    rm_conn_close(c);
}

static void peer_delay(rm_conn_t *c)
{
    double t0 = now_s();
    for (int i = 0; i < 5; i++)
        CHECK_ST(rm_conn_write(c, "d", 1), RM_OK);
    CHECK(now_s() - t0 >= 5 * 2000e-6);
}

static void case_fault_delay(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.fault = "delay_us:2000", .on_conn = peer_delay});
    rm_conn_t *c = open_end(s);
    char b[5];
    CHECK_ST(rm_conn_read(c, b, sizeof b), RM_OK);
    CHECK(memcmp(b, "ddddd", 5) == 0);
    join(pid, 0);
    rm_conn_close(c);
}

typedef struct {
    const char *name;
    void (*run)(const suite_t *s);
} test_case_t;

/* A peer alive but stopped (SIGSTOP): with a socket timeout, reads and
 * writes that make no progress for that long fail with RM_ERR_TIMEOUT;
 * without one they would wait forever. */
static void peer_ready_then_stop(rm_conn_t *c)
{
    CHECK_ST(rm_conn_write(c, "R", 1), RM_OK);
    raise(SIGSTOP);
}

/* TCP sockets probe a silent peer well before the kernel's two hours. */
static void check_keepalive(int fd)
{
    int on = 0, idle = 0, cnt = 0;
    socklen_t len = sizeof on;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len) == 0 && on);
    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len) == 0 && idle == RM_KEEPALIVE_IDLE_S);
    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, &len) == 0 && cnt == RM_KEEPALIVE_COUNT);
}

static void case_stopped_peer_timeout(const suite_t *s)
{
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_ready_then_stop});
    int fd = raw_end(s);
    if (s->addr.scheme == RM_SCHEME_TCP || s->addr.scheme == RM_SCHEME_UCX)
        check_keepalive(fd);
    CHECK_ST(rm_sock_set_timeout(fd, 300), RM_OK);
    CHECK(rm_sock_timeout_ms(fd) == 300);
    rm_conn_t *c;
    CHECK_ST(rm_conn_open(s->addr.scheme, fd, s->role, &c), RM_OK);
    char b;
    CHECK_ST(rm_conn_read(c, &b, 1), RM_OK);
    double t0 = now_s();
    CHECK_ST(rm_conn_read(c, &b, 1), RM_ERR_TIMEOUT);
    CHECK(now_s() - t0 < DEAD_PEER_LIMIT_S);
    uint8_t *buf = xmalloc(BIG_BYTES); /* more than the ring or the socket buffers hold */
    memset(buf, 0, BIG_BYTES);
    CHECK_ST(rm_conn_write(c, buf, BIG_BYTES), RM_ERR_TIMEOUT);
    free(buf);
    kill(pid, SIGKILL);
    join(pid, SIGKILL);
    rm_conn_close(c);
}

static const test_case_t conformance[] = {
    {"stopped peer, socket timeout", case_stopped_peer_timeout},
    {"small messages both ways", case_small_both_ways},
    {"64 MiB message with checksum", case_big_message},
    {"many tiny writes", case_tiny_writes},
    {"writev with many iovecs", case_writev},
    {"full duplex", case_full_duplex},
    {"peer killed during read", case_peer_killed_in_read},
    {"peer killed during write", case_peer_killed_in_write},
    {"writes after the peer died", case_write_after_peer_died},
    {"fault close_after_bytes", case_fault_close_after},
    {"fault truncate_after_bytes", case_fault_truncate},
    {"fault delay_us", case_fault_delay},
};

static const char *role_name(rm_role r) { return r == RM_ROLE_CLIENT ? "client" : "server"; }

/* Opens a listener on addr (port 0 for tcp: any free one). */
static void suite_open(suite_t *s, const char *addr, rm_role role)
{
    s->role = role;
    CHECK_ST(rm_addr_parse(addr, &s->addr), RM_OK);
    CHECK_ST(rm_listener_open(&s->addr, &s->l), RM_OK);
    CHECK(has_cloexec(rm_listener_fd(s->l)));
    if (rm_scheme_is_inet(s->addr.scheme)) {
        s->addr.port = rm_listener_port(s->l);
        CHECK(s->addr.port > 0);
    }
}

/* UCX's global state (its async thread, event sets) does not survive fork():
 * a ucx:// case runs in a child of its own, which forks its peer before it
 * makes any UCX call, so neither inherits a live UCX. */
static void run_case_alone(const suite_t *s, void (*run)(const suite_t *s))
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        run(s);
        fflush(stdout);
        _exit(0);
    }
    join(pid, 0);
}

static void run_conformance(const char *name, const char *addr)
{
    for (int r = 0; r < 2; r++) {
        suite_t s;
        suite_open(&s, addr, r == 0 ? RM_ROLE_SERVER : RM_ROLE_CLIENT);
        for (size_t i = 0; i < sizeof conformance / sizeof conformance[0]; i++) {
            double t0 = now_s();
            if (s.addr.scheme == RM_SCHEME_UCX)
                run_case_alone(&s, conformance[i].run);
            else
                conformance[i].run(&s);
            printf("ok  %s, this side %s: %s (%.0f ms)\n", name, role_name(s.role),
                   conformance[i].name, (now_s() - t0) * 1e3);
            fflush(stdout);
        }
        rm_listener_close(s.l);
    }
}

/* ---- shm: peers that misbehave, and fds on the socket ---- */

/* The raw server below scribbles over the whole ring memory, then says so. */
static void peer_after_scribble(rm_conn_t *c)
{
    char b;
    CHECK_ST(rm_sock_read_all(rm_conn_fd(c), &b, 1), RM_OK);
    CHECK_ST(rm_conn_read(c, &b, 1), RM_ERR_PROTO);
    /* A writer looks at the reader's index once the ring seems full. */
    uint8_t *buf = xmalloc(BIG_BYTES);
    memset(buf, 0, BIG_BYTES);
    CHECK_ST(rm_conn_write(c, buf, BIG_BYTES), RM_ERR_PROTO);
    free(buf);
}

static void shm_scribbled_ring(suite_t *s)
{
    s->role = RM_ROLE_SERVER;
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_after_scribble});
    int fd = raw_end(s), memfd, nfds;
    char b;
    struct stat sb;
    /* The ring memory travels with the first byte of the hello. */
    CHECK_ST(rm_sock_recv_fds(fd, &memfd, &nfds, 1, &b, 1), RM_OK);
    CHECK(nfds == 1 && fstat(memfd, &sb) == 0);
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    CHECK(m != MAP_FAILED);
    memset(m, 0xA5, (size_t)sb.st_size);
    munmap(m, (size_t)sb.st_size);
    close(memfd);
    CHECK_ST(rm_sock_write_all(fd, "s", 1), RM_OK);
    join(pid, 0);
    close(fd);
}

static void peer_hello_garbage(int fd)
{
    uint8_t junk[64];
    int memfd = memfd_create("junk", MFD_CLOEXEC);
    CHECK(memfd >= 0 && ftruncate(memfd, 1 << 20) == 0);
    fill(junk, sizeof junk, 0, 13);
    CHECK_ST(rm_sock_send_fds(fd, &memfd, 1, junk, sizeof junk), RM_OK);
    close(memfd);
}

static void peer_hello_without_fd(int fd)
{
    uint8_t junk[64] = {0};
    CHECK_ST(rm_sock_send_fds(fd, NULL, 0, junk, sizeof junk), RM_OK);
}

static void peer_hello_none(int fd) { (void)fd; }

static void shm_bad_hello(suite_t *s, void (*peer)(int), rm_status want)
{
    s->role = RM_ROLE_SERVER;
    pid_t pid = spawn(s, (peer_t){.on_fd = peer});
    rm_conn_t *c = NULL;
    CHECK_ST(rm_conn_open(RM_SCHEME_SHM, raw_end(s), RM_ROLE_SERVER, &c), want);
    CHECK(c == NULL);
    join(pid, 0);
}

/* An fd sent on the socket while the rings are in use is still there for
 * rm_sock_recv_fds after the reader has polled the socket for liveness. */
static void peer_fd_while_ring_busy(rm_conn_t *c)
{
    int p[2];
    char b;
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK_ST(rm_sock_send_fds(rm_conn_fd(c), &p[1], 1, "F", 1), RM_OK);
    usleep(300000); /* long enough for the reader to sleep and poll */
    CHECK_ST(rm_conn_write(c, "A", 1), RM_OK);
    CHECK(read(p[0], &b, 1) == 1 && b == 'Z');
    close(p[0]);
    close(p[1]);
}

static void shm_fd_while_ring_busy(suite_t *s)
{
    s->role = RM_ROLE_SERVER;
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_fd_while_ring_busy});
    rm_conn_t *c = open_end(s);
    int f, nfds;
    char b;
    CHECK_ST(rm_conn_read(c, &b, 1), RM_OK);
    CHECK(b == 'A');
    CHECK_ST(rm_sock_recv_fds(rm_conn_fd(c), &f, &nfds, 1, &b, 1), RM_OK);
    CHECK(nfds == 1 && b == 'F' && has_cloexec(f));
    CHECK(write(f, "Z", 1) == 1);
    close(f);
    join(pid, 0);
    rm_conn_close(c);
}

/* Dies with an unread fd message on the socket: still noticed. */
static void peer_fd_then_die(rm_conn_t *c)
{
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK_ST(rm_sock_send_fds(rm_conn_fd(c), &p[1], 1, "F", 1), RM_OK);
    peer_ready_then_die(c);
}

static void shm_dead_peer_with_unread_fd(suite_t *s)
{
    s->role = RM_ROLE_SERVER;
    pid_t pid = spawn(s, (peer_t){.on_conn = peer_fd_then_die});
    rm_conn_t *c = open_end(s);
    char b;
    CHECK_ST(rm_conn_read(c, &b, 1), RM_OK);
    double t0 = now_s();
    CHECK_ST(rm_conn_read(c, &b, 1), RM_ERR_CLOSED);
    CHECK(now_s() - t0 < DEAD_PEER_LIMIT_S);
    join(pid, SIGKILL);
    rm_conn_close(c);
}

static void test_shm_misbehaving_peers(const char *addr)
{
    suite_t s;
    suite_open(&s, addr, RM_ROLE_SERVER);
    shm_scribbled_ring(&s);
    shm_bad_hello(&s, peer_hello_garbage, RM_ERR_PROTO);
    shm_bad_hello(&s, peer_hello_without_fd, RM_ERR_PROTO);
    shm_bad_hello(&s, peer_hello_none, RM_ERR_CLOSED);
    shm_fd_while_ring_busy(&s);
    shm_dead_peer_with_unread_fd(&s);
    rm_listener_close(s.l);
    printf("ok  shm: scribbled ring, bad hellos, fds beside the rings, dead peer with unread fd\n");
}

/* ---- addresses ---- */

static void check_addr(const char *s, rm_scheme scheme, const char *host, int port,
                       const char *path)
{
    rm_addr_t a;
    CHECK_ST(rm_addr_parse(s, &a), RM_OK);
    CHECK(a.scheme == scheme);
    if (rm_scheme_is_inet(scheme))
        CHECK(strcmp(a.host, host) == 0 && a.port == port);
    else
        CHECK(strcmp(a.path, path) == 0);
}

static void test_addr_parse(void)
{
    check_addr("tcp://127.0.0.1:7000", RM_SCHEME_TCP, "127.0.0.1", 7000, NULL);
    check_addr("gpu-box.local:0", RM_SCHEME_TCP, "gpu-box.local", 0, NULL);
    check_addr("tcp://[::1]:65535", RM_SCHEME_TCP, "::1", 65535, NULL);
    check_addr("tls://gpu-box.local:7443", RM_SCHEME_TLS, "gpu-box.local", 7443, NULL);
    check_addr("tls://[::1]:1", RM_SCHEME_TLS, "::1", 1, NULL);
    check_addr("shm://train", RM_SCHEME_SHM, NULL, 0, "/tmp/remora-train.sock");
    check_addr("shm:///run/remora/a.sock", RM_SCHEME_SHM, NULL, 0, "/run/remora/a.sock");
    check_addr("/tmp/x.sock", RM_SCHEME_SHM, NULL, 0, "/tmp/x.sock");
#ifdef RM_HAVE_UCX
    check_addr("ucx://node:13337", RM_SCHEME_UCX, "node", 13337, NULL);
    check_addr("ucx://[fe80::1]:2", RM_SCHEME_UCX, "fe80::1", 2, NULL);
#endif

    char long_path[200], long_name[120];
    memset(long_path, 'p', sizeof long_path);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    snprintf(long_name, sizeof long_name, "shm://%0100d", 0);
    const char *bad[] = {
        "",
        "tcp://",
        "tcp://host",
        "tcp://host:",
        "tcp://host:65536",
        "tcp://host:-1",
        "tcp://host:12ab",
        "tcp://:80",
        "::1:80",
        "tcp://[::1]80",
        "tcp://[::1:80",
        "host",
#ifndef RM_HAVE_UCX
        "ucx://node:13337", /* built without UCX: refused with a message */
#endif
        "ucx://node",
        "ucx:///tmp/x.sock",
        "tls://",
        "tls://host",
        "tls:///tmp/x.sock",
        "TLS://host:1",
        "foo://bar:1",
        "shm://",
        "shm://a/b",
        long_path,
        long_name,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rm_addr_t a, before;
        memset(&a, 0x5a, sizeof a);
        before = a;
        CHECK_ST(rm_addr_parse(bad[i], &a), RM_ERR_ADDR);
        CHECK(memcmp(&a, &before, sizeof a) == 0);
    }
    rm_addr_t a;
    CHECK_ST(rm_addr_parse(NULL, &a), RM_ERR_ADDR);

    char buf[300];
    const char *round[] = {"tcp://h:1", "tls://h:2", "tls://[::1]:3", "shm:///tmp/x.sock",
#ifdef RM_HAVE_UCX
                           "ucx://h:4",
#endif
    };
    for (size_t i = 0; i < sizeof round / sizeof round[0]; i++) {
        CHECK_ST(rm_addr_parse(round[i], &a), RM_OK);
        CHECK(strcmp(rm_addr_format(&a, buf, sizeof buf), round[i]) == 0);
    }

    rm_addr_t list[3];
    int n = 0;
    CHECK_ST(rm_addr_parse_list("tcp://a:1,shm://b", list, 3, &n), RM_OK);
    CHECK(n == 2 && list[0].scheme == RM_SCHEME_TCP && list[0].port == 1 && list[1].scheme == RM_SCHEME_SHM);
    CHECK_ST(rm_addr_parse_list("a:1", list, 3, &n), RM_OK);
    CHECK(n == 1);
    n = 7;
    CHECK_ST(rm_addr_parse_list("a:1,", list, 3, &n), RM_ERR_ADDR);
    CHECK_ST(rm_addr_parse_list("a:1,,b:2", list, 3, &n), RM_ERR_ADDR);
    CHECK_ST(rm_addr_parse_list("a:1,b:2,c:3,d:4", list, 3, &n), RM_ERR_ADDR);
    CHECK(n == 7); /* untouched on failure */
    printf("ok  address parsing\n");
}

/* ---- listeners ---- */

static void test_unix_listener(const char *path)
{
    rm_addr_t a;
    rm_listener_t *l, *l2;
    int fd;
    CHECK_ST(rm_addr_parse(path, &a), RM_OK);

    /* A socket file whose server died is replaced. */
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0);
    close(fd);
    CHECK_ST(rm_listener_open(&a, &l), RM_OK);
    CHECK(rm_listener_port(l) == 0);

    /* One a server still listens on is not. */
    CHECK_ST(rm_listener_open(&a, &l2), RM_ERR_ADDR);
    CHECK_ST(rm_sock_dial(&a, 0, &fd), RM_OK);
    CHECK(has_cloexec(fd));
    close(fd);
    rm_listener_close(l);
    CHECK(access(path, F_OK) != 0 && errno == ENOENT);
    CHECK_ST(rm_sock_dial(&a, 0, &fd), RM_ERR_IO);

    /* Nor is a file that is not a socket. */
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK_ST(rm_listener_open(&a, &l), RM_ERR_ADDR);
    CHECK(access(path, F_OK) == 0);
    unlink(path);
    rm_listener_close(NULL); /* a no-op */
    printf("ok  unix listener: stale path, path in use, not a socket, unlink on close\n");
}

/* ---- fd passing ---- */

typedef struct {
    int fd;
    size_t n;
    int nfds;
    rm_status st;
} fd_recv_t;

static void *recv_big_with_fds(void *arg)
{
    fd_recv_t *r = arg;
    int fds[4];
    uint8_t *buf = xmalloc(r->n);
    r->st = rm_sock_recv_fds(r->fd, fds, &r->nfds, 4, buf, r->n);
    if (r->st == RM_OK && !matches(buf, r->n, 0, 17))
        r->st = RM_ERR_PROTO;
    for (int i = 0; r->st == RM_OK && i < r->nfds; i++)
        close(fds[i]);
    free(buf);
    return NULL;
}

static void test_fd_passing(void)
{
    int sp[2], p[2], fds[4], nfds;
    char buf[16], b;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    CHECK(pipe2(p, O_CLOEXEC) == 0);

    /* Two fds with data; the received ones work and are close-on-exec. */
    CHECK_ST(rm_sock_send_fds(sp[0], p, 2, "0123456789", 10), RM_OK);
    CHECK_ST(rm_sock_recv_fds(sp[1], fds, &nfds, 4, buf, 10), RM_OK);
    CHECK(nfds == 2 && memcmp(buf, "0123456789", 10) == 0);
    CHECK(has_cloexec(fds[0]) && has_cloexec(fds[1]));
    CHECK(write(fds[1], "w", 1) == 1 && read(p[0], &b, 1) == 1 && b == 'w');
    close(fds[0]);
    close(fds[1]);

    /* Plain bytes: no fds. */
    CHECK_ST(rm_sock_send_fds(sp[0], NULL, 0, "ab", 2), RM_OK);
    CHECK_ST(rm_sock_recv_fds(sp[1], fds, &nfds, 4, buf, 2), RM_OK);
    CHECK(nfds == 0 && memcmp(buf, "ab", 2) == 0);

    /* More fds than the receiver has room for: refused, none leaked. */
    int open_before = count_open_fds();
    int three[3] = {p[0], p[1], p[0]};
    CHECK_ST(rm_sock_send_fds(sp[0], three, 3, "x", 1), RM_OK);
    CHECK_ST(rm_sock_recv_fds(sp[1], fds, &nfds, 2, buf, 1), RM_ERR_PROTO);
    CHECK(count_open_fds() == open_before);

    /* Bad arguments. */
    int five[5] = {p[0], p[0], p[0], p[0], p[0]};
    CHECK_ST(rm_sock_send_fds(sp[0], five, 5, "x", 1), RM_ERR_INVAL);
    CHECK_ST(rm_sock_send_fds(sp[0], p, 1, "", 0), RM_ERR_INVAL);

    /* A message bigger than the socket buffer: fds with its first part. */
    fd_recv_t r = {sp[1], (size_t)4 << 20, -1, RM_ERR_IO};
    uint8_t *big = xmalloc(r.n);
    pthread_t t;
    fill(big, r.n, 0, 17);
    CHECK(pthread_create(&t, NULL, recv_big_with_fds, &r) == 0);
    CHECK_ST(rm_sock_send_fds(sp[0], p, 2, big, r.n), RM_OK);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_ST(r.st, RM_OK);
    CHECK(r.nfds == 2);
    free(big);

    /* The peer hangs up. */
    close(sp[0]);
    CHECK_ST(rm_sock_recv_fds(sp[1], fds, &nfds, 4, buf, 1), RM_ERR_CLOSED);
    CHECK_ST(rm_sock_send_fds(sp[1], NULL, 0, "x", 1), RM_ERR_CLOSED);
    close(sp[1]);
    close(p[0]);
    close(p[1]);
    printf("ok  fd passing\n");
}

/* ---- fault spec parsing ---- */

static void test_fault_spec(void)
{
    const char *bad[] = {"bogus",       "delay_us",
                         "delay_us:",   "delay_us:x",
                         "delay_us:5x", "close_after_bytes:-1",
                         "drop_all:1",  "delay_us:1;close_after_bytes:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ST(rm_fault_set(bad[i]), RM_ERR_INVAL);
    CHECK_ST(rm_fault_set("delay_us:1,close_after_bytes:2,truncate_after_bytes:3"), RM_OK);
    CHECK_ST(rm_fault_set(""), RM_OK);
    CHECK_ST(rm_fault_set(NULL), RM_OK);
    printf("ok  fault spec parsing\n");
}

/* What "test_transport emul" runs the suite under: a rate that keeps the
 * 64 MiB cases short and jitter, so pieces come out at uneven times. */
#define EMUL_SPEC "rtt=200us,bw=10Gbit,jitter=50us"

/* A plain server whose answer is in the socket before the client's TLS #1
 * starts (a refusal sent at once, or a loaded machine that ran the server
 * first): the client still tells it from TLS (RM_OK, no connection; the
 * answer stays unread in the socket) instead of failing in OpenSSL on
 * "wrong version number". */
static void test_tls_hello_at_plain_server(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    const uint32_t magic = RM_PROTO_MAGIC;
    char answer[64] = {0};
    memcpy(answer, &magic, sizeof magic);
    CHECK_ST(rm_sock_write_all(sv[1], answer, sizeof answer), RM_OK);
    rm_conn_t *c = (rm_conn_t *)1;
    CHECK_ST(rm_tls_hello_open(sv[0], &c), RM_OK);
    CHECK(c == NULL);
    char got[sizeof answer];
    CHECK_ST(rm_sock_read_all(sv[0], got, sizeof got), RM_OK); /* all of it still there */
    CHECK(memcmp(got, answer, sizeof got) == 0);
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv)
{
    char sock_path[64], shm_addr[80];
    int emul = argc > 1 && strcmp(argv[1], "emul") == 0;
    alarm(watchdog_s());
    CHECK_ST(rm_fault_set(NULL), RM_OK); /* whatever REMORA_FAULT says */
    CHECK_ST(rm_emul_set(emul ? EMUL_SPEC : NULL), RM_OK); /* and REMORA_EMULATE */
    snprintf(sock_path, sizeof sock_path, "/tmp/rm-test-%d.sock", (int)getpid());
    snprintf(shm_addr, sizeof shm_addr, "shm://%s", sock_path);
    setenv("REMORA_SHM_RING_MB", "1", 1); /* 64 MiB goes round it 64 times */
    fprintf(stderr, "test_transport: errors logged below are expected (bad input on purpose)\n");

    if (argc > 2 && strcmp(argv[1], "tls") == 0) { /* certificates from tests/e2e/tls_certs.sh DIR */
        char cert[512], key[512], ca[512];
        snprintf(cert, sizeof cert, "%s/server.pem", argv[2]);
        snprintf(key, sizeof key, "%s/server.key", argv[2]);
        snprintf(ca, sizeof ca, "%s/ca.pem", argv[2]);
        CHECK_ST(rm_tls_server_setup(cert, key, NULL), RM_OK);
        setenv("REMORA_TLS_CA", ca, 1);
        rm_tls_expect_host("localhost"); /* the forked peers inherit it */
        test_tls_hello_at_plain_server();
        run_conformance("tls", "tls://localhost:0");
        printf("all transport tests passed over tls\n");
        return 0;
    }
#ifdef RM_HAVE_UCX
    if (argc > 1 && strcmp(argv[1], "ucx") == 0) { /* UCX_TLS (CTest: shm or tcp) picks its lane */
        const char *tls = getenv("UCX_TLS");
        char name[80];
        snprintf(name, sizeof name, "ucx(UCX_TLS=%s)", tls ? tls : "any");
        run_conformance(name, "ucx://127.0.0.1:0");
        printf("all transport tests passed over %s\n", name);
        return 0;
    }
#endif
    if (emul) { /* the client end of every connection emulated */
        run_conformance("tcp+emul(" EMUL_SPEC ")", "tcp://127.0.0.1:0");
        run_conformance("shm+emul(" EMUL_SPEC ")", shm_addr);
        printf("all transport tests passed through the emulator\n");
        return 0;
    }
    test_addr_parse();
    test_fault_spec();
    test_fd_passing();
    test_unix_listener(sock_path);
    run_conformance("tcp", "tcp://127.0.0.1:0");
    run_conformance("shm", shm_addr);
    test_shm_misbehaving_peers(shm_addr);
    printf("all transport tests passed\n");
    return 0;
}
