/* Fake backend, built-in kernels, functions and launches. Every fake module
 * exposes the same test kernels, written here in C, with their __device__
 * globals. Their CUDA twins are tests/kernels/rm_kernels.cu, so one test
 * program runs on the fake and on a real GPU.
 *
 * A kernel runs on the calling thread before the launch returns. Like its
 * twin, whose element-wise kernels use grid-stride loops, it covers all n
 * elements whatever the launch shape. Before it runs, every range it will
 * touch is checked against the known memory, so a bad pointer is
 * CUDA_ERROR_ILLEGAL_ADDRESS (or CUDA_ERROR_MISALIGNED_ADDRESS), never a
 * crash of the worker.
 */
#include "backend_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"


typedef enum {
    FAKE_ARG_ARRAY, /* T *: `count` 4-byte elements */
    FAKE_ARG_ONE,   /* T *: one 4-byte element */
    FAKE_ARG_COUNT, /* int n: elements to process */
    FAKE_ARG_VALUE, /* a 4-byte int, unsigned int or float */
    FAKE_ARG_TEXTURE, /* a CUtexObject (rm_fake_texels) */
    FAKE_ARG_SURFACE, /* a CUsurfObject (rm_fake_texels) */
} fake_arg_kind;

/* Parameters passed as 8 bytes; the others are 4. */
static bool fake_arg_wide(fake_arg_kind k) { return k != FAKE_ARG_COUNT && k != FAKE_ARG_VALUE; }

enum { FAKE_GLOBAL_COUNTER, FAKE_GLOBAL_TABLE };

static const struct {
    const char *name;
    size_t size;
} fake_globals[] = {
    [FAKE_GLOBAL_COUNTER] = {"rm_counter", sizeof(int32_t)}, /* __device__ int rm_counter */
    [FAKE_GLOBAL_TABLE] = {"rm_table", 256 * sizeof(float)}, /* __device__ float rm_table[256] */
};
_Static_assert(sizeof fake_globals / sizeof fake_globals[0] == RM_FAKE_NGLOBALS,
               "RM_FAKE_NGLOBALS must count fake_globals");

/* What a running kernel sees. */
typedef struct fake_launch {
    const unsigned char *args; /* parameters, packed at their offsets */
    const size_t *offsets;     /* of each parameter in args */
    size_t count;              /* elements to process */
    void *const *globals;      /* the module's, by FAKE_GLOBAL_* */
    rm_fake_texels_t texels;   /* of the texture or surface parameter, if any */
} fake_launch_t;

struct rm_fake_kernel {
    const char *name;    /* extern "C" */
    const char *mangled; /* the same signature as a C++ kernel (runtime-API programs) */
    unsigned nparams;
    fake_arg_kind params[RM_FAKE_MAX_PARAMS];
    void (*run)(const fake_launch_t *l);
};

static void *fake_arg_ptr(const fake_launch_t *l, unsigned i)
{
    uint64_t v;
    memcpy(&v, l->args + l->offsets[i], sizeof v);
    return (void *)(uintptr_t)v;
}

static uint32_t fake_arg_u32(const fake_launch_t *l, unsigned i)
{
    uint32_t v;
    memcpy(&v, l->args + l->offsets[i], sizeof v);
    return v;
}

static uint64_t fake_arg_u64(const fake_launch_t *l, unsigned i)
{
    uint64_t v;
    memcpy(&v, l->args + l->offsets[i], sizeof v);
    return v;
}

static float fake_arg_f32(const fake_launch_t *l, unsigned i)
{
    float v;
    memcpy(&v, l->args + l->offsets[i], sizeof v);
    return v;
}

/* ---- the built-in kernels ---- */

static void fake_run_vector_add(const fake_launch_t *l)
{
    const float *a = fake_arg_ptr(l, 0), *b = fake_arg_ptr(l, 1);
    float *c = fake_arg_ptr(l, 2);
    for (size_t i = 0; i < l->count; i++)
        c[i] = a[i] + b[i];
}

static void fake_run_fill_u32(const fake_launch_t *l)
{
    uint32_t *p = fake_arg_ptr(l, 0), v = fake_arg_u32(l, 1);
    for (size_t i = 0; i < l->count; i++)
        p[i] = v;
}

