/* The network emulator's connection wrapper (see emul.h): moves the bytes
 * through the real transport in pieces and waits, before each uplink piece
 * and before handing over each read, for the time the link model
 * (emul_link.c) gives. Waits sleep until shortly before the deadline, then
 * spin, so that microsecond round trips come out as configured. */
#define _GNU_SOURCE
#include "emul.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "emul_link.h"
#include "log.h"

/* Bytes per piece: the unit in which the uplink is paced and the downlink
 * timestamped. Small enough that a bulk copy keeps the real transport busy
 * while the model paces it, big enough to cost few system calls. */
#define EMUL_PIECE ((size_t)64 << 10)
#define EMUL_PIECE_IOV 64 /* iovecs in one piece, at most */
/* A wait this close to its deadline spins instead of sleeping: more than a
 * sleeping thread's usual wake-up lateness (timer slack is 50 us). */
#define EMUL_SPIN_NS 100000u

typedef struct {
    rm_conn_t base; /* fd is the inner connection's socket */
    rm_conn_t *inner;
    rm_emul_link_t link;
    size_t carried_down; /* bytes beside the stream, due with the next reply */
} emul_conn_t;

static rm_emul_spec_t config;
static int config_bad; /* REMORA_EMULATE could not be parsed */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static rm_status parse(const char *what, const char *spec, rm_emul_spec_t *out)
{
    char err[256];
    if (rm_emul_spec_parse(spec, out, err, sizeof err) == 0)
        return RM_OK;
    RM_ERROR("%s'%s': %s", what, spec, err);
    return RM_ERR_INVAL;
}

static void load_env(void)
{
    const char *s = getenv("REMORA_EMULATE");
    if (!s || !*s)
        return;
    config_bad = parse("REMORA_EMULATE=", s, &config) != RM_OK;
    if (!config_bad)
        RM_INFO("emulating a link: REMORA_EMULATE=%s", s);
}

rm_status rm_emul_set(const char *spec)
{
    pthread_once(&env_once, load_env);
    rm_emul_spec_t s;
    rm_status st = parse("emulator spec ", spec, &s);
    if (st == RM_OK) {
        config = s;
        config_bad = 0;
    }
    return st;
}

int rm_emul_active(void)
{
    pthread_once(&env_once, load_env);
    return !config_bad && rm_emul_spec_active(&config);
}

void rm_emul_wait_until(uint64_t t)
{
    uint64_t now = rm_now_ns();
    if (t > now + EMUL_SPIN_NS) {
        uint64_t wake = t - EMUL_SPIN_NS;
        struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
    while (rm_now_ns() < t)
        ;
}

/* One piece: serialised, then handed to the real transport. */
static rm_status send_piece(emul_conn_t *ec, uint64_t start, const struct iovec *part, int n,
                            size_t bytes)
{
    rm_emul_wait_until(rm_emul_link_up(&ec->link, start, bytes));
    return ec->inner->ops->writev(ec->inner, part, n);
}

static rm_status emul_writev(rm_conn_t *c, const struct iovec *iov, int iovcnt)
{
    emul_conn_t *ec = (emul_conn_t *)c;
    uint64_t start = rm_now_ns();
    struct iovec part[EMUL_PIECE_IOV];
    int n = 0;
    size_t bytes = 0;
    for (int i = 0; i < iovcnt; i++) {
        const char *b = iov[i].iov_base;
        for (size_t left = iov[i].iov_len; left > 0;) {
            size_t k = left < EMUL_PIECE - bytes ? left : EMUL_PIECE - bytes;
            part[n++] = (struct iovec){(void *)b, k};
            b += k;
            left -= k;
            bytes += k;
            if (bytes < EMUL_PIECE && n < EMUL_PIECE_IOV)
                continue;
            rm_status st = send_piece(ec, start, part, n, bytes);
            if (st != RM_OK)
                return st;
            n = 0;
            bytes = 0;
        }
    }
    return n ? send_piece(ec, start, part, n, bytes) : RM_OK;
}

static rm_status emul_read(rm_conn_t *c, void *p, size_t n)
{
    emul_conn_t *ec = (emul_conn_t *)c;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < EMUL_PIECE ? n - off : EMUL_PIECE;
        rm_status st = rm_conn_read(ec->inner, (char *)p + off, k);
        if (st != RM_OK)
            return st;
        rm_emul_link_down(&ec->link, rm_now_ns(), k);
        off += k;
    }
    if (ec->carried_down) { /* they arrive behind the reply's first bytes */
        rm_emul_link_down(&ec->link, rm_now_ns(), ec->carried_down);
        ec->carried_down = 0;
    }
    uint64_t from = rm_now_ns();
    rm_emul_wait_until(rm_emul_link_deliver(&ec->link));
    rm_emul_link_held(&ec->link, rm_now_ns() - from);
    return RM_OK;
}

/* Up: serialised now, as if written ahead of the next message. Down:
 * counted with the next reply. */
static void emul_carry(rm_conn_t *c, rm_carry dir, size_t n)
{
    emul_conn_t *ec = (emul_conn_t *)c;
    if (dir == RM_CARRY_UP)
        rm_emul_wait_until(rm_emul_link_up(&ec->link, rm_now_ns(), n));
    else
        ec->carried_down += n;
}

static void emul_close(rm_conn_t *c)
{
    emul_conn_t *ec = (emul_conn_t *)c;
    rm_conn_close(ec->inner);
    free(ec);
}

/* No open: wrappers are made by rm_emul_wrap around an open connection. */
static const rm_transport_ops_t emul_ops = {
    .name = "emul",
    .writev = emul_writev,
    .read = emul_read,
    .close = emul_close,
    .carry = emul_carry,
};

rm_status rm_emul_wrap(rm_conn_t *c, rm_role role, rm_conn_t **out)
{
    if (role == RM_ROLE_CLIENT) /* a server never reads REMORA_EMULATE */
        pthread_once(&env_once, load_env);
    if (role != RM_ROLE_CLIENT || (!config_bad && !rm_emul_spec_active(&config))) {
        *out = c;
        return RM_OK;
    }
    emul_conn_t *ec = config_bad ? NULL : malloc(sizeof *ec);
    if (!ec) {
        if (!config_bad)
            RM_ERROR("network emulator: out of memory");
        rm_conn_close(c);
        return config_bad ? RM_ERR_INVAL : RM_ERR_NOMEM;
    }
    ec->base.ops = &emul_ops;
    ec->base.fd = c->fd;
    ec->inner = c;
    ec->carried_down = 0;
    rm_emul_link_init(&ec->link, &config, rm_now_ns() ^ (uint64_t)getpid() << 32);
    *out = &ec->base;
    return RM_OK;
}
