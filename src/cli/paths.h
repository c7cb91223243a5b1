/* Where remora's parts are: remora-server and the client libraries are
 * found relative to the remora binary itself (/proc/self/exe), so a build
 * tree (build/bin, build/lib) and an install (PREFIX/bin,
 * PREFIX/LIBDIR/remora) both work wherever they are. */
#ifndef RM_CLI_PATHS_H
#define RM_CLI_PATHS_H

#include <stddef.h>

/* PREFIX/bin/remora-server next to this binary. 0, or -1 after saying why. */
int rm_cli_server_bin(char *out, size_t len);

/* The folder holding remora's libcuda.so.1: PREFIX/RM_INSTALL_CLIENT_LIBDIR
 * (where cmake --install puts it), else PREFIX/lib/remora, else PREFIX/lib
 * (a build tree). 0, or -1 after saying where it looked. */
int rm_cli_lib_dir(char *out, size_t len);

/* The value of the first of the n variables that is set and not empty,
 * or NULL. */
const char *rm_cli_first_env(const char *const *names, size_t n);

/* $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp. */
const char *rm_cli_runtime_dir(void);

#endif