static void fake_run_scale_f32(const fake_launch_t *l)
{
    float *x = fake_arg_ptr(l, 0), s = fake_arg_f32(l, 1);
    for (size_t i = 0; i < l->count; i++)
        x[i] *= s;
}

static void fake_run_null(const fake_launch_t *l) { (void)l; }

/* rm_spin(n): the GPU computes a while; the fake sleeps n microseconds, so
 * that tests can load its GPU (the compute share) without taking a CPU. */
static void fake_run_spin(const fake_launch_t *l)
{
    int32_t us = (int32_t)fake_arg_u32(l, 0);
    if (us <= 0)
        return;
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* atomicAdd on an int wraps: add as unsigned. Runs once per launch. */
static void fake_run_add_counter(const fake_launch_t *l)
{
    uint32_t *counter = l->globals[FAKE_GLOBAL_COUNTER];
    *counter += fake_arg_u32(l, 0);
}

/* Device printf: the fake prints where the driver would, the worker's stdout. */
static void fake_run_print(const fake_launch_t *l) { printf("rm_print %d\n", (int)fake_arg_u32(l, 0)); }

static void fake_run_table_sum(const fake_launch_t *l)
{
    const float *table = l->globals[FAKE_GLOBAL_TABLE];
    float sum = 0.0f;
    for (size_t i = 0; i < fake_globals[FAKE_GLOBAL_TABLE].size / sizeof(float); i++)
        sum += table[i];
    *(float *)fake_arg_ptr(l, 0) = sum;
}

/* Point sampling at texel (x, y): outside, the border colour or the
 * nearest edge texel, per dimension. */
static float fake_texel(const rm_fake_texels_t *t, size_t x, size_t y)
{
    if ((x >= t->width && t->border[0]) || (y >= t->height && t->border[1]))
        return t->border_color;
    x = x < t->width ? x : t->width - 1;
    y = y < t->height ? y : t->height - 1;
    float v;
    memcpy(&v, t->base + y * t->pitch + x * sizeof v, sizeof v);
    return v;
}

/* A width of 0 or less leaves out alone (the CUDA twin divides by it). */
static void fake_run_tex_read(const fake_launch_t *l)
{
    float *out = fake_arg_ptr(l, 1);
    int32_t w = (int32_t)fake_arg_u32(l, 2);
    for (size_t i = 0; w > 0 && i < l->count; i++)
        out[i] = fake_texel(&l->texels, i % (size_t)w, i / (size_t)w);
}

static void fake_run_surf_write(const fake_launch_t *l)
{
    const rm_fake_texels_t *t = &l->texels;
    int32_t w = (int32_t)fake_arg_u32(l, 1);
    for (size_t i = 0; w > 0 && i < l->count; i++) {
        size_t x = i % (size_t)w, y = i / (size_t)w;
        float v = (float)i;
        if (x < t->width && y < t->height)
            memcpy(t->base + y * t->pitch + x * sizeof v, &v, sizeof v);
    }
}

static const rm_fake_kernel_t fake_kernels[] = {
    {"rm_vector_add",
     "_Z13rm_vector_addPKfS0_Pfi",
     4,
     {FAKE_ARG_ARRAY, FAKE_ARG_ARRAY, FAKE_ARG_ARRAY, FAKE_ARG_COUNT},
     fake_run_vector_add},
    {"rm_fill_u32", "_Z11rm_fill_u32Pjji", 3, {FAKE_ARG_ARRAY, FAKE_ARG_VALUE, FAKE_ARG_COUNT}, fake_run_fill_u32},
    {"rm_scale_f32", "_Z12rm_scale_f32Pffi", 3, {FAKE_ARG_ARRAY, FAKE_ARG_VALUE, FAKE_ARG_COUNT},
     fake_run_scale_f32},
    {"rm_null", "_Z7rm_nullv", 0, {0}, fake_run_null},
    {"rm_spin", "_Z7rm_spini", 1, {FAKE_ARG_VALUE}, fake_run_spin},
    {"rm_add_counter", "_Z14rm_add_counteri", 1, {FAKE_ARG_VALUE}, fake_run_add_counter},
    {"rm_table_sum", "_Z12rm_table_sumPf", 1, {FAKE_ARG_ONE}, fake_run_table_sum},
    {"rm_print", "_Z8rm_printi", 1, {FAKE_ARG_VALUE}, fake_run_print},
    {"rm_tex_read",
     "_Z11rm_tex_readyPfii",
     4,
     {FAKE_ARG_TEXTURE, FAKE_ARG_ARRAY, FAKE_ARG_VALUE, FAKE_ARG_COUNT},
     fake_run_tex_read},
    {"rm_surf_write",
     "_Z13rm_surf_writeyii",
     3,
     {FAKE_ARG_SURFACE, FAKE_ARG_VALUE, FAKE_ARG_COUNT},
     fake_run_surf_write},
};
_Static_assert(sizeof fake_kernels / sizeof fake_kernels[0] == RM_FAKE_NKERNELS,
               "RM_FAKE_NKERNELS must count fake_kernels");

/* Offset and size of parameter i under the usual ABI: pointers are 8 bytes
 * aligned to 8, the other parameters 4 bytes aligned to 4. */
static void fake_param_layout(const rm_fake_kernel_t *k, unsigned i, size_t *offset, size_t *size)
{
    size_t off = 0, sz = 0;
    for (unsigned j = 0; j <= i; j++) {
        off += sz;
        sz = fake_arg_wide(k->params[j]) ? 8 : 4;
        off = (off + sz - 1) & ~(sz - 1);
    }
    *offset = off;
    *size = sz;
}

/* ---- lookups and per-function state ---- */

/* Function attributes: the default, and for those cuFuncSetAttribute may
 * change, the accepted range. */
static const struct {
    int value;
    bool settable;
    int min, max;
} fake_func_attrs[CU_FUNC_ATTRIBUTE_MAX] = {
    [CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK] = {1024, false, 0, 0},
    [CU_FUNC_ATTRIBUTE_NUM_REGS] = {16, false, 0, 0},
    [CU_FUNC_ATTRIBUTE_PTX_VERSION] = {90, false, 0, 0},
    [CU_FUNC_ATTRIBUTE_BINARY_VERSION] = {90, false, 0, 0},
    [CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES] = {49152, true, 0, 232448},
    [CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT] = {-1, true, -1, 100},
    [CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH] = {0, true, 0, 16},
    [CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT] = {0, true, 0, 16},
    [CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH] = {0, true, 0, 16},
    [CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED] = {0, true, 0, 1},
    [CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE] = {0, true, 0, 2},
};

long rm_fake_kernel_find(const char *name)
{
    for (size_t k = 0; k < RM_FAKE_NKERNELS; k++)
        if (strcmp(name, fake_kernels[k].name) == 0 || strcmp(name, fake_kernels[k].mangled) == 0)
            return (long)k;
    return -1;
}

long rm_fake_global_find(const char *name)
{
    for (size_t g = 0; g < RM_FAKE_NGLOBALS; g++)
        if (strcmp(name, fake_globals[g].name) == 0)
            return (long)g;
    return -1;
}

size_t rm_fake_global_size(size_t g) { return fake_globals[g].size; }

void rm_fake_func_init(CUfunction f, CUmodule m, size_t k)
{
    f->mod = m;
    f->kernel = &fake_kernels[k];
    for (int a = 0; a < CU_FUNC_ATTRIBUTE_MAX; a++)
        f->attrs[a] = fake_func_attrs[a].value;
}

/* ---- functions ---- */

static CUresult fake_enter_func(CUfunction f)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_func_live(f))
        rc = CUDA_ERROR_INVALID_HANDLE;
    return rc;
}

