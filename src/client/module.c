/* Client: modules, libraries, functions, globals and kernel launches.
 * Images are sent whole; their size is worked out from their format
 * (fatbin, ELF cubin, or NUL-terminated PTX text) since the API does not
 * pass it. Launch parameters are packed with the cached layout into one
 * buffer per launch. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "export.h"
#include "jit.h"
#include "module.h"
#include "handles.h"
#include "image.h"
#include "log.h"
#include "managed.h"
#include "memory.h"
#include "remora/protocol.h"
#include "sha256.h"
#include "rm_stubs.h"
#include "route.h"
#include "session.h"

#define MAX_IMAGE (RM_MAX_MSG - 4096u)

/* *image: what to send (a fatbin wrapper's fatbin); *n: its size. */
static CUresult check_image(const void **image, size_t *n)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!*image || !(*image = rm_image_unwrap(*image)))
        return CUDA_ERROR_INVALID_VALUE;
    *n = rm_image_size(*image, MAX_IMAGE);
    if (*n == 0 || *n > MAX_IMAGE)
        return CUDA_ERROR_INVALID_IMAGE;
    return CUDA_SUCCESS;
}

static pthread_mutex_t funcs_lock = PTHREAD_MUTEX_INITIALIZER;
static rm_cl_func_t *funcs;

/* Free the function objects of a module or library that was unloaded. */
static void forget_funcs(uint64_t owner)
{
    pthread_mutex_lock(&funcs_lock);
    for (rm_cl_func_t **pp = &funcs; *pp;) {
        rm_cl_func_t *f = *pp;
        if (f->owner == owner) {
            *pp = f->next;
            f->magic = 0;
            free(f->layout);
            free(f->name);
            free(f);
        } else {
            pp = &f->next;
        }
    }
    pthread_mutex_unlock(&funcs_lock);
}

/* Images at least this big are first offered by hash (REMORA_MODULE_CACHE_MIN). */
static size_t cache_min(void)
{
    static long min = -1;
    if (min < 0) {
        const char *s = getenv("REMORA_MODULE_CACHE_MIN");
        min = s && *s ? atol(s) : 16384;
    }
    return (size_t)min;
}

/* Offer the image by its SHA-256: 1 and *id set if the server had it. */
static int load_by_hash(const void *image, size_t n, int library, uint64_t *id, CUresult *r)
{
    uint8_t hash[RM_SHA256_LEN];
    if (n < cache_min())
        return 0;
    rm_sha256(image, n, hash);
    if (library) {
        rm_library_load_cached_req_t in = {hash, sizeof hash};
        rm_library_load_cached_rep_t out;
        if ((*r = rm_call_library_load_cached(&in, &out)) == CUDA_SUCCESS)
            *id = out.library;
    } else {
        rm_module_load_cached_req_t in = {hash, sizeof hash};
        rm_module_load_cached_rep_t out;
        if ((*r = rm_call_module_load_cached(&in, &out)) == CUDA_SUCCESS)
            *id = out.module;
    }
    return *r != CUDA_ERROR_NOT_FOUND; /* anything but a miss is the answer */
}

CUresult CUDAAPI RM_IMPL(cuModuleLoadData)(CUmodule *module, const void *image)
{
    size_t n;
    uint64_t id;
    CUresult r = check_image(&image, &n);
    if (r != CUDA_SUCCESS || !module)
        return r != CUDA_SUCCESS ? r : CUDA_ERROR_INVALID_VALUE;
    if (!load_by_hash(image, n, 0, &id, &r)) {
        rm_module_load_req_t in = {image, (uint32_t)n};
        rm_module_load_rep_t out;
        if ((r = rm_call_module_load(&in, &out)) == CUDA_SUCCESS)
            id = out.module;
    }
    if (r == CUDA_SUCCESS)
        *module = (CUmodule)(uintptr_t)id;
    return r;
}

