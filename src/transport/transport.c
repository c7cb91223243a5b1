/* Stream level entry points: picks the transport from the address scheme and
 * puts the network emulator (emul.c) and the fault-injection wrapper (fault.c)
 * around it when they are configured, so no transport needs to know about
 * any of them. Faults go outside: they act on what the program writes. */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "emul.h"
#include "fault.h"
#include "log.h"

rm_status rm_conn_open(rm_scheme s, int fd, rm_role role, rm_conn_t **out)
{
    const rm_transport_ops_t *ops = s == RM_SCHEME_TCP   ? &rm_tcp_ops
                                    : s == RM_SCHEME_SHM ? &rm_shm_ops
                                    : s == RM_SCHEME_TLS ? &rm_tls_ops
#ifdef RM_HAVE_UCX
                                    : s == RM_SCHEME_UCX ? &rm_ucx_ops
#endif
                                                         : NULL;
    if (!ops) {
        RM_ERROR("no transport for scheme %d", (int)s);
        close(fd);
        return RM_ERR_INVAL;
    }
    rm_conn_t *c;
    rm_status st = ops->open(fd, role, &c);
    if (st != RM_OK) {
        close(fd);
        return st;
    }
    if ((st = rm_emul_wrap(c, role, &c)) != RM_OK)
        return st;
    return rm_fault_wrap(c, out);
}

void rm_conn_close(rm_conn_t *c)
{
    if (c)
        c->ops->close(c);
}

uint64_t rm_env_number(const char *name, uint64_t def, uint64_t max)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || s[0] == '-' || v > max) {
        RM_WARN("%s=%s: want a number up to %llu; using %llu", name, s, (unsigned long long)max,
                (unsigned long long)def);
        return def;
    }
    return v;
}

uint64_t rm_transport_spin_ns(void)
{
    static uint64_t spin_ns = UINT64_MAX;
    if (spin_ns == UINT64_MAX)
        spin_ns = rm_env_number("REMORA_SPIN_US", RM_SPIN_US_DEFAULT, 1000000) * 1000;
    return spin_ns;
}

uint64_t rm_connect_timeout_s(void)
{
    return rm_env_number("REMORA_CONNECT_TIMEOUT", RM_CONNECT_TIMEOUT_DEFAULT_S, RM_TIMEOUT_MAX_S);
}