static CUresult fake_cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc)
{
    CUresult rc = fake_enter_func(hfunc);
    if (rc == CUDA_SUCCESS && (!pi || (unsigned)attrib >= CU_FUNC_ATTRIBUTE_MAX))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *pi = hfunc->attrs[attrib];
    return rm_fake_leave(rc);
}

static CUresult fake_cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value)
{
    CUresult rc = fake_enter_func(hfunc);
    if (rc == CUDA_SUCCESS &&
        ((unsigned)attrib >= CU_FUNC_ATTRIBUTE_MAX || !fake_func_attrs[attrib].settable ||
         value < fake_func_attrs[attrib].min || value > fake_func_attrs[attrib].max))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        hfunc->attrs[attrib] = value;
    return rm_fake_leave(rc);
}

/* A preference only: accepted, with nothing to change. */
static CUresult fake_cuFuncSetCacheConfig(CUfunction hfunc, CUfunc_cache config)
{
    CUresult rc = fake_enter_func(hfunc);
    if (rc == CUDA_SUCCESS && (unsigned)config > CU_FUNC_CACHE_PREFER_EQUAL)
        rc = CUDA_ERROR_INVALID_VALUE;
    return rm_fake_leave(rc);
}

static CUresult fake_cuFuncGetName(const char **name, CUfunction hfunc)
{
    if (!name || !hfunc)
        return CUDA_ERROR_INVALID_VALUE; /* cuda.h: NULL hfunc is INVALID_VALUE */
    CUresult rc = fake_enter_func(hfunc);
    if (rc == CUDA_SUCCESS)
        *name = hfunc->kernel->name;
    return rm_fake_leave(rc);
}

