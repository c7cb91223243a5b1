/* remora checkpoint SESSION --to DIR asks the server's listener (a hello
 * with RM_FEAT_CHECKPOINT) to have that session's worker write a
 * checkpoint; remora checkpoint --check DIR reads one and checks all of it. */
#include "checkpoint.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt_ahead.h"
#include "ckpt_file.h"
#include "ckpt_records.h"
#include "config.h"
#include "dial.h"
#include "tls.h"
#include "remora/protocol.h"
#include "transport.h"

#define SYNOPSIS                                                            \
    "usage: remora checkpoint SESSION --to DIR [--server ADDR]\n"          \
    "       remora checkpoint --check DIR [--gpu NAME]\n"

static void usage(FILE *f)
{
    fprintf(f, SYNOPSIS
            "\n"
            "Checkpoints a running session (its id as remora status shows it): the server\n"
            "lets every call in progress finish, synchronises the session's contexts (a\n"
            "running kernel is waited for), writes its device memory to DIR/" RM_CKPT_FILE "\n"
            "on the server's machine (format: docs/checkpoint-format.md), and lets the program\n"
            "run on. Prints what was written and how long the program was paused.\n"
            "--check reads a checkpoint and checks every byte of it (checksums, format\n"
            "version, and with --gpu the GPU model it was taken on), then says what it holds\n"
            "and lists its allocations.\n"
            "\n"
            "  --to DIR        where to write it (made if missing; relative to this directory)\n"
            "  --server ADDR   tcp://HOST:PORT or shm://NAME (default: $REMORA_SERVER, else\n"
            "                  the config file's [client] server, else " RM_DEFAULT_SERVER ")\n"
            "  --check DIR     check the checkpoint in DIR\n"
            "  --gpu NAME      with --check: the GPU model it must have been taken on\n"
            "  -h, --help      this text\n"
            "\n"
            "environment: REMORA_SERVER, REMORA_TOKEN (needed when the server has a token),\n"
            "  REMORA_CONFIG.\n");
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The object records, listed after the summary. */
static void list_objects(const rm_ckpt_obj_t *o, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        printf("  %s %#llx", rm_ckpt_kind_name(o[i].kind), (unsigned long long)o[i].id);
        if (o[i].kind == RM_H_CTX)
            printf(" device %d, flags %#x%s", o[i].arg, o[i].flags,
                   o[i].aux & RM_CKPT_CTX_PRIMARY ? ", primary" : "");
        else if (o[i].kind == RM_H_MOD)
            printf(" image %02x%02x%02x%02x...", o[i].hash[0], o[i].hash[1], o[i].hash[2], o[i].hash[3]);
        else if (o[i].kind == RM_H_FUNC)
            printf(" %s", o[i].name);
        else if (o[i].kind == RM_H_STREAM)
            printf(" flags %#x, priority %d", o[i].flags, o[i].arg);
        else
            printf(" flags %#x", o[i].flags);
        printf("\n");
    }
}

static rm_status check_session(rm_ckpt_t *c, const void *d, uint64_t len)
{
    rm_ckpt_session_t *w = malloc(sizeof *w);
    if (!w) {
        snprintf(c->err, sizeof c->err, "no memory to check the session section");
        return RM_ERR_NOMEM;
    }
    rm_status st = rm_ckpt_session_decode(c, d, len, w);
    free(w);
    return st;
}

