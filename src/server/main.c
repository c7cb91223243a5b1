/* remora-server command line. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "mm.h"
#include "secret.h"
#include "server.h"
#include "size.h"
#include "tls.h"

_Static_assert(RM_CONFIG_MAX_LISTEN <= RM_MAX_LISTEN, "config file listen addresses fit the server's");

/* Whether the real backend can load a driver. Tried in a child, so the
 * listener never holds the driver (its workers load it after the fork);
 * the child logs what it looked for. */
static int real_driver_usable(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        rm_backend_t b;
        _exit(rm_backend_real_open(path, &b) == RM_OK ? 0 : 1);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: remora-server --listen ADDR [--listen ADDR...] [--backend real|fake]\n"
            "                     [--driver PATH] [--ready-file FILE] [--cache-dir DIR]\n"
            "                     [--pinned-limit SIZE] [--max-channels N] [--max-sessions N]\n"
            "                     [--max-sessions-per-peer N] [--cache-size SIZE]\n"
            "                     [--session-buffers SIZE]\n"
            "                     [--mem-limit [TENANT=]SIZE...]\n"
            "                     [--compute-share [TENANT=]PCT[:pinned]...] [--no-lend]\n"
            "                     [--alloc vmm|plain] [--va-base ADDR|off]\n"
            "                     [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
            "                     [--metrics HOST:PORT]\n"
            "       remora-server --help | --version\n"
            "(also run as: remora server ...)\n"
            "  --listen ADDR  tcp://HOST:PORT (port 0 picks one), tls://HOST:PORT, shm://NAME or\n"
            "                 shm:///path.sock;\n"
            "                 repeat for several (default: the config file's [server] listen)\n"
            "  --backend      real (default): the GPU through the NVIDIA driver;\n"
            "                 fake: a host-memory emulator for machines without a GPU\n"
            "  --driver PATH  the real libcuda.so.1 (default: $REMORA_DRIVER, then the usual places)\n"
            "  --ready-file FILE  written with the resolved addresses once listening\n"
            "  --cache-dir DIR    module images seen by any session, by content hash, a\n"
            "                     directory per tenant (client address or user)\n"
            "                     (default $TMPDIR/remora-cache-UID)\n"
            "  --cache-size SIZE  the most each tenant's images take there; the least\n"
            "                     recently used go first (default 4G)\n"
            "  --pinned-limit SIZE  page-locked host memory (shm:// shared segments) one session\n"
            "                     may hold, in bytes or with K, M, G, T (default: half the host's memory)\n"
            "  --session-buffers SIZE  host memory one session's request and reply buffers may\n"
            "                     hold at once (default 1G); a request past it is answered\n"
            "                     CUDA_ERROR_OUT_OF_MEMORY\n"
            "  --max-channels N   channels (client threads using CUDA) one session may open,\n"
            "                     1 to 1024 (default 256)\n"
            "  --max-sessions N   client sessions (one worker process each) at once, 1 to 1024\n"
            "                     (default 256)\n"
            "  --max-sessions-per-peer N  of those, from one client address (TCP) or user\n"
            "                     (Unix socket); default: --max-sessions\n"
            "  --mem-limit SIZE   device memory one session may hold on each GPU (default: no\n"
            "                     limit); past it allocations fail with CUDA_ERROR_OUT_OF_MEMORY\n"
            "                     and the session sees it as the GPU's total memory\n"
            "  --mem-limit TENANT=SIZE  the same for the sessions of one tenant, ip:ADDRESS (TCP)\n"
            "                     or uid:N (Unix socket); repeatable\n"
            "  --compute-share PCT  the GPU time one session may take on each GPU, 1-100 percent\n"
            "                     (default: no share); what other sessions leave unused is lent\n"
            "                     to it unless the share is pinned (PCT:pinned, or --no-lend)\n"
            "  --compute-share TENANT=PCT[:pinned]  the same for the sessions of one tenant\n"
            "  --no-lend          every compute share is pinned: never more, even on an idle GPU\n"
            "  --alloc vmm|plain  vmm (default): cuMemAlloc memory is mapped by remora's memory\n"
            "                     manager with the virtual memory API, so sessions can be\n"
            "                     checkpointed and migrated; plain: the driver's cuMemAlloc (for\n"
            "                     programs that use CUDA IPC handles; not checkpointable)\n"
            "  --va-base ADDR|off  where the memory manager's device address arenas start:\n"
            "                     device N's at ADDR + N TiB (default 0x200000000000, the same\n"
            "                     in every server, so a restored or migrated session finds its\n"
            "                     addresses free; a multiple of 2 MiB); off: where the driver\n"
            "                     chooses (a restore into another process may find them taken)\n"
            "  --tls-cert FILE, --tls-key FILE  the server's certificate (chain) and key, PEM,\n"
            "                     for tls:// listeners\n"
            "  --tls-client-ca FILE  require tls:// clients to present a certificate signed by\n"
            "                     one of these CAs (mutual TLS)\n"
            "  --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics (port 0\n"
            "                     picks one; the ready file names it): per session calls, bytes,\n"
            "                     memory used and limit, per GPU too\n"
            "environment: REMORA_TOKEN (shared secret clients must present),\n"
            "             REMORA_LOG=error|warn|info|debug|trace, REMORA_DRIVER, CUDA_VISIBLE_DEVICES,\n"
            "             REMORA_FAKE_DEVICES, REMORA_FAKE_MEM_MB (fake backend),\n"
            "             REMORA_VA_BASE (as --va-base),\n"
            "             REMORA_CONFIG (the config file)\n"
            "config file: $REMORA_CONFIG, else ~/.config/remora/remora.conf, else\n"
            "             /etc/remora/remora.conf: token, log, and in [server] listen, backend,\n"
            "             driver, cache-dir, mem-limit, compute-share, no-lend; the environment and the command line override it\n"
            "sizes: bytes, or with K, M, G, T (powers of 1024; 512M, 512MiB, 4G, 4GiB)\n");
}

