/* Handlers: modules, libraries, functions, globals and kernel launches.
 * Looking a function up also learns its attributes and parameter layout
 * (cuFuncGetParamInfo), which the client caches so that a launch is one
 * packed parameter buffer, passed to the driver in the `extra` form. */
#include <string.h>

#include <stdlib.h>

#include "image.h"
#include "image_cache.h"
#include "log.h"
#include "rm_handlers.h"
#include "sv_jit.h"
#include "wire_types.h"

#define MAX_LAUNCH_ATTRS 16

/* Register ptr; objects of a module or library (owner != 0) die with it. */
static CUresult put(rm_sv_t *sv, rm_hkind kind, void *ptr, uint64_t owner, uint64_t *id)
{
    *id = rm_handles_put_owned(&sv->s->handles, kind, ptr, owner);
    return *id ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}


static CUresult get(rm_sv_t *sv, rm_hkind kind, uint64_t id, void *ptr)
{
    return rm_sv_handle_get(sv, kind, id, (void **)ptr) == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* Attributes and parameter layout of f, in the channel's scratch buffer. */
static CUresult describe(rm_sv_t *sv, CUfunction f, const void **blob, uint32_t *len)
{
    RM_SV_NEED(sv, cuFuncGetAttribute);
    RM_SV_NEED(sv, cuFuncGetParamInfo);
    rm_func_layout_t *l = rm_sv_scratch(sv, sizeof *l + RM_MAX_PARAMS * sizeof(rm_param_t));
    if (!l)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memset(l, 0, sizeof *l);
    for (int a = 0; a < CU_FUNC_ATTRIBUTE_MAX; a++) {
        int v = 0;
        if (sv->b->cuFuncGetAttribute(&v, (CUfunction_attribute)a, f) == CUDA_SUCCESS)
            l->attrs[a] = v;
    }
    for (uint32_t i = 0; i < RM_MAX_PARAMS; i++) {
        size_t off, size;
        if (sv->b->cuFuncGetParamInfo(f, i, &off, &size) != CUDA_SUCCESS)
            break; /* past the last parameter */
        l->params[i] = (rm_param_t){(uint32_t)off, (uint32_t)size};
        l->nparams = i + 1;
        if (off + size > l->param_bytes)
            l->param_bytes = (uint32_t)(off + size);
    }
    *blob = l;
    *len = (uint32_t)(sizeof *l + l->nparams * sizeof(rm_param_t));
    return CUDA_SUCCESS;
}

/* The driver reads an image by its own headers: they must not reach past
 * what arrived. */
static CUresult check_image(rm_sv_t *sv, const void *image, uint32_t len)
{
    size_t need = len ? rm_image_size(image, len) : 0;
    if (need == 0 || need > len) {
        RM_WARN("session %llu: module image of %u bytes is truncated or malformed", (unsigned long long)sv->s->id,
                len);
        return CUDA_ERROR_INVALID_IMAGE;
    }
    return CUDA_SUCCESS;
}

static CUresult load_module(rm_sv_t *sv, const void *image, uint32_t len, uint64_t *id)
{
    RM_SV_NEED(sv, cuModuleLoadData);
    CUmodule m;
    CUresult r = check_image(sv, image, len);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuModuleLoadData(&m, image);
    if (r != CUDA_SUCCESS)
        return r;
    rm_image_cache_put(image, len); /* the next load of it sends only its hash */
    r = put(sv, RM_H_MOD, m, sv->ctx, id);
    if (r == CUDA_SUCCESS)
        rm_sv_recipe(sv, *id, 0, image, len);
    return r;
}

static CUresult load_library(rm_sv_t *sv, const void *image, uint32_t len, uint64_t *id)
{
    RM_SV_NEED(sv, cuLibraryLoadData);
    CUlibrary l;
    CUresult r = check_image(sv, image, len);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuLibraryLoadData(&l, image, NULL, NULL, 0, NULL, NULL, 0);
    if (r != CUDA_SUCCESS)
        return r;
    rm_image_cache_put(image, len);
    return put(sv, RM_H_LIB, l, 0, id); /* libraries are context-free */
}

/* Load an image from the cache by its hash: NOT_FOUND on a miss. */
static CUresult load_cached(rm_sv_t *sv, const void *hash, uint32_t hash_len, uint64_t *id,
                            CUresult (*load)(rm_sv_t *, const void *, uint32_t, uint64_t *))
{
    size_t len;
    if (hash_len != RM_SHA256_LEN)
        return CUDA_ERROR_INVALID_VALUE;
    void *image = rm_image_cache_get(hash, &len);
    if (!image)
        return CUDA_ERROR_NOT_FOUND;
    RM_INFO("session %llu: module image cache hit (%zu bytes not sent)", (unsigned long long)sv->s->id, len);
    CUresult r = load(sv, image, (uint32_t)len, id);
    free(image);
    return r;
}

CUresult rm_sv_module_load(rm_sv_t *sv, const rm_module_load_req_t *in, rm_module_load_rep_t *out)
{
    return load_module(sv, in->image, in->image_len, &out->module);
}

CUresult rm_sv_module_load_ex(rm_sv_t *sv, const rm_module_load_ex_req_t *in, rm_module_load_ex_rep_t *out)
{
    RM_SV_NEED(sv, cuModuleLoadDataEx);
    rm_sv_jit_t *j = malloc(sizeof *j);
    if (!j)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = check_image(sv, in->image, in->image_len);
    if (r == CUDA_SUCCESS)
        r = rm_sv_jit_options(in->options, in->options_len, j);
    CUmodule m;
    if (r == CUDA_SUCCESS) {
        CUresult loaded = sv->b->cuModuleLoadDataEx(&m, in->image, j->n, j->opts, j->vals);
        if (loaded == CUDA_SUCCESS && (loaded = put(sv, RM_H_MOD, m, sv->ctx, &out->module)) != CUDA_SUCCESS)
            sv->b->cuModuleUnload(m);
        if (loaded == CUDA_SUCCESS) {
            rm_image_cache_put(in->image, in->image_len); /* a checkpoint finds it there */
            rm_sv_recipe(sv, out->module, 0, in->image, in->image_len);
        }
        out->status = (int32_t)loaded;
        r = rm_sv_jit_reply(sv, j, NULL, 0, &out->info_log, &out->info_log_len, &out->error_log,
                            &out->error_log_len, NULL);
    }
    free(j);
    return r;
}

CUresult rm_sv_module_load_cached(rm_sv_t *sv, const rm_module_load_cached_req_t *in,
                                  rm_module_load_cached_rep_t *out)
{
    return load_cached(sv, in->hash, in->hash_len, &out->module, load_module);
}

CUresult rm_sv_module_unload(rm_sv_t *sv, const rm_module_unload_req_t *in, rm_module_unload_rep_t *out)
{
    RM_SV_NEED(sv, cuModuleUnload);
    CUmodule m;
    if (rm_sv_handle_claim(sv, RM_H_MOD, in->module, (void **)&m) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuModuleUnload(m);
    if (r == CUDA_SUCCESS)
        rm_sv_forget_owned(sv, in->module); /* its functions and globals */
    return rm_sv_handle_settle(sv, RM_H_MOD, in->module, r);
}

CUresult rm_sv_module_get_function(rm_sv_t *sv, const rm_module_get_function_req_t *in,
                                   rm_module_get_function_rep_t *out)
{
    RM_SV_NEED(sv, cuModuleGetFunction);
    CUmodule m;
    CUfunction f;
    CUresult r = get(sv, RM_H_MOD, in->module, &m);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuModuleGetFunction(&f, m, in->name);
    if (r == CUDA_SUCCESS)
        r = describe(sv, f, &out->layout, &out->layout_len);
    return r == CUDA_SUCCESS ? put(sv, RM_H_FUNC, f, in->module, &out->func) : r;
}

CUresult rm_sv_module_function_names(rm_sv_t *sv, const rm_module_function_names_req_t *in,
                                     rm_module_function_names_rep_t *out)
{
    RM_SV_NEED(sv, cuModuleGetFunctionCount);
    RM_SV_NEED(sv, cuModuleEnumerateFunctions);
    RM_SV_NEED(sv, cuFuncGetName);
    CUmodule m;
    unsigned n = 0;
    CUresult r = get(sv, RM_H_MOD, in->module, &m);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuModuleGetFunctionCount(&n, m);
    if (r != CUDA_SUCCESS || n == 0)
        return r;
    /* the functions, then their names (the driver's strings) */
    CUfunction *fs = n <= RM_MAX_MSG / (sizeof *fs + sizeof(char *)) ? malloc(n * (sizeof *fs + sizeof(char *))) : NULL;
    if (!fs)
        return CUDA_ERROR_OUT_OF_MEMORY;
    const char **name = (const char **)(fs + n);
    size_t len = 0;
    if ((r = sv->b->cuModuleEnumerateFunctions(fs, n, m)) == CUDA_SUCCESS)
        for (unsigned i = 0; i < n && r == CUDA_SUCCESS; i++)
            if ((r = sv->b->cuFuncGetName(&name[i], fs[i])) == CUDA_SUCCESS)
                len += strlen(name[i]) + 1;
    char *names = r == CUDA_SUCCESS && len <= RM_MAX_MSG / 2 ? rm_sv_scratch(sv, len) : NULL;
    if (r == CUDA_SUCCESS && !names)
        r = CUDA_ERROR_OUT_OF_MEMORY;
    for (size_t i = 0, at = 0; i < n && r == CUDA_SUCCESS; i++) {
        size_t k = strlen(name[i]) + 1;
        memcpy(names + at, name[i], k);
        at += k;
    }
    free(fs);
    if (r == CUDA_SUCCESS)
        out->names = names, out->names_len = (uint32_t)len;
    return r;
}

static CUresult track_global(rm_sv_t *sv, uint64_t owner, CUdeviceptr p, size_t size, uint64_t *dptr,
                             uint64_t *bytes)
{
    if (rm_ranges_add(&sv->s->ranges, p, size, owner) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *dptr = p;
    *bytes = size;
    return CUDA_SUCCESS;
}

CUresult rm_sv_module_get_global(rm_sv_t *sv, const rm_module_get_global_req_t *in,
                                 rm_module_get_global_rep_t *out)
{
    RM_SV_NEED(sv, cuModuleGetGlobal_v2);
    CUmodule m;
    CUdeviceptr p;
    size_t size;
    CUresult r = get(sv, RM_H_MOD, in->module, &m);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuModuleGetGlobal_v2(&p, &size, m, in->name);
    return r == CUDA_SUCCESS ? track_global(sv, in->module, p, size, &out->dptr, &out->bytes) : r;
}

CUresult rm_sv_library_load(rm_sv_t *sv, const rm_library_load_req_t *in, rm_library_load_rep_t *out)
{
    return load_library(sv, in->image, in->image_len, &out->library);
}

CUresult rm_sv_library_load_cached(rm_sv_t *sv, const rm_library_load_cached_req_t *in,
                                   rm_library_load_cached_rep_t *out)
{
    return load_cached(sv, in->hash, in->hash_len, &out->library, load_library);
}

CUresult rm_sv_library_unload(rm_sv_t *sv, const rm_library_unload_req_t *in, rm_library_unload_rep_t *out)
{
    RM_SV_NEED(sv, cuLibraryUnload);
    CUlibrary l;
    if (rm_sv_handle_claim(sv, RM_H_LIB, in->library, (void **)&l) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuLibraryUnload(l);
    if (r == CUDA_SUCCESS)
        rm_sv_forget_owned(sv, in->library); /* its kernels and globals */
    return rm_sv_handle_settle(sv, RM_H_LIB, in->library, r);
}

CUresult rm_sv_library_get_kernel(rm_sv_t *sv, const rm_library_get_kernel_req_t *in,
                                  rm_library_get_kernel_rep_t *out)
{
    RM_SV_NEED(sv, cuLibraryGetKernel);
    RM_SV_NEED(sv, cuKernelGetFunction);
    CUlibrary l;
    CUkernel k;
    CUfunction f;
    CUresult r = get(sv, RM_H_LIB, in->library, &l);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuLibraryGetKernel(&k, l, in->name);
    if (r == CUDA_SUCCESS)
        r = put(sv, RM_H_KERN, k, in->library, &out->kernel);
    if (r != CUDA_SUCCESS)
        return r;
    /* A kernel is found without a context, but its function (and layout)
     * exist only in one: without a current context the client asks again
     * when it uses the kernel (func 0, no layout). */
    r = sv->b->cuKernelGetFunction(&f, k);
    if (r == CUDA_ERROR_INVALID_CONTEXT)
        return CUDA_SUCCESS;
    if (r == CUDA_SUCCESS)
        r = describe(sv, f, &out->layout, &out->layout_len);
    return r == CUDA_SUCCESS ? put(sv, RM_H_FUNC, f, in->library, &out->func) : r;
}

CUresult rm_sv_library_get_module(rm_sv_t *sv, const rm_library_get_module_req_t *in,
                                  rm_library_get_module_rep_t *out)
{
    RM_SV_NEED(sv, cuLibraryGetModule);
    CUlibrary l;
    CUmodule m;
    CUresult r = get(sv, RM_H_LIB, in->library, &l);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuLibraryGetModule(&m, l);
    return r == CUDA_SUCCESS ? put(sv, RM_H_MOD, m, in->library, &out->module) : r; /* dies with the library */
}

CUresult rm_sv_library_get_global(rm_sv_t *sv, const rm_library_get_global_req_t *in,
                                  rm_library_get_global_rep_t *out)
{
    RM_SV_NEED(sv, cuLibraryGetGlobal);
    CUlibrary l;
    CUdeviceptr p;
    size_t size;
    CUresult r = get(sv, RM_H_LIB, in->library, &l);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuLibraryGetGlobal(&p, &size, l, in->name);
    return r == CUDA_SUCCESS ? track_global(sv, in->library, p, size, &out->dptr, &out->bytes) : r;
}

/* Launch attributes whose values are plain numbers. The others carry
 * handles or addresses (events, access windows) that would need
 * translating; they are refused rather than passed through unchecked. */
static int plain_value_attribute(CUlaunchAttributeID id)
{
    switch (id) {
    case CU_LAUNCH_ATTRIBUTE_IGNORE:
    case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
    case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
    case CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
    case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
    case CU_LAUNCH_ATTRIBUTE_PRIORITY:
    case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN_MAP:
    case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
    case CU_LAUNCH_ATTRIBUTE_PREFERRED_CLUSTER_DIMENSION:
    case CU_LAUNCH_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT: return 1;
    default: return 0;
    }
}

/* Launch attributes from the wire: those with plain values only. */
static CUresult read_attrs(const void *blob, uint32_t len, CUlaunchAttribute *attrs, unsigned *n)
{
    if (len % sizeof attrs[0] || len > MAX_LAUNCH_ATTRS * sizeof attrs[0])
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(attrs, blob, len);
    *n = (unsigned)(len / sizeof attrs[0]);
    for (unsigned i = 0; i < *n; i++)
        if (!plain_value_attribute(attrs[i].id)) {
            RM_WARN("launch attribute %d is not supported by remora", (int)attrs[i].id);
            return CUDA_ERROR_NOT_SUPPORTED;
        }
    return CUDA_SUCCESS;
}

CUresult rm_sv_occupancy_max_clusters(rm_sv_t *sv, const rm_occupancy_max_clusters_req_t *in,
                                      rm_occupancy_max_clusters_rep_t *out)
{
    RM_SV_NEED(sv, cuOccupancyMaxActiveClusters);
    CUfunction f;
    CUstream s;
    CUlaunchAttribute attrs[MAX_LAUNCH_ATTRS];
    unsigned nattrs;
    CUresult r = get(sv, RM_H_FUNC, in->func, &f);
    if (r == CUDA_SUCCESS)
        r = get(sv, RM_H_STREAM, in->stream, &s);
    if (r == CUDA_SUCCESS)
        r = read_attrs(in->attrs, in->attrs_len, attrs, &nattrs);
    if (r != CUDA_SUCCESS)
        return r;
    CUlaunchConfig cfg = {
        .gridDimX = in->grid_x, .gridDimY = in->grid_y, .gridDimZ = in->grid_z,
        .blockDimX = in->block_x, .blockDimY = in->block_y, .blockDimZ = in->block_z,
        .sharedMemBytes = in->shared_bytes, .hStream = s, .attrs = attrs, .numAttrs = nattrs,
    };
    int n = 0;
    r = sv->b->cuOccupancyMaxActiveClusters(&n, f, &cfg);
    out->clusters = n;
    return r;
}

/* The launch itself, f and s valid. */
static CUresult launch(rm_sv_t *sv, const rm_launch_req_t *in, CUfunction f, CUstream s)
{
    size_t size = in->params_len;
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, (void *)in->params, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                     CU_LAUNCH_PARAM_END};
    void **ex = size ? extra : NULL;
    if (in->attrs_len == 0) {
        RM_SV_NEED(sv, cuLaunchKernel);
        return sv->b->cuLaunchKernel(f, in->grid_x, in->grid_y, in->grid_z, in->block_x, in->block_y,
                                     in->block_z, in->shared_bytes, s, NULL, ex);
    }
    RM_SV_NEED(sv, cuLaunchKernelEx);
    CUlaunchAttribute attrs[MAX_LAUNCH_ATTRS];
    unsigned nattrs;
    CUresult r = read_attrs(in->attrs, in->attrs_len, attrs, &nattrs);
    if (r != CUDA_SUCCESS)
        return r;
    CUlaunchConfig cfg = {
        .gridDimX = in->grid_x, .gridDimY = in->grid_y, .gridDimZ = in->grid_z,
        .blockDimX = in->block_x, .blockDimY = in->block_y, .blockDimZ = in->block_z,
        .sharedMemBytes = in->shared_bytes, .hStream = s, .attrs = attrs, .numAttrs = nattrs,
    };
    return sv->b->cuLaunchKernelEx(&cfg, f, NULL, ex);
}

CUresult rm_sv_launch(rm_sv_t *sv, const rm_launch_req_t *in, rm_launch_rep_t *out)
{
    (void)out;
    CUfunction f;
    CUstream s;
    CUresult r = get(sv, RM_H_FUNC, in->func, &f);
    if (r == CUDA_SUCCESS)
        r = get(sv, RM_H_STREAM, in->stream, &s);
    if (r != CUDA_SUCCESS)
        return r;
    rm_pace_ticket_t t;
    rm_sv_pace_begin(sv, in->stream, s, &t);
    r = launch(sv, in, f, s);
    rm_sv_wrote_args(sv, in->params, in->params_len);
    rm_sv_pace_end(sv, s, &t, r);
    return r;
}