/* Without options that need the server (values, log buffers), the same as
 * cuModuleLoadData (and its image cache); with them, the image and the
 * options in one call, and the compiler's logs back into the buffers. */
CUresult CUDAAPI RM_IMPL(cuModuleLoadDataEx)(CUmodule *module, const void *image, unsigned int nopts,
                                             CUjit_option *opts, void **vals)
{
    rm_jit_t jit;
    rm_jit_init(&jit);
    size_t n = 0;
    CUresult r = rm_jit_take(&jit, nopts, opts, vals, "cuModuleLoadDataEx");
    if (r == CUDA_SUCCESS && !rm_jit_any(&jit)) {
        rm_jit_free(&jit);
        return cuModuleLoadData(module, image);
    }
    if (r == CUDA_SUCCESS && (r = check_image(&image, &n)) == CUDA_SUCCESS && !module)
        r = CUDA_ERROR_INVALID_VALUE;
    rm_module_load_ex_req_t in = {image, (uint32_t)n, jit.values.data, (uint32_t)jit.values.len};
    rm_module_load_ex_rep_t out;
    if (r == CUDA_SUCCESS && (r = rm_call_module_load_ex(&in, &out)) == CUDA_SUCCESS) {
        rm_jit_logs(&jit, out.info_log, out.info_log_len, out.error_log, out.error_log_len);
        if ((r = (CUresult)out.status) == CUDA_SUCCESS)
            *module = (CUmodule)(uintptr_t)out.module;
    }
    rm_jit_free(&jit);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuModuleLoadFatBinary)(CUmodule *module, const void *fatbin)
{
    return cuModuleLoadData(module, fatbin); /* a wrapper or the fatbin itself */
}

void *rm_cl_read_file(const char *path, size_t *n)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return NULL;
    void *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        rewind(f);
        if (len >= 0 && (size_t)len < MAX_IMAGE && (buf = calloc(1, (size_t)len + 1)) &&
            fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
        *n = (size_t)len;
    }
    fclose(f);
    return buf;
}

CUresult CUDAAPI RM_IMPL(cuModuleLoad)(CUmodule *module, const char *path)
{
    size_t n;
    void *image = rm_cl_read_file(path, &n);
    if (!image)
        return CUDA_ERROR_FILE_NOT_FOUND;
    CUresult r = cuModuleLoadData(module, image);
    free(image);
    return r;
}

/* As the driver: lazy unless CUDA_MODULE_LOADING=EAGER. Answered locally;
 * remora loads an image when the program asks for it. */
CUresult CUDAAPI RM_IMPL(cuModuleGetLoadingMode)(CUmoduleLoadingMode *mode)
{
    if (!mode)
        return CUDA_ERROR_INVALID_VALUE;
    const char *env = getenv("CUDA_MODULE_LOADING");
    *mode = env && strcmp(env, "EAGER") == 0 ? CU_MODULE_EAGER_LOADING : CU_MODULE_LAZY_LOADING;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuModuleUnload)(CUmodule module)
{
    rm_module_unload_req_t in = {(uint64_t)(uintptr_t)module};
    rm_module_unload_rep_t out;
    CUresult r = rm_call_module_unload(&in, &out);
    if (r == CUDA_SUCCESS)
        forget_funcs(in.module);
    return r;
}

/* A checked copy of a function layout from a server reply. */
static CUresult copy_layout(const void *layout, uint32_t len, rm_func_layout_t **out)
{
    const rm_func_layout_t *l = layout;
    if (len < sizeof *l || l->nparams > RM_MAX_PARAMS || len != sizeof *l + l->nparams * sizeof(rm_param_t))
        return CUDA_ERROR_INVALID_VALUE;
    for (uint32_t i = 0; i < l->nparams; i++)
        if (l->params[i].offset > l->param_bytes || l->params[i].size > l->param_bytes - l->params[i].offset)
            return CUDA_ERROR_INVALID_VALUE;
    if (!(*out = malloc(len)))
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(*out, layout, len);
    return CUDA_SUCCESS;
}

