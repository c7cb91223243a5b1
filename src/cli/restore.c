/* remora restore DIR asks a server's listener (a hello with
 * RM_FEAT_RESTORE) to make the session checkpointed in DIR again in a new
 * worker: same session id and key, same device addresses, same handle
 * values. The program whose server died joins it (REMORA_RESTORE_FROM). */
#include "restore.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "dial.h"
#include "remora/protocol.h"
#include "remora/status.h"

#define SYNOPSIS "usage: remora restore DIR [--server ADDR]\n"

static void usage(FILE *f)
{
    fprintf(f, SYNOPSIS
            "\n"
            "Recreates the session checkpointed in DIR (remora checkpoint; DIR on the\n"
            "server's machine, relative to this directory) in the server: its contexts,\n"
            "modules, functions, streams and events under the handle values the program\n"
            "holds, its allocations at their addresses with their contents. The program,\n"
            "run with REMORA_RESTORE_FROM set, joins it when its own server is gone and\n"
            "runs on from the checkpoint. The server's GPU must be of the checkpoint's model.\n"
            "\n"
            "  --server ADDR   tcp://HOST:PORT or shm://NAME (default: $REMORA_SERVER, else\n"
            "                  the config file's [client] server, else " RM_DEFAULT_SERVER ")\n"
            "  -h, --help      this text\n"
            "\n"
            "environment: REMORA_SERVER, REMORA_TOKEN (needed when the server has a token),\n"
            "  REMORA_CONFIG.\n");
}

static int restore(const char *server, const char *dir)
{
    char abs[sizeof ((rm_ckpt_request_t *)0)->dir];
    if (rm_cli_request_dir("restore", dir, abs, sizeof abs) != 0)
        return 2;
    rm_cli_conn_t c;
    if (rm_cli_dial("restore", server, RM_FEAT_RESTORE, 0, &c) != 0)
        return 1;
    rm_ckpt_reply_t rep;
    if (rm_cli_ckpt_exchange("restore", server, &c, abs, &rep, sizeof rep) != 0)
        return 1;
    rep.message[sizeof rep.message - 1] = 0;
    if (rep.status != RM_OK) {
        fprintf(stderr, "remora restore: %s: %s\n", abs, rep.message);
        return 1;
    }
    printf("restored the session of %s: %u allocations, %llu bytes of device memory, in %.1f ms\n", abs,
           rep.allocations, (unsigned long long)rep.bytes, rep.pause_us / 1e3);
    return 0;
}

int rm_cli_restore(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's': server = optarg; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "remora restore: %s %s\n" SYNOPSIS,
                    c == ':' ? "a value is needed after" : "unknown option", argv[optind - 1]);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "remora restore: give the checkpoint's directory\n" SYNOPSIS);
        return 2;
    }
    rm_config_t file;
    if (rm_config_load(&file, "remora restore") != 0)
        return 2;
    rm_config_export_env(&file);
    rm_config_free(&file);
    return restore(rm_cli_server(server), argv[optind]);
}