/* paramSize is optional (cuda.h); an index past the last parameter is
 * CUDA_ERROR_INVALID_VALUE, which is how callers count parameters. */
static CUresult fake_cuFuncGetParamInfo(CUfunction func, size_t paramIndex, size_t *paramOffset,
                                        size_t *paramSize)
{
    size_t size = 0;
    CUresult rc = fake_enter_func(func);
    if (rc == CUDA_SUCCESS && (!paramOffset || paramIndex >= func->kernel->nparams))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        fake_param_layout(func->kernel, (unsigned)paramIndex, paramOffset, &size);
    if (rc == CUDA_SUCCESS && paramSize)
        *paramSize = size;
    return rm_fake_leave(rc);
}

/* ---- launches ---- */

/* A grid must be made of whole clusters of the function's required shape. */
static bool fake_cluster_ok(unsigned grid, int cluster)
{
    return cluster <= 0 || grid % cluster == 0;
}

static CUresult fake_launch_dims_check(const CUlaunchConfig *c, CUfunction f)
{
    unsigned long long threads = (unsigned long long)c->blockDimX * c->blockDimY * c->blockDimZ;
    bool ok =
        c->gridDimX && c->gridDimY && c->gridDimZ && threads > 0 &&
        c->gridDimX <= (unsigned)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X) &&
        c->gridDimY <= (unsigned)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y) &&
        c->gridDimZ <= (unsigned)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z) &&
        c->blockDimX <= (unsigned)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X) &&
        c->blockDimY <= (unsigned)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y) &&
        c->blockDimZ <= (unsigned)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z) &&
        threads <= (unsigned)f->attrs[CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK] &&
        c->sharedMemBytes <= (unsigned)f->attrs[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES];
    if (!ok)
        return CUDA_ERROR_INVALID_VALUE;
    if (!fake_cluster_ok(c->gridDimX, f->attrs[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH]) ||
        !fake_cluster_ok(c->gridDimY, f->attrs[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT]) ||
        !fake_cluster_ok(c->gridDimZ, f->attrs[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH]))
        return CUDA_ERROR_INVALID_CLUSTER_SIZE;
    return CUDA_SUCCESS;
}