/* Certificates load before the listener forks its workers, which inherit
 * them; a tls:// listener without them, or TLS options without a tls://
 * listener, is a mistake told at once. */
static int tls_setup(const rm_server_cfg_t *cfg)
{
    int tls = 0;
    for (int i = 0; i < cfg->nlisten; i++)
        tls |= strncmp(cfg->listen[i], "tls://", 6) == 0;
    if (!tls && (cfg->tls_cert || cfg->tls_key || cfg->tls_client_ca)) {
        fprintf(stderr, "remora-server: --tls-cert, --tls-key and --tls-client-ca need a tls:// --listen address\n");
        return -1;
    }
    return tls && rm_tls_server_setup(cfg->tls_cert, cfg->tls_key, cfg->tls_client_ca) != RM_OK ? -1 : 0;
}

/* The file fills in what the command line left out (and the environment
 * variables left unset), then the server runs. */
static int serve(rm_server_cfg_t *cfg, const rm_config_t *file)
{
    const char *env_driver = getenv("REMORA_DRIVER");
    if (!cfg->driver_path && !(env_driver && *env_driver))
        cfg->driver_path = rm_config_get(file, RM_CFG_DRIVER);
    rm_config_export_env(file);
    cfg->token = getenv("REMORA_TOKEN");
    if (rm_token_too_long(cfg->token)) {
        fprintf(stderr, "remora-server: REMORA_TOKEN (or the config file's token) is %zu bytes long; "
                        "tokens are at most %d bytes\n", strlen(cfg->token), RM_TOKEN_LEN_MAX);
        return 2;
    }
    if (cfg->nlisten == 0) {
        for (int i = 0; i < file->nlisten; i++)
            cfg->listen[i] = file->listen[i];
        cfg->nlisten = file->nlisten;
    }
    if (!cfg->backend)
        cfg->backend = rm_config_get(file, RM_CFG_BACKEND);
    if (!cfg->backend)
        cfg->backend = "real";
    if (!cfg->cache_dir)
        cfg->cache_dir = rm_config_get(file, RM_CFG_CACHE_DIR);
    if (cfg->nlisten == 0) {
        fprintf(stderr, "remora-server: no address to listen on: give --listen ADDR%s\n",
                *file->path ? " (or listen in the config file's [server] section)" : "");
        usage(stderr);
        return 2;
    }
    if (tls_setup(cfg) != 0)
        return 2;
    if (strcmp(cfg->backend, "real") != 0 && strcmp(cfg->backend, "fake") != 0) {
        fprintf(stderr, "remora-server: unknown backend '%s' (real or fake)\n", cfg->backend);
        usage(stderr);
        return 2;
    }
    if (strcmp(cfg->backend, "real") == 0 && !real_driver_usable(cfg->driver_path)) {
        RM_ERROR("--backend real needs the NVIDIA driver (see above); on a machine without a GPU, "
                 "use --backend fake");
        return 1;
    }
    return rm_listener_run(cfg) == RM_OK ? 0 : 1;
}

