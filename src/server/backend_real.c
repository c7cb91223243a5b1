/* Real backend: the NVIDIA driver, loaded by absolute path with dlopen and
 * its entry points taken by dlsym under their exact versioned names.
 *
 * The worker must never load remora's own libcuda.so.1 (it would call itself
 * through the server) nor the toolkit's link-time stub (every call fails with
 * CUDA_ERROR_STUB_LIBRARY), so both are recognised and refused: remora's
 * client exports rm_client_marker; the stub lives under .../stubs/ and its
 * cuDriverGetVersion answers CUDA_ERROR_STUB_LIBRARY. The library is never
 * unloaded: the table points into it for the life of the worker.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"

static const char *const real_search_path[] = {
    "/usr/local/nvidia/lib64/libcuda.so.1",
    "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
    "/usr/lib64/libcuda.so.1",
    "/usr/lib/libcuda.so.1",
    "/usr/local/cuda/compat/libcuda.so.1",
};

#define REAL_NPATHS (sizeof real_search_path / sizeof real_search_path[0])
#define REAL_COUNT(fn) +1
#define REAL_NCALLS (0 RM_BACKEND_CALLS(REAL_COUNT))

/* The toolkit's stub, by where it lives: the path itself or its target. */
static bool real_is_stub_path(const char *path)
{
    char resolved[PATH_MAX];
    return strstr(path, "/stubs/") || (realpath(path, resolved) && strstr(resolved, "/stubs/"));
}

/* Fills b from the open library h; counts the entry points it lacks. */
static unsigned real_fill(void *h, rm_backend_t *b)
{
    unsigned missing = 0;
    memset(b, 0, sizeof *b);
    b->name = "real";
#define RM_REAL_LOAD(fn)                                                                           \
    b->fn = (__typeof__(b->fn))dlsym(h, #fn);                                                      \
    if (!b->fn) {                                                                                  \
        RM_DEBUG("real backend: driver has no %s", #fn);                                           \
        missing++;                                                                                 \
    }
    RM_BACKEND_CALLS(RM_REAL_LOAD)
#undef RM_REAL_LOAD
    return missing;
}

/* The driver's own cudart interface (export table 6bd5fb6c...), whose entry
 * [2] names a device's primary context without retaining it. */
static CUresult (*real_primary_handle)(CUcontext *, CUdevice);

static CUresult real_primary_ctx_handle(CUcontext *pctx, CUdevice dev)
{
    return real_primary_handle(pctx, dev);
}

static void real_fill_private(void *h, rm_backend_t *b)
{
    static const CUuuid cudart_interface = {{(char)0x6b, (char)0xd5, (char)0xfb, 0x6c, 0x5b, (char)0xf4,
                                             (char)0xe7, 0x4a, (char)0x89, (char)0x87, (char)0xd9, 0x39,
                                             0x12, (char)0xfd, (char)0x9d, (char)0xf9}};
    CUresult (*get_table)(const void **, const CUuuid *) =
        (CUresult(*)(const void **, const CUuuid *))dlsym(h, "cuGetExportTable");
    const void *const *table = NULL;
    if (!get_table || get_table((const void **)&table, &cudart_interface) != CUDA_SUCCESS || !table ||
        (uintptr_t)table[0] < 3 * sizeof(void *)) {
        RM_WARN("real backend: the driver has no cudart interface; NVIDIA's cudart cannot start");
        return;
    }
    real_primary_handle = (CUresult(*)(CUcontext *, CUdevice))table[2];
    b->primary_ctx_handle = real_primary_ctx_handle;
}

/* Checks that the library at path, open as h, is the NVIDIA driver. */
static rm_status real_check(void *h, const char *path, int *version)
{
    if (dlsym(h, "rm_client_marker")) {
        RM_ERROR("refusing %s: it is remora's own client libcuda, not the NVIDIA driver", path);
        return RM_ERR_INVAL;
    }
    CUresult (*get_version)(int *) = (CUresult(*)(int *))dlsym(h, "cuDriverGetVersion");
    if (!dlsym(h, "cuInit") || !get_version) {
        RM_ERROR("refusing %s: it has no cuInit or cuDriverGetVersion, so it is not a CUDA driver",
                 path);
        return RM_ERR_INVAL;
    }
    CUresult rc = get_version(version);
    if (rc == CUDA_ERROR_STUB_LIBRARY) {
        RM_ERROR("refusing %s: it is the CUDA toolkit's stub libcuda, which exists only for "
                 "linking",
                 path);
        return RM_ERR_INVAL;
    }
    if (rc != CUDA_SUCCESS)
        *version = 0;
    return RM_OK;
}

static rm_status real_open_path(const char *path, rm_backend_t *out)
{
    if (path[0] != '/') {
        RM_ERROR("driver path %s is not absolute: the real driver is loaded by absolute path only",
                 path);
        return RM_ERR_INVAL;
    }
    if (real_is_stub_path(path)) {
        RM_ERROR("refusing %s: it is the CUDA toolkit's stub libcuda, which exists only for "
                 "linking",
                 path);
        return RM_ERR_INVAL;
    }
    if (access(path, F_OK) != 0) {
        RM_DEBUG("no driver at %s", path);
        return RM_ERR_NOT_FOUND;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        RM_ERROR("cannot load the driver %s: %s", path, dlerror());
        return RM_ERR_IO;
    }
    int version = 0;
    rm_status st = real_check(h, path, &version);
    if (st != RM_OK) {
        dlclose(h);
        return st;
    }
    rm_backend_t b;
    unsigned missing = real_fill(h, &b);
    real_fill_private(h, &b);
    RM_INFO("real backend: %s, driver API %d.%d, %u of %d entry points missing", path,
            version / 1000, version % 1000 / 10, missing, REAL_NCALLS);
    *out = b;
    return RM_OK;
}

rm_status rm_backend_real_open(const char *path, rm_backend_t *out)
{
    if (!out)
        return RM_ERR_INVAL;
    if (path) {
        rm_status st = real_open_path(path, out);
        if (st == RM_ERR_NOT_FOUND)
            RM_ERROR("no driver at %s", path);
        return st;
    }
    const char *env = getenv("REMORA_DRIVER");
    if (env && *env) {
        if (real_open_path(env, out) == RM_OK)
            return RM_OK;
        RM_WARN("REMORA_DRIVER=%s is not usable; searching the usual places", env);
    }
    char looked[1024] = "";
    for (size_t i = 0; i < REAL_NPATHS; i++) {
        if (real_open_path(real_search_path[i], out) == RM_OK)
            return RM_OK;
        size_t len = strlen(looked);
        snprintf(looked + len, sizeof looked - len, "%s%s", len ? ", " : "", real_search_path[i]);
    }
    RM_ERROR("no NVIDIA driver found (looked in %s%s%s); set REMORA_DRIVER to its absolute path",
             env && *env ? env : "", env && *env ? ", " : "", looked);
    return RM_ERR_NOT_FOUND;
}
