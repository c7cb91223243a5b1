/* remora migrate SESSION --to ADDR asks the session's server (a hello with
 * RM_FEAT_MIGRATE) to move the session to the server listening at ADDR,
 * and prints how it went: each pre-copy round, the final copy, the pause. */
#include "migrate.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dial.h"
#include "remora/protocol.h"

#define SYNOPSIS "usage: remora migrate SESSION --to ADDR [--server ADDR] [--client-to ADDR] [--rounds N]\n"

static void usage(FILE *f)
{
    fprintf(f, SYNOPSIS
            "\n"
            "Moves a running session (its id as remora status shows it) to the remora server\n"
            "listening at ADDR, on this host or another with a GPU of the same model, while its\n"
            "program runs: the session's server sends its device memory in rounds (each round\n"
            "what the program wrote since the last), then makes the session quiet as a\n"
            "checkpoint does, sends the rest and its objects, and tells the program to go on at\n"
            "ADDR. The program must run with REMORA_MIGRATABLE=1 over tcp://. Prints the bytes\n"
            "of each round, the dirty bytes left after it, and the program's pause.\n"
            "\n"
            "  --to ADDR         the target server: tcp://HOST:PORT or shm://NAME\n"
            "  --server ADDR     the session's server (default: $REMORA_SERVER, else " RM_DEFAULT_SERVER ")\n"
            "  --client-to ADDR  the tcp:// address the program is told (default: ADDR), e.g.\n"
            "                    when the servers talk over shm:// and the program over TCP\n"
            "  --rounds N        at most N pre-copy rounds (default %d, at most %d)\n"
            "  -h, --help        this text\n"
            "\n"
            "environment: REMORA_SERVER, REMORA_TOKEN (the session's server's token),\n"
            "  REMORA_TARGET_TOKEN (the target's, default REMORA_TOKEN).\n",
            RM_MIGRATE_ROUNDS, RM_MIGRATE_ROUNDS_MAX);
}

static int copy_arg(const char *what, const char *v, char *out, size_t n)
{
    if (strlen(v) >= n) {
        fprintf(stderr, "remora migrate: %s is too long (at most %zu bytes)\n", what, n - 1);
        return -1;
    }
    snprintf(out, n, "%s", v);
    return 0;
}

static void print_reply(unsigned long long session, const char *to, const rm_migrate_reply_t *r)
{
    uint32_t rounds = r->rounds < RM_MIGRATE_ROUNDS_MAX ? r->rounds : RM_MIGRATE_ROUNDS_MAX;
    for (uint32_t i = 0; i < rounds; i++)
        printf("round %u: %llu bytes sent, %llu dirty bytes left\n", i + 1, (unsigned long long)r->sent[i],
               (unsigned long long)r->dirty[i]);
    printf("session %llu migrated to %s: %u allocations, %llu bytes sent while paused, paused %.1f ms%s\n", session,
           to, r->allocations, (unsigned long long)r->final_bytes, r->pause_us / 1e3,
           r->joined ? "" : " (until the target was ready: the program had not rejoined yet)");
}

int rm_cli_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},     {"server", required_argument, NULL, 's'},
        {"client-to", required_argument, NULL, 'c'}, {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *to = NULL, *server = NULL, *client_to = NULL;
    rm_migrate_request_t req;
    memset(&req, 0, sizeof req);
    char *end;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't': to = optarg; break;
        case 's': server = optarg; break;
        case 'c': client_to = optarg; break;
        case 'r':
            req.rounds = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || req.rounds < 1 || req.rounds > RM_MIGRATE_ROUNDS_MAX) {
                fprintf(stderr, "remora migrate: --rounds takes 1 to %d\n", RM_MIGRATE_ROUNDS_MAX);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "remora migrate: %s %s\n" SYNOPSIS,
                    c == ':' ? "a value is needed after" : "unknown option", argv[optind - 1]);
            return 2;
        }
    }
    end = NULL;
    unsigned long long session = optind + 1 == argc ? strtoull(argv[optind], &end, 10) : 0;
    if (!session || !end || *end || !to) {
        fprintf(stderr, "remora migrate: give a session id (remora status lists them) and --to ADDR\n" SYNOPSIS);
        return 2;
    }
    const char *token = getenv("REMORA_TARGET_TOKEN");
    token = token ? token : getenv("REMORA_TOKEN");
    if (copy_arg("--to", to, req.to, sizeof req.to) != 0 ||
        (client_to && copy_arg("--client-to", client_to, req.client_to, sizeof req.client_to) != 0) ||
        (token && copy_arg("REMORA_TARGET_TOKEN", token, req.token, sizeof req.token) != 0))
        return 2;
    server = rm_cli_server(server);
    rm_cli_conn_t conn;
    if (rm_cli_dial("migrate", server, RM_FEAT_MIGRATE, session, &conn) != 0)
        return 1;
    rm_migrate_reply_t rep;
    if (rm_cli_exchange("migrate", server, &conn, &req, sizeof req, &rep, sizeof rep) != 0)
        return 1;
    rep.message[sizeof rep.message - 1] = 0;
    if (rep.status != RM_OK) {
        fprintf(stderr, "remora migrate: session %llu: %s\n", session, rep.message);
        return 1;
    }
    print_reply(session, to, &rep);
    return 0;
}
