/* The private server of `remora run`: a remora-server on a shm socket of
 * its own (RUNTIME_DIR/remora-run-PID.sock) for the life of one program,
 * in its own process group so that the terminal's Ctrl-C reaches the
 * program, not the server under it. Its ready file and (by default) its
 * log live in a private folder RUNTIME_DIR/remora-run-PID-XXXXXX. */
#ifndef RM_CLI_EMBEDDED_H
#define RM_CLI_EMBEDDED_H

#include <sys/types.h>

typedef struct {
    pid_t pid;          /* 0: not running */
    char dir[4160];     /* the private folder */
    char sock[4160];    /* the Unix socket */
    char address[4200]; /* shm://SOCK, for REMORA_SERVER */
    char log[4200];
    int own_log; /* the log is ours (not --log): removed unless kept */
} rm_embedded_t;

/* Starts the server (backend NULL: its own default, from the config file
 * or real) logging to log_path (NULL: a file in the private folder) and
 * waits until it listens. 0, or -1 after passing on what the server said. */
int rm_embedded_start(rm_embedded_t *e, const char *backend, const char *log_path);

/* Stops it (SIGTERM, then SIGKILL after a grace period) and removes its
 * files. Its log is kept, and its path printed, when the server failed,
 * or when the program failed and the log has something to say. 0 when
 * the server had run and stopped cleanly. */
int rm_embedded_stop(rm_embedded_t *e, int program_failed);

#endif
