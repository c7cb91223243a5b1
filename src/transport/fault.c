/* Fault injection (see fault.h): a connection wrapper whose writev applies
 * the configured faults and forwards to the real transport. Wrapping, rather
 * than hooks inside each transport, keeps tcp.c and shm.c free of fault code
 * and costs an unfaulted connection nothing. */
#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

#define NO_LIMIT UINT64_MAX

typedef struct {
    uint64_t delay_us;
    uint64_t close_after;    /* NO_LIMIT: never */
    uint64_t truncate_after; /* NO_LIMIT: never */
} fault_cfg_t;

typedef struct {
    rm_conn_t base; /* fd is the inner connection's socket */
    rm_conn_t *inner;
    fault_cfg_t cfg;
    uint64_t written; /* bytes the caller asked to write, kept or not */
    int shut;         /* close_after_bytes has fired */
} fault_conn_t;

static const fault_cfg_t no_faults = {0, NO_LIMIT, NO_LIMIT};
static fault_cfg_t config = {0, NO_LIMIT, NO_LIMIT};
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static int key_is(const char *key, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(key, name, len) == 0;
}

static uint64_t *cfg_field(fault_cfg_t *f, const char *key, size_t len)
{
    if (key_is(key, len, "delay_us"))
        return &f->delay_us;
    if (key_is(key, len, "close_after_bytes"))
        return &f->close_after;
    if (key_is(key, len, "truncate_after_bytes"))
        return &f->truncate_after;
    return NULL;
}

/* One "key:value" item at p; returns where the next one starts, or NULL. */
static const char *parse_item(const char *p, fault_cfg_t *f)
{
    const char *colon = strchr(p, ':');
    uint64_t *field = colon ? cfg_field(f, p, (size_t)(colon - p)) : NULL;
    if (!field || colon[1] < '0' || colon[1] > '9')
        return NULL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(colon + 1, &end, 10);
    if (errno != 0 || (*end != '\0' && *end != ','))
        return NULL;
    *field = v;
    return *end ? end + 1 : end;
}

static rm_status parse_spec(const char *spec, fault_cfg_t *out)
{
    fault_cfg_t f = no_faults;
    for (const char *p = spec ? spec : ""; *p;) {
        p = parse_item(p, &f);
        if (!p) {
            RM_ERROR("fault spec '%s': expected key:number[,key:number] with keys delay_us, "
                     "close_after_bytes, truncate_after_bytes",
                     spec);
            return RM_ERR_INVAL;
        }
    }
    *out = f;
    return RM_OK;
}

static void load_env(void)
{
    const char *s = getenv("REMORA_FAULT");
    if (s && *s && parse_spec(s, &config) == RM_OK)
        RM_WARN("fault injection on: REMORA_FAULT=%s", s);
}

rm_status rm_fault_set(const char *spec)
{
    pthread_once(&env_once, load_env);
    return parse_spec(spec, &config);
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The first n bytes of the iovecs, through the inner connection. */
static rm_status write_prefix(rm_conn_t *inner, const struct iovec *iov, int iovcnt, uint64_t n)
{
    for (int i = 0; i < iovcnt && n > 0; i++) {
        size_t k = iov[i].iov_len < n ? iov[i].iov_len : (size_t)n;
        rm_status st = rm_conn_write(inner, iov[i].iov_base, k);
        if (st != RM_OK)
            return st;
        n -= k;
    }
    return RM_OK;
}

static rm_status fault_writev(rm_conn_t *c, const struct iovec *iov, int iovcnt)
{
    fault_conn_t *fc = (fault_conn_t *)c;
    if (fc->shut)
        return RM_ERR_CLOSED;
    if (fc->cfg.delay_us)
        sleep_us(fc->cfg.delay_us);
    uint64_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    uint64_t limit =
        fc->cfg.close_after < fc->cfg.truncate_after ? fc->cfg.close_after : fc->cfg.truncate_after;
    uint64_t room = limit > fc->written ? limit - fc->written : 0;
    rm_status st = total <= room ? fc->inner->ops->writev(fc->inner, iov, iovcnt)
                                 : write_prefix(fc->inner, iov, iovcnt, room);
    fc->written += total;
    if (st != RM_OK || fc->written < fc->cfg.close_after)
        return st;
    RM_INFO("fault injection: closing the connection after %llu bytes",
            (unsigned long long)fc->cfg.close_after);
    shutdown(c->fd, SHUT_RDWR);
    fc->shut = 1;
    return fc->written > fc->cfg.close_after ? RM_ERR_CLOSED : RM_OK;
}

static rm_status fault_read(rm_conn_t *c, void *p, size_t n)
{
    fault_conn_t *fc = (fault_conn_t *)c;
    return fc->shut ? RM_ERR_CLOSED : rm_conn_read(fc->inner, p, n);
}

static void fault_carry(rm_conn_t *c, rm_carry dir, size_t n)
{
    rm_conn_carry(((fault_conn_t *)c)->inner, dir, n);
}

static void fault_close(rm_conn_t *c)
{
    fault_conn_t *fc = (fault_conn_t *)c;
    rm_conn_close(fc->inner);
    free(fc);
}

/* No open: wrappers are made by rm_fault_wrap around an open connection. */
static const rm_transport_ops_t fault_ops = {
    .name = "fault",
    .writev = fault_writev,
    .read = fault_read,
    .close = fault_close,
    .carry = fault_carry,
};

rm_status rm_fault_wrap(rm_conn_t *c, rm_conn_t **out)
{
    pthread_once(&env_once, load_env);
    if (memcmp(&config, &no_faults, sizeof config) == 0) {
        *out = c;
        return RM_OK;
    }
    fault_conn_t *fc = calloc(1, sizeof *fc);
    if (!fc) {
        RM_ERROR("fault injection: out of memory");
        rm_conn_close(c);
        return RM_ERR_NOMEM;
    }
    fc->base.ops = &fault_ops;
    fc->base.fd = c->fd;
    fc->inner = c;
    fc->cfg = config;
    *out = &fc->base;
    return RM_OK;
}