/* --mem-limit SIZE (every session) or TENANT=SIZE, TENANT being ip:ADDRESS
 * or uid:N (stored as the listener names peers: "ip ADDRESS", "uid N"). */
static int add_mem_limit(rm_server_cfg_t *cfg, const char *arg)
{
    const char *eq = strrchr(arg, '='), *colon = strchr(arg, ':');
    uint64_t bytes;
    if (!eq) {
        if (rm_parse_size(arg, &cfg->mem_limit) == 0)
            return 0;
        fprintf(stderr, "remora-server: --mem-limit '%s' is not a size (bytes, or with K, M, G, T, e.g. 4GiB)\n", arg);
        return -1;
    }
    size_t kind = colon && colon < eq ? (size_t)(colon - arg) : 0, value = kind ? (size_t)(eq - colon - 1) : 0;
    if (!((kind == 2 && strncmp(arg, "ip", 2) == 0) || (kind == 3 && strncmp(arg, "uid", 3) == 0)) || !value ||
        kind + 1 + value >= sizeof cfg->tenant_mem[0].tenant) {
        fprintf(stderr, "remora-server: --mem-limit '%s': a tenant is ip:ADDRESS or uid:N (TENANT=SIZE)\n", arg);
        return -1;
    }
    if (rm_parse_size(eq + 1, &bytes) != 0) {
        fprintf(stderr, "remora-server: --mem-limit '%s': '%s' is not a size (bytes, or with K, M, G, T)\n", arg,
                eq + 1);
        return -1;
    }
    if (cfg->ntenant_mem == RM_MAX_TENANT_LIMITS) {
        fprintf(stderr, "remora-server: at most %d tenants' --mem-limit\n", RM_MAX_TENANT_LIMITS);
        return -1;
    }
    rm_tenant_limit_t *t = &cfg->tenant_mem[cfg->ntenant_mem++];
    snprintf(t->tenant, sizeof t->tenant, "%.*s %.*s", (int)kind, arg, (int)value, colon + 1);
    t->bytes = bytes;
    return 0;
}

/* PCT[:pinned] of --compute-share: 0, or -1 if it is not that. */
static int parse_share(const char *v, rm_share_rule_t *r)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || errno || n < 1 || n > 100 || (*end && strcmp(end, ":pinned") != 0))
        return -1;
    r->percent = (uint32_t)n;
    r->pinned = *end != 0;
    return 0;
}

