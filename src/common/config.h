/* The configuration file shared by the remora command and remora-server:
 * found through REMORA_CONFIG, else $XDG_CONFIG_HOME/remora/remora.conf
 * (~/.config/...), else /etc/remora/remora.conf; only the first found is
 * read. INI, parsed by inih:
 *
 *   token = SECRET          both sides (REMORA_TOKEN)
 *   log = warn              both sides (REMORA_LOG)
 *   [client]
 *   server = ADDR           REMORA_SERVER
 *   connect-timeout = S     REMORA_CONNECT_TIMEOUT
 *   call-timeout = S        REMORA_CALL_TIMEOUT
 *   emulate = SPEC          REMORA_EMULATE (emul_spec.h), checked here
 *   tcp-streams = N         REMORA_TCP_STREAMS: connections a big TCP copy is
 *                           striped over, 1..16 (src/client/stripe.h)
 *   compress = lz4|zstd|off REMORA_COMPRESS (src/client/zcopy.h)
 *   [server]
 *   listen = ADDR [ADDR...] repeatable; used when no --listen is given
 *   backend = real|fake
 *   driver = PATH           as --driver, unless REMORA_DRIVER is set
 *   cache-dir = DIR
 *   mem-limit = [TENANT=]SIZE ...   as --mem-limit (one or more)
 *   compute-share = [TENANT=]PCT[:pinned] ...   as --compute-share
 *   no-lend = true|false    as --no-lend
 *
 * Precedence: the file < the environment < the command line. The file's
 * values reach the code that reads the environment through
 * rm_config_export_env, which sets only the variables left unset.
 * Built without inih (RM_HAVE_INIH undefined), a config file that exists
 * and is not empty is an error, never silently ignored. Linked into the
 * executables only (target rm_config), never into the client library. */
#ifndef RM_CONFIG_H
#define RM_CONFIG_H

#include <stddef.h>

#define RM_CONFIG_MAX_LISTEN 8

typedef enum {
    RM_CFG_TOKEN,
    RM_CFG_LOG,
    RM_CFG_SERVER,
    RM_CFG_CONNECT_TIMEOUT,
    RM_CFG_CALL_TIMEOUT,
    RM_CFG_EMULATE,
    RM_CFG_TCP_STREAMS,
    RM_CFG_COMPRESS,
    RM_CFG_LISTEN, /* the addresses are in listen[]; value[] holds none */
    RM_CFG_BACKEND,
    RM_CFG_DRIVER,
    RM_CFG_CACHE_DIR,
    RM_CFG_MEM_LIMIT, /* remora-server --mem-limit words, space-separated */
    RM_CFG_COMPUTE_SHARE, /* --compute-share words, the same */
    RM_CFG_NO_LEND,       /* --no-lend: true or false */
    RM_CFG_NKEYS
} rm_config_key;

typedef struct {
    char path[4096];            /* the file read; "" when there is none */
    char *value[RM_CFG_NKEYS];  /* NULL where the file says nothing */
    char *listen[RM_CONFIG_MAX_LISTEN];
    int nlisten;
} rm_config_t;

/* Finds and reads the file. 0 on success (no file is success), cfg to be
 * freed with rm_config_free; -1 after "WHO: config file: FILE:LINE: what"
 * on stderr, cfg freed already. */
int rm_config_load(rm_config_t *cfg, const char *who);
void rm_config_free(rm_config_t *cfg);

/* The file's value of a key, or NULL. */
const char *rm_config_get(const rm_config_t *cfg, rm_config_key key);

/* Sets each environment variable the file has a value for (REMORA_TOKEN,
 * REMORA_LOG, REMORA_SERVER, REMORA_CONNECT_TIMEOUT, REMORA_CALL_TIMEOUT,
 * REMORA_EMULATE)
 * unless it is set already. */
void rm_config_export_env(const rm_config_t *cfg);

/* rm_config_load, rm_config_export_env and rm_config_free in one, for the
 * commands that take nothing else from the file: 0, or -1 as
 * rm_config_load. */
int rm_config_load_env(const char *who);

/* "inih" when built with config-file support, else NULL. */
const char *rm_config_parser(void);

#endif