/* The CU_LAUNCH_PARAM_BUFFER_{POINTER,SIZE} pairs of an `extra` array. */
static CUresult fake_parse_extra(void **extra, const unsigned char **buf, size_t *size)
{
    for (size_t i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
        if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
            *buf = extra[i + 1];
        else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE && extra[i + 1])
            *size = *(const size_t *)extra[i + 1];
        else
            return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

/* Packs the parameters, from kernelParams or from extra, into args. */
static CUresult fake_gather_args(const rm_fake_kernel_t *k, void **params, void **extra,
                                 unsigned char *args, size_t *offsets)
{
    const unsigned char *buf = NULL;
    size_t buf_size = 0, size;
    if (params && extra)
        return CUDA_ERROR_INVALID_VALUE;
    if (extra && fake_parse_extra(extra, &buf, &buf_size) != CUDA_SUCCESS)
        return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < k->nparams; i++) {
        fake_param_layout(k, i, &offsets[i], &size);
        if (params && params[i])
            memcpy(args + offsets[i], params[i], size);
        else if (buf && offsets[i] + size <= buf_size)
            memcpy(args + offsets[i], buf + offsets[i], size);
        else
            return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

/* Elements the kernel will process: its n, or none when n <= 0. */
static size_t fake_launch_count(const rm_fake_kernel_t *k, const fake_launch_t *l)
{
    for (unsigned i = 0; i < k->nparams; i++) {
        if (k->params[i] == FAKE_ARG_COUNT) {
            int32_t n = (int32_t)fake_arg_u32(l, i);
            return n > 0 ? (size_t)n : 0;
        }
    }
    return 0;
}

/* Every pointer the kernel will dereference must be aligned and inside
 * known memory, for as many bytes as the kernel will touch; every texture
 * and surface object live and of a kind the fake samples (its texels are
 * kept in l for the kernel). */
static CUresult fake_check_pointers(const rm_fake_kernel_t *k, fake_launch_t *l)
{
    for (unsigned i = 0; i < k->nparams; i++) {
        if (k->params[i] == FAKE_ARG_TEXTURE || k->params[i] == FAKE_ARG_SURFACE) {
            CUresult rc = rm_fake_texels(fake_arg_u64(l, i), k->params[i] == FAKE_ARG_SURFACE, &l->texels);
            if (rc != CUDA_SUCCESS) {
                RM_DEBUG("fake backend: %s parameter %u is not a usable object", k->name, i);
                return rc;
            }
            continue;
        }
        size_t bytes = k->params[i] == FAKE_ARG_ARRAY ? l->count * 4
                       : k->params[i] == FAKE_ARG_ONE ? 4
                                                      : 0;
        if (bytes == 0)
            continue;
        uintptr_t p = (uintptr_t)fake_arg_ptr(l, i);
        if (p % 4) {
            RM_DEBUG("fake backend: %s parameter %u is misaligned", k->name, i);
            return CUDA_ERROR_MISALIGNED_ADDRESS;
        }
        if (!rm_fake_range_covers(p, bytes)) {
            RM_DEBUG("fake backend: %s parameter %u: %zu bytes at 0x%jx are outside known memory",
                     k->name, i, bytes, (uintmax_t)p);
            return CUDA_ERROR_ILLEGAL_ADDRESS;
        }
    }
    return CUDA_SUCCESS;
}

/* Runs f over its gathered arguments (lock held), pointers checked first. */
static CUresult fake_run(CUfunction f, const unsigned char *args, const size_t *offsets)
{
    fake_launch_t l = {.args = args, .offsets = offsets, .globals = f->mod->globals};
    l.count = fake_launch_count(f->kernel, &l);
    CUresult rc = fake_check_pointers(f->kernel, &l);
    if (rc == CUDA_SUCCESS)
        f->kernel->run(&l);
    return rc;
}

CUresult rm_fake_launch_prepare(const CUlaunchConfig *c, CUfunction f, void **params, void **extra,
                                rm_fake_launch_rec_t *rec)
{
    if (!rm_fake_func_live(f))
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult rc = fake_launch_dims_check(c, f);
    rec->f = f;
    return rc == CUDA_SUCCESS ? fake_gather_args(f->kernel, params, extra, rec->args, rec->offsets) : rc;
}

static CUresult fake_launch(const CUlaunchConfig *c, CUfunction f, void **params, void **extra)
{
    CUcontext ctx;
    rm_fake_launch_rec_t rec;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(c->hStream);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_launch_prepare(c, f, params, extra, &rec);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    CUgraph g = rm_fake_stream_capture(c->hStream);
    if (g)
        return rm_fake_leave(rm_fake_record_launch(g, &rec, NULL));
    return rm_fake_leave(fake_run(f, rec.args, rec.offsets));
}

CUresult rm_fake_launch_replay(const rm_fake_launch_rec_t *rec)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && !rm_fake_func_live(rec->f))
        rc = CUDA_ERROR_INVALID_HANDLE;
    return rm_fake_leave(rc == CUDA_SUCCESS ? fake_run(rec->f, rec->args, rec->offsets) : rc);
}

static CUresult fake_cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
                                    unsigned int gridDimZ, unsigned int blockDimX,
                                    unsigned int blockDimY, unsigned int blockDimZ,
                                    unsigned int sharedMemBytes, CUstream hStream,
                                    void **kernelParams, void **extra)
{
    CUlaunchConfig c = {
        .gridDimX = gridDimX,
        .gridDimY = gridDimY,
        .gridDimZ = gridDimZ,
        .blockDimX = blockDimX,
        .blockDimY = blockDimY,
        .blockDimZ = blockDimZ,
        .sharedMemBytes = sharedMemBytes,
        .hStream = hStream,
    };
    return fake_launch(&c, f, kernelParams, extra);
}

