/* Finding remora-server, the client libraries and the runtime folder. */
#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The folder of this binary, and of the folder above it (PREFIX). */
static int self_dirs(char *bin, char *prefix, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        perror("remora: /proc/self/exe");
        return -1;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    *slash = '\0';
    snprintf(bin, len, "%s", exe);
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(prefix, len, "%s", exe);
    return 0;
}

int rm_cli_server_bin(char *out, size_t len)
{
    char bin[PATH_MAX], prefix[PATH_MAX];
    if (self_dirs(bin, prefix, sizeof bin) != 0)
        return -1;
    snprintf(out, len, "%s/remora-server", bin);
    if (access(out, X_OK) == 0)
        return 0;
    fprintf(stderr, "remora: no remora-server next to remora (looked for %s)\n", out);
    return -1;
}

int rm_cli_lib_dir(char *out, size_t len)
{
    /* The install's own folder first (PREFIX/lib/x86_64-linux-gnu/remora from
     * the Debian package), then lib/remora: an installed PREFIX/lib may hold
     * NVIDIA's libcuda. lib is the build tree's. */
    static const char *const below[] = {RM_INSTALL_CLIENT_LIBDIR, "lib/remora", "lib"};
    char bin[PATH_MAX], prefix[PATH_MAX], lib[PATH_MAX + 32];
    if (self_dirs(bin, prefix, sizeof bin) != 0)
        return -1;
    for (size_t i = 0; i < sizeof below / sizeof below[0]; i++) {
        snprintf(lib, sizeof lib, "%s/%s/libcuda.so.1", prefix, below[i]);
        if (access(lib, R_OK) == 0) {
            snprintf(out, len, "%s/%s", prefix, below[i]);
            return 0;
        }
    }
    fprintf(stderr, "remora: remora's libcuda.so.1 is in none of %s/%s, %s/lib/remora, %s/lib\n", prefix,
            RM_INSTALL_CLIENT_LIBDIR, prefix, prefix);
    return -1;
}

const char *rm_cli_first_env(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}

const char *rm_cli_runtime_dir(void)
{
    static const char *const vars[] = {"XDG_RUNTIME_DIR", "TMPDIR"};
    const char *dir = rm_cli_first_env(vars, sizeof vars / sizeof vars[0]);
    return dir ? dir : "/tmp";
}
