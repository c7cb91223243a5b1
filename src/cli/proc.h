/* Child processes of the remora command: waiting with a deadline, and
 * telling how one ended. */
#ifndef RM_CLI_PROC_H
#define RM_CLI_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Reaps pid if it ends within ms milliseconds (0: only if it has ended).
 * 1 with *status set when reaped, 0 while it runs, -1 on error. */
int rm_proc_wait(pid_t pid, int ms, int *status);

/* A shell's exit code for a wait status: the exit status, 128+signal. */
int rm_proc_exit_code(int status);

/* "exit status N" or "signal N (NAME)". */
void rm_proc_describe(int status, char *out, size_t len);

#endif