/* Launch attributes (cluster shape, priority, ...) are accepted and ignored. */
static CUresult fake_cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f,
                                      void **kernelParams, void **extra)
{
    if (!config || (config->numAttrs && !config->attrs))
        return CUDA_ERROR_INVALID_VALUE;
    return fake_launch(config, f, kernelParams, extra);
}

/* Occupancy, as an H100/H200 SM would give it for the fake kernels (16
 * registers, no static shared memory): thread, block and shared-memory
 * limits of one SM. */
#define FAKE_SM_THREADS 2048
#define FAKE_SM_BLOCKS 32
#define FAKE_SM_SHARED 233472
#define FAKE_BLOCK_SHARED 232448

static CUresult fake_cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *numBlocks, CUfunction func,
                                                                         int blockSize, size_t dynamicSMemSize,
                                                                         unsigned int flags)
{
    CUresult rc = fake_enter_func(func);
    if (rc == CUDA_SUCCESS && (!numBlocks || blockSize <= 0 || blockSize > 1024 || flags > 1))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        int by_threads = FAKE_SM_THREADS / blockSize;
        int by_shared = dynamicSMemSize ? (int)(FAKE_SM_SHARED / dynamicSMemSize) : FAKE_SM_BLOCKS;
        int n = by_threads < by_shared ? by_threads : by_shared;
        *numBlocks = dynamicSMemSize > FAKE_BLOCK_SHARED ? 0 : n < FAKE_SM_BLOCKS ? n : FAKE_SM_BLOCKS;
    }
    return rm_fake_leave(rc);
}

/* Clusters of the requested shape (default 1) that fit at once: the SMs of
 * the device, grouped by cluster size, limited like blocks by threads. */
static CUresult fake_cuOccupancyMaxActiveClusters(int *clusters, CUfunction func, const CUlaunchConfig *config)
{
    CUresult rc = fake_enter_func(func);
    if (rc == CUDA_SUCCESS && (!clusters || !config || config->blockDimX * config->blockDimY * config->blockDimZ == 0 ||
                               config->blockDimX * config->blockDimY * config->blockDimZ > 1024))
        rc = CUDA_ERROR_INVALID_VALUE;
    unsigned size = 1;
    for (unsigned i = 0; rc == CUDA_SUCCESS && i < config->numAttrs; i++)
        if (config->attrs[i].id == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION)
            size = config->attrs[i].value.clusterDim.x * config->attrs[i].value.clusterDim.y *
                   config->attrs[i].value.clusterDim.z;
    if (rc == CUDA_SUCCESS && (size == 0 || size > 16))
        rc = CUDA_ERROR_INVALID_CLUSTER_SIZE;
    if (rc == CUDA_SUCCESS) {
        unsigned threads = config->blockDimX * config->blockDimY * config->blockDimZ;
        unsigned per_sm = FAKE_SM_THREADS / threads < FAKE_SM_BLOCKS ? FAKE_SM_THREADS / threads : FAKE_SM_BLOCKS;
        *clusters = (int)(per_sm * (unsigned)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT) / size);
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuOccupancyAvailableDynamicSMemPerBlock(size_t *dynamicSmemSize, CUfunction func,
                                                             int numBlocks, int blockSize)
{
    CUresult rc = fake_enter_func(func);
    if (rc == CUDA_SUCCESS && (!dynamicSmemSize || numBlocks <= 0 || blockSize <= 0 || blockSize > 1024))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        size_t per = numBlocks * blockSize > FAKE_SM_THREADS ? 0 : FAKE_SM_SHARED / (size_t)numBlocks;
        *dynamicSmemSize = per < FAKE_BLOCK_SHARED ? per : FAKE_BLOCK_SHARED;
    }
    return rm_fake_leave(rc);
}

/* A tensor map is opaque to programs: the fake one holds its arguments
 * (an im2col one its box corners and pixel counts where a tiled one has
 * its box). */
