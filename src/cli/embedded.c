/* The embedded server of `remora run`: start, wait until ready, stop. */
#include "embedded.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "paths.h"
#include "proc.h"

#define READY_TIMEOUT_MS 30000 /* sanitizer builds start slowly */
#define STOP_GRACE_MS 5000

/* Names the socket, the private folder and the log; opens the log. */
static int make_paths(rm_embedded_t *e, const char *log_path)
{
    char rt[PATH_MAX];
    if (!realpath(rm_cli_runtime_dir(), rt)) {
        fprintf(stderr, "remora run: runtime folder %s: %s\n", rm_cli_runtime_dir(), strerror(errno));
        return -1;
    }
    snprintf(e->sock, sizeof e->sock, "%s/remora-run-%d.sock", rt, (int)getpid());
    if (strlen(e->sock) >= sizeof((struct sockaddr_un *)0)->sun_path) {
        fprintf(stderr,
                "remora run: the socket path %s is too long for a Unix socket: set XDG_RUNTIME_DIR "
                "or TMPDIR to a shorter folder\n",
                e->sock);
        return -1;
    }
    snprintf(e->address, sizeof e->address, "shm://%s", e->sock);
    snprintf(e->dir, sizeof e->dir, "%s/remora-run-%d-XXXXXX", rt, (int)getpid());
    if (!mkdtemp(e->dir)) {
        fprintf(stderr, "remora run: cannot make a folder in %s: %s\n", rt, strerror(errno));
        e->dir[0] = '\0';
        return -1;
    }
    e->own_log = !log_path;
    if (log_path)
        snprintf(e->log, sizeof e->log, "%s", log_path);
    else
        snprintf(e->log, sizeof e->log, "%s/server.log", e->dir);
    return 0;
}

static void ready_path(const rm_embedded_t *e, char *out, size_t len)
{
    snprintf(out, len, "%s/ready", e->dir);
}

/* Copies the log to stderr: what the server said about its failure. */
static void pass_on_log(const rm_embedded_t *e)
{
    FILE *f = fopen(e->log, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        fputs(line, stderr);
    if (f)
        fclose(f);
}

/* Removes what the server left; the log too unless it is to be kept. */
static void remove_files(rm_embedded_t *e, int keep_log)
{
    char ready[4200];
    ready_path(e, ready, sizeof ready);
    unlink(e->sock);
    unlink(ready);
    if (e->own_log && !keep_log)
        unlink(e->log);
    if (*e->dir)
        rmdir(e->dir); /* fails, as it should, while the log is kept there */
    if (keep_log)
        fprintf(stderr, "remora run: the embedded server's log is %s\n", e->log);
}

static pid_t spawn_server(const char *bin, char *const argv[], int log_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0); /* the terminal's signals are for the program */
    /* remora killed before it could stop the server: the server goes too */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(1);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(bin, argv);
    fprintf(stderr, "remora run: cannot run %s: %s\n", bin, strerror(errno));
    _exit(127);
}

/* SIGTERM, then SIGKILL after the grace period. 1 if it had to be killed. */
static int halt(rm_embedded_t *e, int *status)
{
    kill(e->pid, SIGTERM);
    if (rm_proc_wait(e->pid, STOP_GRACE_MS, status) > 0)
        return 0;
    fprintf(stderr, "remora run: the embedded remora-server did not stop within %d s of SIGTERM; "
                    "killing it\n",
            STOP_GRACE_MS / 1000);
    kill(-e->pid, SIGKILL); /* and its workers: the server leads its process group */
    rm_proc_wait(e->pid, STOP_GRACE_MS, status);
    return 1;
}

int rm_embedded_start(rm_embedded_t *e, const char *backend, const char *log_path)
{
    memset(e, 0, sizeof *e);
    char bin[PATH_MAX], ready[4200];
    if (rm_cli_server_bin(bin, sizeof bin) != 0 || make_paths(e, log_path) != 0) {
        remove_files(e, 0);
        return -1;
    }
    int log_fd = open(e->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, e->own_log ? 0600 : 0666);
    if (log_fd < 0) {
        fprintf(stderr, "remora run: cannot write the server log %s: %s\n", e->log, strerror(errno));
        remove_files(e, 0);
        return -1;
    }
    ready_path(e, ready, sizeof ready);
    char *argv[] = {"remora-server", "--listen", e->address, "--ready-file", ready,
                    backend ? "--backend" : NULL, (char *)backend, NULL};
    e->pid = spawn_server(bin, argv, log_fd);
    close(log_fd);
    if (e->pid < 0) {
        fprintf(stderr, "remora run: cannot start remora-server: %s\n", strerror(errno));
        remove_files(e, 0);
        return -1;
    }
    /* The server writes the ready file whole and renames it into place. */
    int status = 0, ended = 0;
    for (int waited = 0; access(ready, F_OK) != 0; waited += 10) {
        if (waited < READY_TIMEOUT_MS && !(ended = rm_proc_wait(e->pid, 10, &status)))
            continue;
        pass_on_log(e);
        char how[64] = "no answer";
        if (ended > 0)
            rm_proc_describe(status, how, sizeof how);
        else
            halt(e, &status);
        fprintf(stderr, "remora run: the embedded remora-server %s (%s)\n",
                ended ? "stopped before it was ready" : "was not ready in time", how);
        remove_files(e, 0); /* all it said is on stderr now */
        e->pid = 0;
        return -1;
    }
    return 0;
}

int rm_embedded_stop(rm_embedded_t *e, int program_failed)
{
    if (e->pid <= 0)
        return -1;
    int status = 0;
    int died = rm_proc_wait(e->pid, 0, &status) > 0; /* before it was told to stop */
    int killed = died ? 0 : halt(e, &status);
    if (died) {
        char how[64];
        rm_proc_describe(status, how, sizeof how);
        fprintf(stderr, "remora run: the embedded remora-server stopped during the run (%s)\n", how);
    }
    int clean = !died && !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    struct stat st;
    int said_something = stat(e->log, &st) == 0 && st.st_size > 0;
    remove_files(e, !clean || (program_failed && said_something));
    e->pid = 0;
    return clean ? 0 : -1;
}