/* --compute-share PCT[:pinned] (every session) or TENANT=PCT[:pinned]. */
static int add_compute_share(rm_server_cfg_t *cfg, const char *arg)
{
    const char *eq = strchr(arg, '='), *colon = strchr(arg, ':');
    rm_share_rule_t r = {0};
    if (!eq) {
        if (parse_share(arg, &cfg->share) == 0)
            return 0;
        fprintf(stderr, "remora-server: --compute-share '%s' is not a percentage from 1 to 100 "
                        "(PCT or PCT:pinned, e.g. 30)\n", arg);
        return -1;
    }
    size_t kind = colon && colon < eq ? (size_t)(colon - arg) : 0, value = kind ? (size_t)(eq - colon - 1) : 0;
    if (!((kind == 2 && strncmp(arg, "ip", 2) == 0) || (kind == 3 && strncmp(arg, "uid", 3) == 0)) || !value ||
        kind + 1 + value >= sizeof r.tenant) {
        fprintf(stderr, "remora-server: --compute-share '%s': a tenant is ip:ADDRESS or uid:N (TENANT=PCT)\n", arg);
        return -1;
    }
    if (parse_share(eq + 1, &r) != 0) {
        fprintf(stderr, "remora-server: --compute-share '%s': '%s' is not a percentage from 1 to 100 "
                        "(PCT or PCT:pinned)\n", arg, eq + 1);
        return -1;
    }
    if (cfg->ntenant_share == RM_MAX_TENANT_LIMITS) {
        fprintf(stderr, "remora-server: at most %d tenants' --compute-share\n", RM_MAX_TENANT_LIMITS);
        return -1;
    }
    snprintf(r.tenant, sizeof r.tenant, "%.*s %.*s", (int)kind, arg, (int)value, colon + 1);
    cfg->tenant_share[cfg->ntenant_share++] = r;
    return 0;
}

/* The config file's [server] mem-limit or compute-share: the words of the
 * option, space-separated. */
static int file_words(rm_server_cfg_t *cfg, const char *v, int (*add)(rm_server_cfg_t *, const char *),
                      const char *key)
{
    char word[256];
    for (size_t n; v && *(v += strspn(v, " \t")); v += n) {
        n = strcspn(v, " \t");
        snprintf(word, sizeof word, "%.*s", (int)n, v);
        if (n >= sizeof word || add(cfg, word) != 0) {
            fprintf(stderr, "remora-server: (in the config file's [server] %s)\n", key);
            return -1;
        }
    }
    return 0;
}