static CUresult fake_cuTensorMapEncodeTiled(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank,
                                            void *address, const cuuint64_t *dims, const cuuint64_t *strides,
                                            const cuuint32_t *box, const cuuint32_t *elem_strides,
                                            CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                                            CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!map || rank == 0 || rank > 5 || (uintptr_t)address % 16 || !dims || !box ||
                               !elem_strides || (rank > 1 && !strides)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        memset(map, 0, sizeof *map);
        uint64_t *q = map->opaque;
        q[0] = (uintptr_t)address;
        q[1] = (uint64_t)type | (uint64_t)rank << 8 | (uint64_t)interleave << 16 | (uint64_t)swizzle << 24 |
               (uint64_t)l2 << 32 | (uint64_t)oob << 40;
        for (cuuint32_t i = 0; i < rank; i++) {
            q[2 + i] = dims[i];
            q[11 + i / 2] |= (uint64_t)box[i] << (32 * (i % 2));
            q[14] |= (uint64_t)(elem_strides[i] & 0xff) << (8 * i);
        }
        for (cuuint32_t i = 0; i + 1 < rank; i++)
            q[7 + i] = strides[i];
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuTensorMapEncodeIm2col(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank,
                                             void *address, const cuuint64_t *dims, const cuuint64_t *strides,
                                             const int *lower, const int *upper, cuuint32_t channels,
                                             cuuint32_t pixels, const cuuint32_t *elem_strides,
                                             CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                                             CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    if (rank < 3 || !lower || !upper || channels == 0 || channels > 256 || pixels == 0 || pixels > 1024)
        return CUDA_ERROR_INVALID_VALUE;
    cuuint32_t box[5] = {channels, pixels};
    CUresult rc = fake_cuTensorMapEncodeTiled(map, type, rank, address, dims, strides, box, elem_strides,
                                              interleave, swizzle, l2, oob);
    for (cuuint32_t i = 0; rc == CUDA_SUCCESS && i + 2 < rank; i++)
        map->opaque[15] |= (uint64_t)(uint8_t)lower[i] << (8 * i) | (uint64_t)(uint8_t)upper[i] << (8 * i + 32);
    return rc;
}

static CUresult fake_cuTensorMapEncodeIm2colWide(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank,
                                                 void *address, const cuuint64_t *dims, const cuuint64_t *strides,
                                                 int lower, int upper, cuuint32_t channels, cuuint32_t pixels,
                                                 const cuuint32_t *elem_strides, CUtensorMapInterleave interleave,
                                                 CUtensorMapIm2ColWideMode mode, CUtensorMapSwizzle swizzle,
                                                 CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    int lo[3] = {lower, 0, 0}, hi[3] = {upper, 0, 0};
    CUresult rc = (unsigned)mode > CU_TENSOR_MAP_IM2COL_WIDE_MODE_W128 ? CUDA_ERROR_INVALID_VALUE
                                                                       : fake_cuTensorMapEncodeIm2col(
                                                                             map, type, rank, address, dims, strides,
                                                                             lo, hi, channels, pixels, elem_strides,
                                                                             interleave, swizzle, l2, oob);
    if (rc == CUDA_SUCCESS)
        map->opaque[14] |= (uint64_t)mode << 40;
    return rc;
}

static CUresult fake_cuTensorMapReplaceAddress(CUtensorMap *map, void *address)
{
    if (!map || (uintptr_t)address % 16)
        return CUDA_ERROR_INVALID_VALUE;
    map->opaque[0] = (uintptr_t)address;
    return CUDA_SUCCESS;
}

void rm_fake_fill_kernels(rm_backend_t *out)
{
    out->cuTensorMapEncodeTiled = fake_cuTensorMapEncodeTiled;
    out->cuTensorMapEncodeIm2col = fake_cuTensorMapEncodeIm2col;
    out->cuTensorMapEncodeIm2colWide = fake_cuTensorMapEncodeIm2colWide;
    out->cuTensorMapReplaceAddress = fake_cuTensorMapReplaceAddress;
    out->cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags = fake_cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags;
    out->cuOccupancyAvailableDynamicSMemPerBlock = fake_cuOccupancyAvailableDynamicSMemPerBlock;
    out->cuOccupancyMaxActiveClusters = fake_cuOccupancyMaxActiveClusters;
    out->cuFuncGetAttribute = fake_cuFuncGetAttribute;
    out->cuFuncSetAttribute = fake_cuFuncSetAttribute;
    out->cuFuncSetCacheConfig = fake_cuFuncSetCacheConfig;
    out->cuFuncGetParamInfo = fake_cuFuncGetParamInfo;
    out->cuFuncGetName = fake_cuFuncGetName;
    out->cuLaunchKernel = fake_cuLaunchKernel;
    out->cuLaunchKernelEx = fake_cuLaunchKernelEx;
}