static int check(const char *dir, const char *gpu)
{
    rm_ckpt_t c;
    rm_ckpt_header_t h;
    rm_status st = rm_ckpt_open(&c, dir, gpu, &h);
    if (st == RM_OK)
        rm_ckpt_read_ahead(&c); /* sums checked on several threads; else in turn */
    uint64_t sections = 0, allocs = 0, bytes = 0, images = 0;
    uint8_t *list = NULL; /* the allocation records, shown once all is checked */
    rm_ckpt_obj_t *objs = NULL;
    uint32_t nobjs = 0;
    rm_ckpt_table_t table = {0};
    for (rm_ckpt_section t = RM_CKPT_ALLOCS; st == RM_OK && t != RM_CKPT_END; sections++) {
        void *d;
        uint64_t len;
        if ((st = rm_ckpt_next(&c, &t, &d, &len)) != RM_OK)
            break;
        if (t == RM_CKPT_ALLOCS && !list) {
            allocs = len / RM_CKPT_ALLOC_RECORD;
            list = d;
            continue;
        }
        if (t == RM_CKPT_MEMORY && len >= 8)
            bytes += len - 8;
        if (t == RM_CKPT_HANDLES && !table.slots)
            st = rm_ckpt_table_decode(&c, d, len, &table);
        if (t == RM_CKPT_OBJECTS && !objs)
            st = rm_ckpt_objs_decode(&c, d, len, &objs, &nobjs);
        if (t == RM_CKPT_SESSION)
            st = check_session(&c, d, len);
        images += t == RM_CKPT_IMAGE;
        free(d);
    }
    rm_ckpt_close(&c);
    if (st != RM_OK) {
        fprintf(stderr, "remora checkpoint: %s\n", c.err);
        free(list);
        free(objs);
        free(table.slots);
        return 1;
    }
    printf("checkpoint %s: format version %u, session %llu, GPU %s, %llu sections, %llu allocations, %llu bytes "
           "of device memory, %u objects (%u handle slots), %llu module images\n",
           dir, h.version, (unsigned long long)h.session, h.gpu, (unsigned long long)sections,
           (unsigned long long)allocs, (unsigned long long)bytes, nobjs, table.count, (unsigned long long)images);
    for (uint64_t i = 0; i < allocs; i++) {
        const uint8_t *r = list + i * RM_CKPT_ALLOC_RECORD;
        printf("  allocation %#llx %llu bytes, device %llu\n", (unsigned long long)le64(r),
               (unsigned long long)le64(r + 8), (unsigned long long)le64(r + 32));
    }
    list_objects(objs, nobjs);
    free(list);
    free(objs);
    free(table.slots);
    return 0;
}

static int take(const char *server, uint64_t session, const char *dir)
{
    char abs[sizeof ((rm_ckpt_request_t *)0)->dir];
    if (rm_cli_request_dir("checkpoint", dir, abs, sizeof abs) != 0)
        return 2;
    rm_cli_conn_t c;
    if (rm_cli_dial("checkpoint", server, RM_FEAT_CHECKPOINT, session, &c) != 0)
        return 1;
    /* over tls:// the request and reply travel in a TLS connection of their own, after the handshake's */
    rm_ckpt_reply_t rep;
    if (rm_cli_ckpt_exchange("checkpoint", server, &c, abs, &rep, sizeof rep) != 0)
        return 1;
    rep.message[sizeof rep.message - 1] = 0;
    if (rep.status != RM_OK) {
        fprintf(stderr, "remora checkpoint: session %llu: %s\n", (unsigned long long)session, rep.message);
        return 1;
    }
    printf("checkpoint of session %llu in %s: %u allocations, %llu bytes of device memory, %llu bytes written, "
           "paused %.1f ms\n",
           (unsigned long long)session, abs, rep.allocations, (unsigned long long)rep.bytes,
           (unsigned long long)rep.file_bytes, rep.pause_us / 1e3);
    return 0;
}

int rm_cli_checkpoint(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},    {"server", required_argument, NULL, 's'},
        {"check", required_argument, NULL, 'c'}, {"gpu", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *to = NULL, *server = NULL, *checked = NULL, *gpu = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't': to = optarg; break;
        case 's': server = optarg; break;
        case 'c': checked = optarg; break;
        case 'g': gpu = optarg; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "remora checkpoint: %s %s\n" SYNOPSIS,
                    c == ':' ? "a value is needed after" : "unknown option", argv[optind - 1]);
            return 2;
        }
    }
    if (checked) {
        if (optind < argc || to || server) {
            fprintf(stderr, "remora checkpoint: --check takes a directory only\n" SYNOPSIS);
            return 2;
        }
        return check(checked, gpu);
    }
    char *end = NULL;
    unsigned long long session = optind + 1 == argc ? strtoull(argv[optind], &end, 10) : 0;
    if (!session || !end || *end || !to || gpu) {
        fprintf(stderr, "remora checkpoint: give a session id (remora status lists them) and --to DIR\n" SYNOPSIS);
        return 2;
    }
    rm_config_t file;
    if (rm_config_load(&file, "remora checkpoint") != 0)
        return 2;
    rm_config_export_env(&file);
    rm_config_free(&file);
    return take(rm_cli_server(server), session, to);
}