/* A client function object from server srv's reply. id 0: a library
 * kernel found while no context was current there; its function is asked
 * for at its first use (resolve). */
static CUresult make_func(uint64_t owner, int srv, uint64_t id, int library, const char *name, const void *layout,
                          uint32_t len, rm_cl_func_t **out)
{
    rm_func_layout_t *copy = NULL;
    CUresult r = id ? copy_layout(layout, len, &copy) : CUDA_SUCCESS;
    if (r != CUDA_SUCCESS)
        return r;
    rm_cl_func_t *f = malloc(sizeof *f);
    char *name_copy = strdup(name);
    if (!f || !name_copy) {
        free(f);
        free(copy);
        free(name_copy);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *f = (rm_cl_func_t){.magic = RM_FUNC_MAGIC, .home = srv, .library = library, .owner = owner, .layout = copy,
                        .name = name_copy};
    f->ids[srv] = id;
    pthread_mutex_lock(&funcs_lock);
    f->next = funcs;
    funcs = f;
    pthread_mutex_unlock(&funcs_lock);
    *out = f;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuModuleGetFunction)(CUfunction *hfunc, CUmodule module, const char *name)
{
    if (!hfunc || !name)
        return CUDA_ERROR_INVALID_VALUE;
    rm_module_get_function_req_t in = {(uint64_t)(uintptr_t)module, name};
    rm_module_get_function_rep_t out;
    CUresult r = rm_call_module_get_function(&in, &out);
    if (r == CUDA_SUCCESS)
        r = make_func(in.module, rm_route_handle(in.module), out.func, 0, name, out.layout, out.layout_len,
                      (rm_cl_func_t **)hfunc);
    return r;
}

static CUresult got_global(CUresult r, uint64_t p, uint64_t size, CUdeviceptr *dptr, size_t *bytes)
{
    if (r != CUDA_SUCCESS)
        return r;
    if (!rm_devmem_contains(p)) /* looked up again: reserved once */
        rm_devmem_add(p, size);
    if (dptr)
        *dptr = p;
    if (bytes)
        *bytes = size;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuModuleGetGlobal_v2)(CUdeviceptr *dptr, size_t *bytes, CUmodule module, const char *name)
{
    if (!name)
        return CUDA_ERROR_INVALID_VALUE;
    rm_module_get_global_req_t in = {(uint64_t)(uintptr_t)module, name};
    rm_module_get_global_rep_t out;
    CUresult r = rm_call_module_get_global(&in, &out);
    return got_global(r, out.dptr, out.bytes, dptr, bytes);
}

/* A library is not bound to a context, so its kernels may run on any
 * device: with several servers it is loaded on each of them. The program
 * holds the first server's handle; the others' are kept here. */
typedef struct lib_copies {
    uint64_t ids[RM_MAX_SERVERS];
    struct lib_copies *next;
} lib_copies_t;
static pthread_mutex_t copies_lock = PTHREAD_MUTEX_INITIALIZER;
static lib_copies_t *lib_copies;

/* Library lib (the program's handle) on server srv. */
static uint64_t lib_on(uint64_t lib, int srv)
{
    uint64_t id = lib;
    pthread_mutex_lock(&copies_lock);
    for (const lib_copies_t *c = lib_copies; c; c = c->next)
        if (c->ids[0] == lib)
            id = c->ids[srv];
    pthread_mutex_unlock(&copies_lock);
    return id;
}

static CUresult unload_library(uint64_t id)
{
    rm_library_unload_req_t in = {id};
    rm_library_unload_rep_t out;
    return rm_call_library_unload(&in, &out);
}

/* Load on server srv (the call goes there: libraries name no context). */
static CUresult load_library_on(int srv, const void *code, size_t n, uint64_t *id)
{
    CUresult r;
    int before = rm_route_pin(srv);
    if (!load_by_hash(code, n, 1, id, &r)) {
        rm_library_load_req_t in = {code, (uint32_t)n};
        rm_library_load_rep_t out;
        if ((r = rm_call_library_load(&in, &out)) == CUDA_SUCCESS)
            *id = out.library;
    }
    rm_route_unpin(before);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuLibraryLoadData)(CUlibrary *library, const void *code, CUjit_option *jit_opts,
                                            void **jit_vals, unsigned int njit, CUlibraryOption *lib_opts,
                                            void **lib_vals, unsigned int nlib)
{
    size_t n;
    CUresult r = check_image(&code, &n);
    if (r != CUDA_SUCCESS || !library)
        return r != CUDA_SUCCESS ? r : CUDA_ERROR_INVALID_VALUE;
    lib_copies_t c = {{0}, NULL};
    int nservers = rm_session_servers(), loaded = 0;
    while (loaded < nservers && (r = load_library_on(loaded, code, n, &c.ids[loaded])) == CUDA_SUCCESS)
        loaded++;
    lib_copies_t *kept = r == CUDA_SUCCESS && nservers > 1 ? malloc(sizeof *kept) : NULL;
    if (r == CUDA_SUCCESS && nservers > 1 && !kept)
        r = CUDA_ERROR_OUT_OF_MEMORY;
    if (r != CUDA_SUCCESS) {
        while (loaded--)
            unload_library(c.ids[loaded]);
        return r;
    }
    if (kept) {
        *kept = c;
        pthread_mutex_lock(&copies_lock);
        kept->next = lib_copies;
        lib_copies = kept;
        pthread_mutex_unlock(&copies_lock);
    }
    *library = (CUlibrary)(uintptr_t)c.ids[0];
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuLibraryLoadFromFile)(CUlibrary *library, const char *path, CUjit_option *jit_opts,
                                                void **jit_vals, unsigned int njit, CUlibraryOption *lib_opts,
                                                void **lib_vals, unsigned int nlib)
{
    size_t n;
    void *image = rm_cl_read_file(path, &n);
    if (!image)
        return CUDA_ERROR_FILE_NOT_FOUND;
    CUresult r = cuLibraryLoadData(library, image, NULL, NULL, 0, NULL, NULL, 0);
    free(image);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuLibraryUnload)(CUlibrary library)
{
    uint64_t lib = (uint64_t)(uintptr_t)library;
    CUresult r = unload_library(lib);
    if (r != CUDA_SUCCESS)
        return r;
    forget_funcs(lib);
    pthread_mutex_lock(&copies_lock);
    lib_copies_t *gone = NULL;
    for (lib_copies_t **pp = &lib_copies; *pp; pp = &(*pp)->next)
        if ((*pp)->ids[0] == lib) {
            gone = *pp;
            *pp = gone->next;
            break;
        }
    pthread_mutex_unlock(&copies_lock);
    for (int srv = 1; gone && srv < rm_session_servers(); srv++)
        unload_library(gone->ids[srv]);
    free(gone);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuLibraryGetKernel)(CUkernel *kernel, CUlibrary library, const char *name)
{
    if (!kernel || !name)
        return CUDA_ERROR_INVALID_VALUE;
    int srv = rm_route_current();
    rm_library_get_kernel_req_t in = {lib_on((uint64_t)(uintptr_t)library, srv), name};
    rm_library_get_kernel_rep_t out;
    CUresult r = rm_call_library_get_kernel(&in, &out);
    if (r == CUDA_SUCCESS)
        r = make_func((uint64_t)(uintptr_t)library, srv, out.func, 1, name, out.layout, out.layout_len,
                      (rm_cl_func_t **)kernel);
    return r;
}

/* A library kernel's function on server srv, in the context now current. */
static CUresult resolve(rm_cl_func_t *f, int srv)
{
    CUresult r = CUDA_SUCCESS;
    pthread_mutex_lock(&funcs_lock);
    if (!f->ids[srv]) {
        rm_library_get_kernel_req_t in = {lib_on(f->owner, srv), f->name};
        rm_library_get_kernel_rep_t out;
        r = rm_call_library_get_kernel(&in, &out);
        if (r == CUDA_SUCCESS && !out.func)
            r = CUDA_ERROR_INVALID_CONTEXT; /* still no context */
        if (r == CUDA_SUCCESS && !f->layout)
            r = copy_layout(out.layout, out.layout_len, &f->layout);
        if (r == CUDA_SUCCESS)
            __atomic_store_n(&f->ids[srv], out.func, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&funcs_lock);
    return r;
}

uint64_t rm_cl_func_id(const void *h)
{
    rm_cl_func_t *f = (rm_cl_func_t *)h;
    if (!f || f->magic != RM_FUNC_MAGIC)
        return 0;
    int srv = f->library ? rm_route_current() : f->home;
    return __atomic_load_n(&f->ids[srv], __ATOMIC_ACQUIRE) || (f->library && resolve(f, srv) == CUDA_SUCCESS)
               ? f->ids[srv]
               : 0;
}

CUresult CUDAAPI RM_IMPL(cuKernelGetFunction)(CUfunction *func, CUkernel kernel)
{
    if (!func || !rm_cl_func_id(kernel))
        return CUDA_ERROR_INVALID_VALUE;
    *func = (CUfunction)kernel; /* one object serves as both */
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuLibraryGetGlobal)(CUdeviceptr *dptr, size_t *bytes, CUlibrary library, const char *name)
{
    if (!name)
        return CUDA_ERROR_INVALID_VALUE;
    rm_library_get_global_req_t in = {lib_on((uint64_t)(uintptr_t)library, rm_route_current()), name};
    rm_library_get_global_rep_t out;
    CUresult r = rm_call_library_get_global(&in, &out);
    return got_global(r, out.dptr, out.bytes, dptr, bytes);
}

rm_cl_func_t *rm_cl_func_of(const void *h)
{
    return rm_cl_func_id(h) ? (rm_cl_func_t *)h : NULL;
}

/* Names are answered here: the client looked the function up by it. */
CUresult CUDAAPI RM_IMPL(cuFuncGetName)(const char **name, CUfunction hfunc)
{
    const rm_cl_func_t *f = (const rm_cl_func_t *)hfunc; /* known without a context too */
    if (!name)
        return CUDA_ERROR_INVALID_VALUE;
    if (!f || f->magic != RM_FUNC_MAGIC)
        return CUDA_ERROR_INVALID_HANDLE;
    *name = f->name;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuKernelGetName)(const char **name, CUkernel hfunc)
{
    return cuFuncGetName(name, (CUfunction)hfunc);
}

CUresult CUDAAPI RM_IMPL(cuOccupancyMaxActiveBlocksPerMultiprocessor)(int *blocks, CUfunction f, int block_size,
                                                                      size_t dyn_smem)
{
    return cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(blocks, f, block_size, dyn_smem, 0);
}

CUresult CUDAAPI RM_IMPL(cuOccupancyMaxActiveClusters)(int *clusters, CUfunction func, const CUlaunchConfig *c)
{
    if (!clusters || !c || (c->numAttrs && !c->attrs))
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t id = rm_cl_func_id(func);
    if (!id)
        return CUDA_ERROR_INVALID_HANDLE;
    rm_occupancy_max_clusters_req_t in = {id, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY,
                                          c->blockDimZ, c->sharedMemBytes, (uint64_t)(uintptr_t)c->hStream,
                                          c->attrs, (uint32_t)(c->numAttrs * sizeof *c->attrs)};
    rm_occupancy_max_clusters_rep_t out;
    CUresult r = rm_call_occupancy_max_clusters(&in, &out);
    if (r == CUDA_SUCCESS)
        *clusters = out.clusters;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuFuncGetAttribute)(int *pi, CUfunction_attribute attr, CUfunction hfunc)
{
    rm_cl_func_t *f = rm_cl_func_of(hfunc);
    if (!f)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!pi || (int)attr < 0 || attr >= CU_FUNC_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    *pi = f->layout->attrs[attr];
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuKernelGetAttribute)(int *pi, CUfunction_attribute attr, CUkernel kernel, CUdevice dev)
{
    return cuFuncGetAttribute(pi, attr, (CUfunction)kernel);
}

CUresult CUDAAPI RM_IMPL(cuFuncSetAttribute)(CUfunction hfunc, CUfunction_attribute attr, int value)
{
    rm_cl_func_t *f = rm_cl_func_of(hfunc);
    if (!f)
        return CUDA_ERROR_INVALID_HANDLE;
    if ((int)attr < 0 || attr >= CU_FUNC_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    rm_func_set_attribute_req_t in = {rm_cl_func_id(f), attr, value};
    rm_func_set_attribute_rep_t out;
    CUresult r = rm_call_func_set_attribute(&in, &out);
    if (r == CUDA_SUCCESS)
        f->layout->attrs[attr] = value; /* settable attributes read back as set */
    return r;
}

CUresult CUDAAPI RM_IMPL(cuKernelSetAttribute)(CUfunction_attribute attr, int value, CUkernel kernel, CUdevice dev)
{
    return cuFuncSetAttribute((CUfunction)kernel, attr, value);
}

CUresult CUDAAPI RM_IMPL(cuFuncSetCacheConfig)(CUfunction hfunc, CUfunc_cache config)
{
    rm_cl_func_t *f = rm_cl_func_of(hfunc);
    if (!f)
        return CUDA_ERROR_INVALID_HANDLE;
    rm_func_set_cache_config_req_t in = {rm_cl_func_id(f), config};
    rm_func_set_cache_config_rep_t out;
    return rm_call_func_set_cache_config(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuFuncGetParamInfo)(CUfunction hfunc, size_t index, size_t *offset, size_t *size)
{
    rm_cl_func_t *f = rm_cl_func_of(hfunc);
    if (!f)
        return CUDA_ERROR_INVALID_HANDLE;
    if (index >= f->layout->nparams)
        return CUDA_ERROR_INVALID_VALUE;
    if (offset)
        *offset = f->layout->params[index].offset;
    if (size)
        *size = f->layout->params[index].size;
    return CUDA_SUCCESS;
}

/* Pack kernelParams (or take the `extra` buffer) into one buffer. */
CUresult rm_cl_pack_params(const rm_cl_func_t *f, void **params, void **extra, void *buf, size_t cap,
                           const void **data, size_t *len)
{
    const rm_func_layout_t *l = f->layout;
    if (params) {
        if (l->param_bytes > cap)
            return CUDA_ERROR_INVALID_VALUE;
        for (uint32_t i = 0; i < l->nparams; i++)
            memcpy((char *)buf + l->params[i].offset, params[i], l->params[i].size);
        *data = buf;
        *len = l->param_bytes;
        return CUDA_SUCCESS;
    }
    *data = NULL;
    *len = 0;
    for (int i = 0; extra && extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
        if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
            *data = extra[i + 1];
        else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
            *len = *(size_t *)extra[i + 1];
        else
            return CUDA_ERROR_INVALID_VALUE;
    }
    if (l->nparams && (!*data || *len < l->param_bytes))
        return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

/* The launch shape checks the driver makes before it queues a launch, made
 * here from cached facts so that a bad shape fails at once (the launch
 * itself is sent without waiting): CUDA_ERROR_INVALID_VALUE, which the
 * runtime reports as cudaErrorInvalidConfiguration. */
static CUresult check_shape(const rm_cl_func_t *f, const unsigned grid[3], const unsigned block[3], unsigned shmem)
{
    static const CUdevice_attribute max_grid[3] = {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y,
                                                   CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z};
    static const CUdevice_attribute max_block[3] = {
        CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z};
    CUdevice dev;
    const rm_device_info_t *d = cuCtxGetDevice(&dev) == CUDA_SUCCESS ? rm_cl_device(dev) : NULL;
    uint64_t threads = 1;
    for (int i = 0; i < 3; i++) {
        if (grid[i] == 0 || block[i] == 0)
            return CUDA_ERROR_INVALID_VALUE;
        if (d && ((int64_t)grid[i] > d->attrs[max_grid[i]] || (int64_t)block[i] > d->attrs[max_block[i]]))
            return CUDA_ERROR_INVALID_VALUE;
        threads *= block[i];
    }
    const int32_t *fa = f->layout->attrs;
    if (d && threads > (uint64_t)d->attrs[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK])
        return CUDA_ERROR_INVALID_VALUE;
    if ((int64_t)shmem > fa[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES])
        return CUDA_ERROR_INVALID_VALUE;
    /* within the device's limits but beyond this function's (registers,
     * launch bounds): what the driver answers then */
    return threads > (uint64_t)fa[CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK] ? CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES
                                                                            : CUDA_SUCCESS;
}

static CUresult launch(const rm_cl_func_t *f, const unsigned grid[3], const unsigned block[3], unsigned shmem,
                       CUstream s, void **params, void **extra, const CUlaunchAttribute *attrs, unsigned nattrs)
{
    static __thread _Alignas(16) unsigned char buf[32768]; /* CUDA's limit: 32764 bytes */
    const void *data;
    size_t len;
    if (!f)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = check_shape(f, grid, block, shmem);
    if (r != CUDA_SUCCESS)
        return r;
    r = rm_cl_pack_params(f, params, extra, buf, sizeof buf, &data, &len);
    if (r != CUDA_SUCCESS)
        return r;
    rm_launch_req_t in = {rm_cl_func_id(f), grid[0], grid[1], grid[2], block[0], block[1], block[2], shmem,
                          (uint64_t)(uintptr_t)s, data, (uint32_t)len, attrs, (uint32_t)(nattrs * sizeof *attrs)};
    rm_managed_before_work(0, SIZE_MAX);
    return rm_call_launch(&in);
}

CUresult CUDAAPI RM_IMPL(cuLaunchKernel)(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                         unsigned int bx, unsigned int by, unsigned int bz, unsigned int shmem,
                                         CUstream s, void **params, void **extra)
{
    const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
    return launch(rm_cl_func_of(f), grid, block, shmem, s, params, extra, NULL, 0);
}

/* A launch whose blocks may synchronise grid-wide: the cooperative attribute. */
CUresult CUDAAPI RM_IMPL(cuLaunchCooperativeKernel)(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                                    unsigned int bx, unsigned int by, unsigned int bz,
                                                    unsigned int shmem, CUstream s, void **params)
{
    const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
    CUlaunchAttribute coop = {.id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE, .value.cooperative = 1};
    return launch(rm_cl_func_of(f), grid, block, shmem, s, params, NULL, &coop, 1);
}

CUresult CUDAAPI RM_IMPL(cuLaunchKernelEx_ptsz)(const CUlaunchConfig *c, CUfunction f, void **params,
                                                  void **extra)
{
    if (!c)
        return CUDA_ERROR_INVALID_VALUE;
    CUlaunchConfig per_thread = *c;
    if (!per_thread.hStream)
        per_thread.hStream = CU_STREAM_PER_THREAD;
    return cuLaunchKernelEx(&per_thread, f, params, extra);
}

CUresult CUDAAPI RM_IMPL(cuLaunchKernelEx)(const CUlaunchConfig *c, CUfunction f, void **params, void **extra)
{
    if (!c || (c->numAttrs && !c->attrs))
        return CUDA_ERROR_INVALID_VALUE;
    const unsigned grid[3] = {c->gridDimX, c->gridDimY, c->gridDimZ};
    const unsigned block[3] = {c->blockDimX, c->blockDimY, c->blockDimZ};
    return launch(rm_cl_func_of(f), grid, block, c->sharedMemBytes, c->hStream, params, extra, c->attrs, c->numAttrs);
}
