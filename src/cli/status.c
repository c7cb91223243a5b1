/* remora status: asks the server's listener for its sessions (a hello with
 * RM_FEAT_STATUS, which opens no session) and prints them as a table or as
 * JSON. */
#include "status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dial.h"
#include "remora/protocol.h"
#include "transport.h"

#define SYNOPSIS "usage: remora status [--server ADDR] [--json]\n"
#define MAX_ANSWER 4096 /* sessions; the server has at most 1024 */

static void usage(FILE *f)
{
    fprintf(f, SYNOPSIS
            "\n"
            "Prints the sessions of a running remora server, one per client process: its\n"
            "program name, pid and host, the transport, when it started, the device memory it\n"
            "holds, and the calls and message bytes it sent (in) and was sent (out) so far.\n"
            "Copies through shared-memory segments (shm, page-locked memory) are not in the bytes.\n"
            "\n"
            "  --server ADDR   tcp://HOST:PORT, shm://NAME or shm:///path.sock (default:\n"
            "                  $REMORA_SERVER, else the config file's [client] server, else\n"
            "                  " RM_DEFAULT_SERVER ")\n"
            "  --json          one JSON object: {\"server\": ADDR, \"sessions\": [...]}\n"
            "  -h, --help      this text\n"
            "\n"
            "environment: REMORA_SERVER, REMORA_TOKEN (needed when the server has a token),\n"
            "  REMORA_CONFIG.\n");
}

static const char *scheme_name(uint32_t s) { return rm_scheme_name((rm_scheme)s); }

static void human_bytes(uint64_t n, char *out, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1024;
        u++;
    }
    snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void start_time(uint64_t ms, const char *fmt, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    strftime(out, len, fmt, strchr(fmt, 'Z') ? gmtime_r(&t, &tm) : localtime_r(&t, &tm));
}

static void print_table(const char *addr, const rm_status_session_t *v, uint32_t n)
{
    printf("remora server %s: %u session%s\n", addr, n, n == 1 ? "" : "s");
    if (!n)
        return;
    printf("%5s %8s %-16s %-16s %-9s %-19s %10s %10s %7s %6s %10s %10s %10s\n", "ID", "PID", "HOST", "PROGRAM",
           "TRANSPORT", "STARTED", "MEMORY", "LIMIT", "SHARE", "GPU", "CALLS", "IN", "OUT");
    for (uint32_t i = 0; i < n; i++) {
        char when[32], mem[32], limit[32] = "-", in[32], out[32], share[16] = "-", busy[16] = "-";
        start_time(v[i].start_unix_ms, "%Y-%m-%d %H:%M:%S", when, sizeof when);
        human_bytes(v[i].mem_bytes, mem, sizeof mem);
        if (v[i].mem_limit)
            human_bytes(v[i].mem_limit, limit, sizeof limit);
        human_bytes(v[i].bytes_in, in, sizeof in);
        human_bytes(v[i].bytes_out, out, sizeof out);
        if (v[i].compute_share) /* "30%", or "30%pin" when nothing is lent to it */
            snprintf(share, sizeof share, "%u%%%s", v[i].compute_share, v[i].compute_pinned ? "pin" : "");
        if (v[i].gpu_busy_ns) /* measured: its busy time in the last window */
            snprintf(busy, sizeof busy, "%.1f%%", v[i].gpu_busy_permille / 10.0);
        printf("%5llu %8u %-16s %-16s %-9s %-19s %10s %10s %7s %6s %10llu %10s %10s\n",
               (unsigned long long)v[i].session_id, v[i].pid, v[i].host, v[i].program, scheme_name(v[i].scheme), when,
               mem, limit, share, busy, (unsigned long long)v[i].calls, in, out);
    }
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json(const char *addr, const rm_status_session_t *v, uint32_t n)
{
    printf("{\"server\": ");
    json_string(addr);
    printf(", \"sessions\": [");
    for (uint32_t i = 0; i < n; i++) {
        char when[32];
        start_time(v[i].start_unix_ms, "%Y-%m-%dT%H:%M:%SZ", when, sizeof when);
        printf("%s\n  {\"id\": %llu, \"pid\": %u, \"host\": ", i ? "," : "", (unsigned long long)v[i].session_id,
               v[i].pid);
        json_string(v[i].host);
        printf(", \"program\": ");
        json_string(v[i].program);
        printf(", \"transport\": \"%s\", \"started\": \"%s\", \"started_unix_ms\": %llu, \"worker_pid\": %u,\n"
               "   \"memory_bytes\": %llu, \"memory_limit_bytes\": %llu, \"calls\": %llu, \"bytes_in\": %llu, "
               "\"bytes_out\": %llu,\n   \"compute_share_percent\": %u, \"compute_pinned\": %s, "
               "\"gpu_busy_ns\": %llu, \"gpu_busy_window_percent\": %.1f}",
               scheme_name(v[i].scheme), when, (unsigned long long)v[i].start_unix_ms, v[i].worker_pid,
               (unsigned long long)v[i].mem_bytes, (unsigned long long)v[i].mem_limit, (unsigned long long)v[i].calls,
               (unsigned long long)v[i].bytes_in, (unsigned long long)v[i].bytes_out, v[i].compute_share,
               v[i].compute_pinned ? "true" : "false", (unsigned long long)v[i].gpu_busy_ns,
               v[i].gpu_busy_permille / 10.0);
    }
    printf("%s]}\n", n ? "\n" : "");
}

/* The sessions of the server at addr: *v (to be freed) and *n. 0, or -1
 * after saying why. */
static int ask(const char *addr, rm_status_session_t **v, uint32_t *n)
{
    rm_cli_conn_t c;
    *v = NULL;
    if (rm_cli_dial("status", addr, RM_FEAT_STATUS, 0, &c) != 0)
        return -1;
    rm_status st;
    if ((st = rm_cli_read(&c, n, sizeof *n)) != RM_OK)
        goto fail;
    if (*n > MAX_ANSWER || !(*v = calloc(*n ? *n : 1, sizeof **v))) {
        fprintf(stderr, "remora status: implausible answer from %s (%u sessions)\n", addr, *n);
        goto out;
    }
    if ((st = rm_cli_read(&c, *v, *n * sizeof **v)) != RM_OK)
        goto fail;
    for (uint32_t i = 0; i < *n; i++)
        (*v)[i].host[sizeof (*v)[i].host - 1] = (*v)[i].program[sizeof (*v)[i].program - 1] = 0;
    rm_cli_close(&c);
    return 0;
fail:
    fprintf(stderr, "remora status: no answer from remora server %s: %s\n", addr, rm_status_str(st));
out:
    free(*v);
    *v = NULL;
    rm_cli_close(&c);
    return -1;
}

int rm_cli_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL;
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's': server = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "remora status: %s %s\n" SYNOPSIS, c == ':' ? "a value is needed after" : "unknown option",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "remora status: unexpected argument '%s'\n" SYNOPSIS, argv[optind]);
        return 2;
    }
    rm_config_t file;
    if (rm_config_load(&file, "remora status") != 0)
        return 2;
    rm_config_export_env(&file);
    rm_config_free(&file);
    server = rm_cli_server(server);
    rm_status_session_t *v;
    uint32_t n;
    if (ask(server, &v, &n) != 0)
        return 1;
    (json ? print_json : print_table)(server, v, n);
    free(v);
    return 0;
}
