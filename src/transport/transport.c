/* Stream level entry points: picks the transport from the address scheme and
 * puts the fault-injection wrapper (fault.c) around it when one is configured,
 * so no transport needs to know about either. */
#include "transport.h"

#include <unistd.h>

#include "fault.h"
#include "log.h"

rm_status rm_conn_open(rm_scheme s, int fd, rm_role role, rm_conn_t **out)
{
    const rm_transport_ops_t *ops = s == RM_SCHEME_TCP   ? &rm_tcp_ops
                                    : s == RM_SCHEME_SHM ? &rm_shm_ops
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
    return rm_fault_wrap(c, out);
}

void rm_conn_close(rm_conn_t *c)
{
    if (c)
        c->ops->close(c);
}
