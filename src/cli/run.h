/* remora run: one program (and its children) through remora. */
#ifndef RM_CLI_RUN_H
#define RM_CLI_RUN_H

#include <stdio.h>

/* argv[0] is "run". Returns the program's exit code (128+signal when a
 * signal ended it), or 2 for a usage error, or 1 (127/126 when the program
 * cannot be run) when remora could not run it. */
int rm_cli_run(int argc, char **argv);
void rm_cli_run_usage(FILE *f);

#endif