/* The config file's [server] no-lend: true or false. */
static int file_no_lend(rm_server_cfg_t *cfg, const char *v)
{
    if (!v || strcmp(v, "false") == 0)
        return 0;
    if (strcmp(v, "true") == 0) {
        cfg->no_lend = 1;
        return 0;
    }
    fprintf(stderr, "remora-server: the config file's [server] no-lend is '%s': true or false\n", v);
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},  {"backend", required_argument, NULL, 'b'},
        {"driver", required_argument, NULL, 'd'},  {"ready-file", required_argument, NULL, 'r'},
        {"cache-dir", required_argument, NULL, 'c'},  {"pinned-limit", required_argument, NULL, 'p'},
        {"cache-size", required_argument, NULL, 'C'},  {"session-buffers", required_argument, NULL, 'B'},
        {"max-channels", required_argument, NULL, 'm'},  {"max-sessions", required_argument, NULL, 'S'},
        {"max-sessions-per-peer", required_argument, NULL, 'P'},
        {"mem-limit", required_argument, NULL, 'M'},
        {"compute-share", required_argument, NULL, 'U'}, {"no-lend", no_argument, NULL, 'N'},
        {"alloc", required_argument, NULL, 'a'}, {"va-base", required_argument, NULL, 'v'},
        {"tls-cert", required_argument, NULL, 't'},  {"tls-key", required_argument, NULL, 'k'},
        {"tls-client-ca", required_argument, NULL, 'A'},
        {"metrics", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    rm_server_cfg_t cfg = {.va_base = RM_MM_ARENA_BASE};
    int mem_limit_given = 0, share_given = 0, no_lend_given = 0;
    const char *va_base = getenv("REMORA_VA_BASE");
    rm_log_set_prefix("server");
    int c;
    while ((c = getopt_long(argc, argv, "l:b:d:r:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (cfg.nlisten == RM_MAX_LISTEN) {
                fprintf(stderr, "remora-server: at most %d --listen addresses\n", RM_MAX_LISTEN);
                return 2;
            }
            cfg.listen[cfg.nlisten++] = optarg;
            break;
        case 'b': cfg.backend = optarg; break;
        case 'd': cfg.driver_path = optarg; break;
        case 'r': cfg.ready_file = optarg; break;
        case 'c': cfg.cache_dir = optarg; break;
        case 'p':
        case 'C':
        case 'B': {
            uint64_t *size = c == 'p' ? &cfg.pinned_limit : c == 'C' ? &cfg.cache_size : &cfg.buffer_limit;
            if (rm_parse_size(optarg, size) != 0 || (c == 'B' && *size == 0)) {
                fprintf(stderr, "remora-server: %s '%s' is not a size (bytes, or with K, M, G, T)\n",
                        c == 'p' ? "--pinned-limit" : c == 'C' ? "--cache-size" : "--session-buffers", optarg);
                return 2;
            }
            break;
        }
        case 'm':
        case 'S':
        case 'P': {
            static const struct {
                int opt, max;
                const char *name;
            } counts[] = {{'m', RM_MAX_CHANNELS, "--max-channels"}, {'S', 1024, "--max-sessions"},
                          {'P', 1024, "--max-sessions-per-peer"}};
            int k = c == 'm' ? 0 : c == 'S' ? 1 : 2;
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > counts[k].max) {
                fprintf(stderr, "remora-server: %s '%s' is not a number from 1 to %d\n", counts[k].name, optarg,
                        counts[k].max);
                return 2;
            }
            *(c == 'm' ? &cfg.max_channels : c == 'S' ? &cfg.max_sessions : &cfg.max_sessions_per_peer) = (int)n;
            break;
        }
        case 'M':
            if (add_mem_limit(&cfg, optarg) != 0)
                return 2;
            mem_limit_given = 1;
            break;
        case 'U':
            if (add_compute_share(&cfg, optarg) != 0)
                return 2;
            share_given = 1;
            break;
        case 'N': cfg.no_lend = no_lend_given = 1; break;
        case 'a':
            if (rm_mm_mode_parse(optarg) < 0) {
                fprintf(stderr, "remora-server: --alloc '%s' is neither vmm nor plain\n", optarg);
                return 2;
            }
            cfg.alloc_plain = rm_mm_mode_parse(optarg) == RM_MM_PLAIN;
            break;
        case 'v': va_base = optarg; break;
        case 't': cfg.tls_cert = optarg; break;
        case 'k': cfg.tls_key = optarg; break;
        case 'A': cfg.tls_client_ca = optarg; break;
        case 'X': {
            char tcp[300];
            if (rm_metrics_address(optarg, tcp, sizeof tcp) != RM_OK) {
                fprintf(stderr, "remora-server: --metrics '%s' is not HOST:PORT (e.g. 127.0.0.1:9400)\n", optarg);
                return 2;
            }
            cfg.metrics_addr = optarg;
            break;
        }
        case 'h': usage(stdout); return 0;
        case 'V': printf("remora-server %s\n", REMORA_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "remora-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (va_base && *va_base && rm_mm_arena_parse_base(va_base, &cfg.va_base) != 0) {
        fprintf(stderr, "remora-server: --va-base (or REMORA_VA_BASE) '%s' is neither an address that is a "
                        "multiple of 2 MiB (e.g. 0x200000000000) nor off\n", va_base);
        return 2;
    }
    rm_config_t file;
    if (rm_config_load(&file, "remora-server") != 0)
        return 2;
    int bad = (!mem_limit_given &&
               file_words(&cfg, rm_config_get(&file, RM_CFG_MEM_LIMIT), add_mem_limit, "mem-limit") != 0) ||
              (!share_given &&
               file_words(&cfg, rm_config_get(&file, RM_CFG_COMPUTE_SHARE), add_compute_share, "compute-share") !=
                   0) ||
              (!no_lend_given && file_no_lend(&cfg, rm_config_get(&file, RM_CFG_NO_LEND)) != 0);
    int rc = bad ? 2 : serve(&cfg, &file);
    rm_config_free(&file);
    return rc;
}
