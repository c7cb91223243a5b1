/* remora-server: configuration, the listener (never touches CUDA) and the
 * per-session worker process it forks. */
#ifndef RM_SERVER_H
#define RM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "remora/protocol.h"
#include "remora/status.h"
#include "counters.h"
#include "transport.h"

#define RM_MAX_LISTEN 8
#define RM_MAX_TENANT_LIMITS 32

/* remora-server --mem-limit TENANT=SIZE: the device-memory limit of the
 * sessions of one tenant ("ip ADDRESS" or "uid N", as the image cache
 * names them). */
typedef struct {
    char tenant[64];
    uint64_t bytes;
} rm_tenant_limit_t;

/* remora-server --compute-share [TENANT=]PCT[:pinned]: the compute share
 * of every session or of the sessions of one tenant. */
typedef struct {
    char tenant[64]; /* "" for every session */
    uint32_t percent; /* 1-100; 100: none */
    int pinned;       /* never more, whatever others leave unused */
} rm_share_rule_t;

typedef struct {
    const char *listen[RM_MAX_LISTEN];
    int nlisten;
    const char *backend;     /* "real" or "fake" */
    const char *driver_path; /* NULL: search */
    const char *ready_file;  /* written once listening */
    const char *token;       /* NULL or "": no authentication */
    const char *cache_dir;   /* module image cache; NULL: default */
    uint64_t pinned_limit;   /* bytes of shared segments per session; 0: half the host's memory */
    int alloc_plain;         /* --alloc plain: cuMemAlloc as it is, no memory manager mapping (mm.h) */
    uint64_t va_base;        /* --va-base: the memory manager's device address arenas (mm_arena.h); 0: none */
    int max_channels;        /* channels (client threads) per session; 0: RM_DEFAULT_CHANNELS */
    int max_sessions;        /* sessions (workers) in all; 0: RM_DEFAULT_SESSIONS */
    int max_sessions_per_peer; /* per client address (TCP) or user (Unix socket); 0: max_sessions */
    uint64_t cache_size;     /* module image cache bytes per tenant; 0: RM_DEFAULT_CACHE_SIZE */
    uint64_t buffer_limit;   /* message buffers of one session's channels; 0: RM_DEFAULT_BUFFER_LIMIT */
    uint64_t mem_limit;      /* device memory per GPU one session may hold; 0: no limit */
    rm_tenant_limit_t tenant_mem[RM_MAX_TENANT_LIMITS]; /* ... for the sessions of these tenants */
    int ntenant_mem;
    rm_share_rule_t share;   /* compute share of every session (percent 0: none) */
    rm_share_rule_t tenant_share[RM_MAX_TENANT_LIMITS]; /* ... of the sessions of these tenants */
    int ntenant_share;
    int no_lend;             /* --no-lend: every share is pinned */
    const char *tls_cert, *tls_key; /* PEM files for tls:// listeners */
    const char *tls_client_ca;      /* NULL, or the CA client certificates must chain to */
    const char *metrics_addr;       /* --metrics HOST:PORT (Prometheus, metrics.h), or NULL */
} rm_server_cfg_t;

#define RM_DEFAULT_CHANNELS 256
#define RM_DEFAULT_BUFFER_LIMIT ((uint64_t)1 << 30)
#define RM_DEFAULT_SESSIONS 256
#define RM_DEFAULT_CACHE_SIZE ((uint64_t)4 << 30)

/* What the listener hands a worker with each accepted channel's socket. */
typedef struct {
    rm_hello_t hello;
    rm_welcome_t welcome; /* sent to the client by the worker, unless welcomed */
    int32_t scheme;       /* rm_scheme of the listener that accepted it */
    int32_t welcomed;     /* 1: the listener sent the welcome (inside TLS #1) */
} rm_channel_msg_t;

/* Runs until SIGTERM/SIGINT. */
rm_status rm_listener_run(const rm_server_cfg_t *cfg);
/* What a worker shares with the listener: its slot of the session
 * counters and of the compute-share table (share.h). */
struct rm_share_table;
typedef struct {
    rm_counters_t *counters; /* NULL: none */
    struct rm_share_table *share;
    size_t slot;
} rm_worker_shared_t;

/* A session to restore from a checkpoint before any channel is taken:
 * its directory, and the requester's socket (remora restore, or the
 * client), answered with an rm_ckpt_reply_t and closed; or (dir NULL) a
 * migration stream on the source's socket (migrate.h). */
typedef struct {
    const char *dir;
    int fd;
} rm_worker_restore_t;

/* Body of a forked session worker; never returns. peer: who opened the
 * session (its tenant in the module image cache); restore: NULL, or the
 * checkpoint the session starts from (the worker exits if that fails). */
void rm_worker_main(int ctl_fd, const rm_server_cfg_t *cfg, uint64_t session_id, const char *peer,
                    rm_worker_shared_t shared, const rm_worker_restore_t *restore)
    __attribute__((noreturn));

#endif
