/* remora run: the library path and the server address for one program,
 * and an embedded server when none is given. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "embedded.h"
#include "log.h"
#include "paths.h"
#include "proc.h"

#define SYNOPSIS \
    "usage: remora run [--server ADDR] [--backend real|fake] [--log FILE] [--trace[=FILE]] [--] PROGRAM [ARGS...]\n"

void rm_cli_run_usage(FILE *f)
{
    fprintf(f, SYNOPSIS
            "\n"
            "Runs PROGRAM with remora's libcuda.so.1 first on LD_LIBRARY_PATH and REMORA_SERVER\n"
            "set, so every CUDA call it and its children make goes to a remora server (and\n"
            "TRITON_LIBCUDA_PATH, unless set, naming remora's library directory). With no\n"
            "server given, it starts a private embedded remora-server for the life of the program\n"
            "on a shm address of its own. Exits with the program's exit status (128+N when\n"
            "signal N ended it).\n"
            "\n"
            "  --server ADDR   the server to use: tcp://HOST:PORT or shm://NAME or shm:///path.sock;\n"
            "                  several, comma-separated, give the program all their GPUs\n"
            "                  (default: $REMORA_SERVER, else the config file's [client] server,\n"
            "                  else an embedded server)\n"
            "  --backend real|fake\n"
            "                  start an embedded server with this backend, even when a server is\n"
            "                  configured: real (the default) needs the NVIDIA driver; fake is a\n"
            "                  host-memory emulator for machines without a GPU\n"
            "  --log FILE      write the embedded server's log to FILE (overwritten) and keep it;\n"
            "                  by default it goes to a file under $XDG_RUNTIME_DIR (else $TMPDIR,\n"
            "                  else /tmp) that is removed after the run unless something failed\n"
            "  --trace[=FILE]  print every CUDA driver call of the program and its children, with\n"
            "                  arguments, result and time (REMORA_TRACE), to stderr or to FILE\n"
            "                  (emptied first; every process appends to it)\n"
            "  -h, --help      this text\n"
            "\n"
            "environment: REMORA_SERVER (as --server), REMOTE_GPU_ADDRESS (used by the client when\n"
            "  REMORA_SERVER is unset), REMORA_TOKEN, REMORA_LOG=error|warn|info|debug|trace\n"
            "  (both the program and the embedded server), REMORA_TRACE=1|FILE, REMORA_STATS=1,\n"
            "  REMORA_DRIVER, REMORA_CONFIG.\n"
            "config file ($REMORA_CONFIG, else ~/.config/remora/remora.conf, else\n"
            "  /etc/remora/remora.conf): token, log, [client] server, and for the embedded server\n"
            "  [server] backend, driver, cache-dir. The environment overrides the file, the command\n"
            "  line overrides both.\n"
            "\n"
            "Ctrl-C reaches the program as usual; SIGTERM and SIGHUP sent to remora are passed to it.\n"
            "The embedded server stops when PROGRAM exits, even if children of it still run.\n");
}

static volatile sig_atomic_t program_pid;

static void forward(int sig)
{
    if (program_pid > 0)
        kill(program_pid, sig);
}

/* The program's environment is set in remora itself (after the embedded
 * server has started, so the server does not get it); the child only
 * restores the signals remora ignores. */
static int run_program(char **argv)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward}, old_int, old_quit;
    sigaction(SIGINT, &ign, &old_int); /* the terminal sends it to the program too */
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, NULL);
    sigaction(SIGHUP, &fwd, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        execvp(argv[0], argv);
        int err = errno;
        fprintf(stderr, "remora run: cannot run %s: %s\n", argv[0], strerror(err));
        _exit(err == ENOENT ? 127 : 126);
    }
    if (pid < 0) {
        fprintf(stderr, "remora run: fork: %s\n", strerror(errno));
        return 1;
    }
    program_pid = pid;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    program_pid = 0;
    return rm_proc_exit_code(status);
}

static int prepend_lib_dir(void)
{
    char lib[PATH_MAX], path[2 * PATH_MAX];
    if (rm_cli_lib_dir(lib, sizeof lib) != 0)
        return -1;
    const char *old = getenv("LD_LIBRARY_PATH");
    snprintf(path, sizeof path, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    /* Triton links its launchers against the libcuda it finds with ldconfig
     * (none on a host without the NVIDIA driver) unless told where */
    return setenv("LD_LIBRARY_PATH", path, 1) || setenv("TRITON_LIBCUDA_PATH", lib, 0);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("remora run: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(SYNOPSIS "(remora run --help tells more)\n", stderr);
    return 2;
}

/* --trace[=FILE]: REMORA_TRACE for the program, FILE made absolute (the
 * program may change folders) and emptied (its processes append). */
static int set_trace(const char *file)
{
    char path[PATH_MAX + 1], cwd[PATH_MAX];
    if (!file)
        return setenv("REMORA_TRACE", "1", 1);
    if (file[0] != '/' && getcwd(cwd, sizeof cwd))
        snprintf(path, sizeof path, "%s/%s", cwd, file);
    else
        snprintf(path, sizeof path, "%s", file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "remora run: cannot write the trace to %s: %s\n", path, strerror(errno));
        return -1;
    }
    close(fd);
    return setenv("REMORA_TRACE", path, 1);
}

/* A server the program is to use instead of an embedded one, if any. */
static const char *given_server(void)
{
    static const char *const vars[] = {"REMORA_SERVER", "REMOTE_GPU_ADDRESS"};
    return rm_cli_first_env(vars, sizeof vars / sizeof vars[0]);
}

int rm_cli_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"backend", required_argument, NULL, 'b'},
        {"log", required_argument, NULL, 'l'},    {"trace", optional_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL, *backend = NULL, *log_path = NULL, *trace_file = NULL;
    int c, trace = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': server = optarg; break;
        case 'b': backend = optarg; break;
        case 'l': log_path = optarg; break;
        case 't':
            trace = 1;
            trace_file = optarg;
            break;
        case 'h': rm_cli_run_usage(stdout); return 0;
        case ':': return usage_error("%s needs a value", argv[optind - 1]);
        default: return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind == argc)
        return usage_error("no PROGRAM to run%s", "");
    if (backend && strcmp(backend, "real") != 0 && strcmp(backend, "fake") != 0)
        return usage_error("unknown backend '%s' (real or fake)", backend);
    if (server && (backend || log_path))
        return usage_error("%s is for the embedded server, which --server does without",
                           backend ? "--backend" : "--log");

    if (trace && set_trace(trace_file) != 0)
        return 1;
    if (rm_config_load_env("remora run") != 0)
        return 2;
    if (server)
        setenv("REMORA_SERVER", server, 1);
    rm_log_set_prefix("run");

    rm_embedded_t embedded = {0};
    if (given_server() && !backend) {
        if (log_path)
            fprintf(stderr, "remora run: warning: --log unused: the program uses the server %s\n",
                    given_server());
    } else {
        if (rm_embedded_start(&embedded, backend, log_path) != 0) {
            fprintf(stderr, "remora run: %s was not run\n", argv[optind]);
            return 1;
        }
        setenv("REMORA_SERVER", embedded.address, 1);
        RM_INFO("embedded server on %s, log %s", embedded.address, embedded.log);
    }
    int code = prepend_lib_dir() == 0 ? run_program(argv + optind) : 1;
    if (embedded.pid > 0)
        rm_embedded_stop(&embedded, code != 0); /* says what went wrong, if anything */
    return code;
}
