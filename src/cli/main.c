/* remora: the command line (run, server, status, version, help). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "paths.h"
#include "checkpoint.h"
#include "migrate.h"
#include "restore.h"
#include "run.h"
#include "status.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: remora COMMAND [ARGS...]\n"
            "       remora --help | --version\n"
            "\n"
            "remora runs unmodified CUDA programs on a GPU in another process or on another\n"
            "machine: its libcuda.so.1 carries every driver call to a remora server.\n"
            "\n"
            "commands:\n"
            "  checkpoint SESSION --to DIR [--server ADDR] | checkpoint --check DIR [--gpu NAME]\n"
            "              write a running session's device memory to DIR (it runs on), or\n"
            "              check a checkpoint\n"
            "  migrate SESSION --to ADDR [--server ADDR]\n"
            "              move a running session to another server while its program runs\n"
            "  restore DIR [--server ADDR]\n"
            "              recreate a checkpointed session in a server, for its program to join\n"
            "  run [--server ADDR] [--backend real|fake] [--log FILE] [--trace[=FILE]] [--] PROGRAM [ARGS...]\n"
            "              run PROGRAM through remora, on an embedded server unless one is given\n"
            "              (remora run --backend fake -- ./app on a machine without a GPU)\n"
            "  server [OPTIONS]\n"
            "              the remora server (the same program as remora-server)\n"
            "  status [--server ADDR] [--json]\n"
            "              the sessions of a running server: program, pid, host, transport,\n"
            "              start time, device memory, calls and bytes so far\n"
            "  version     print the version\n"
            "  help [COMMAND]\n"
            "              this text, or a command's (as COMMAND --help)\n"
            "\n"
            "config file: $REMORA_CONFIG, else ~/.config/remora/remora.conf, else\n"
            "  /etc/remora/remora.conf (INI):\n"
            "    token = SECRET          shared secret of clients and server, <= 127 bytes (REMORA_TOKEN)\n"
            "    log = warn              error|warn|info|debug|trace (REMORA_LOG)\n"
            "    [client]\n"
            "    server = ADDR           the server programs use (REMORA_SERVER)\n"
            "    connect-timeout = S     handshake deadline, default 10 (REMORA_CONNECT_TIMEOUT)\n"
            "    call-timeout = S        reply deadline, default 0: none (REMORA_CALL_TIMEOUT)\n"
            "    [server]\n"
            "    listen = ADDR [ADDR...] addresses of remora server without --listen\n"
            "    backend = real|fake     default real\n"
            "    driver = PATH           the NVIDIA libcuda.so.1 (REMORA_DRIVER)\n"
            "    cache-dir = DIR         module image cache\n"
            "  The environment overrides the file; the command line overrides both.\n"
            "\n"
            "environment of programs run through remora: REMORA_TRACE=1|FILE (every driver call\n"
            "  with its arguments, result and time), REMORA_STATS=1 (a table per operation at exit).\n"
            "  REMORA_SERVER=ADDR,ADDR... (up to 8 servers): their GPUs form one list of devices.\n");
}

static int version(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: remora version\n  prints remora's version and whether it reads config files\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: remora version\n");
        return 2;
    }
    const char *parser = rm_config_parser();
    printf("remora %s\n", REMORA_VERSION);
    printf("config files: %s\n", parser ? parser : "not supported (built without libinih)");
    return 0;
}

/* remora server ARGS == remora-server ARGS. */
static int server(int argc, char **argv)
{
    char bin[PATH_MAX];
    if (rm_cli_server_bin(bin, sizeof bin) != 0)
        return 1;
    argv[0] = "remora-server";
    execv(bin, argv);
    fprintf(stderr, "remora: cannot run %s: %s\n", bin, strerror(errno));
    return 1;
}

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
} commands[] = {
    {"checkpoint", rm_cli_checkpoint},
    {"migrate", rm_cli_migrate},
    {"restore", rm_cli_restore},
    {"run", rm_cli_run},
    {"server", server},
    {"status", rm_cli_status},
    {"version", version},
};

static int help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(2, (char *[]){argv[1], "--help", NULL});
    fprintf(stderr, "remora: no command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return help(1, argv);
    if (strcmp(argv[1], "--version") == 0)
        return version(1, argv + 1);
    if (strcmp(argv[1], "help") == 0)
        return help(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "remora: unknown %s '%s'\n", argv[1][0] == '-' ? "option" : "command", argv[1]);
    usage(stderr);
    return 2;
}
