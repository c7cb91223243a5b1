/* remora-server command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "secret.h"
#include "server.h"

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
            "       remora-server --help | --version\n"
            "(also run as: remora server ...)\n"
            "  --listen ADDR  tcp://HOST:PORT (port 0 picks one), shm://NAME or shm:///path.sock;\n"
            "                 repeat for several (default: the config file's [server] listen)\n"
            "  --backend      real (default): the GPU through the NVIDIA driver;\n"
            "                 fake: a host-memory emulator for machines without a GPU\n"
            "  --driver PATH  the real libcuda.so.1 (default: $REMORA_DRIVER, then the usual places)\n"
            "  --ready-file FILE  written with the resolved addresses once listening\n"
            "  --cache-dir DIR    module images seen by any session, by content hash\n"
            "                     (default $TMPDIR/remora-cache-UID)\n"
            "environment: REMORA_TOKEN (shared secret clients must present),\n"
            "             REMORA_LOG=error|warn|info|debug|trace, REMORA_DRIVER, CUDA_VISIBLE_DEVICES,\n"
            "             REMORA_FAKE_DEVICES, REMORA_FAKE_MEM_MB (fake backend),\n"
            "             REMORA_CONFIG (the config file)\n"
            "config file: $REMORA_CONFIG, else ~/.config/remora/remora.conf, else\n"
            "             /etc/remora/remora.conf: token, log, and in [server] listen, backend,\n"
            "             driver, cache-dir; the environment and the command line override it\n");
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

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},  {"backend", required_argument, NULL, 'b'},
        {"driver", required_argument, NULL, 'd'},  {"ready-file", required_argument, NULL, 'r'},
        {"cache-dir", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    rm_server_cfg_t cfg = {0};
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
    rm_config_t file;
    if (rm_config_load(&file, "remora-server") != 0)
        return 2;
    int rc = serve(&cfg, &file);
    rm_config_free(&file);
    return rc;
}
