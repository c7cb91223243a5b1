/* remora-server command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "server.h"

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
            "  ADDR: tcp://HOST:PORT (port 0 picks one), shm://NAME or shm:///path.sock\n"
            "  --backend   real (default): the GPU through the NVIDIA driver;\n"
            "              fake: a host-memory emulator for machines without a GPU\n"
            "  --driver    path of the real libcuda.so.1 (default: search the usual places)\n"
            "  --ready-file  written with the resolved addresses once listening\n"
            "  --cache-dir   module images seen by any session, by content hash\n"
            "                (default $TMPDIR/remora-cache-UID)\n"
            "environment: REMORA_TOKEN (shared secret clients must present),\n"
            "             REMORA_LOG=error|warn|info|debug|trace, CUDA_VISIBLE_DEVICES\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},  {"backend", required_argument, NULL, 'b'},
        {"driver", required_argument, NULL, 'd'},  {"ready-file", required_argument, NULL, 'r'},
        {"cache-dir", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    rm_server_cfg_t cfg = {.backend = "real", .token = getenv("REMORA_TOKEN")};
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
        default: usage(stderr); return 2;
        }
    }
    if (cfg.nlisten == 0 || optind != argc ||
        (strcmp(cfg.backend, "real") != 0 && strcmp(cfg.backend, "fake") != 0)) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cfg.backend, "real") == 0 && !real_driver_usable(cfg.driver_path)) {
        RM_ERROR("--backend real needs the NVIDIA driver (see above); on a machine without a GPU, "
                 "use --backend fake");
        return 1;
    }
    return rm_listener_run(&cfg) == RM_OK ? 0 : 1;
}
