/* Private to the fake backend (backend_fake*.c): its shared state, the
 * objects behind its handles and the helpers its files share.
 *
 * The fake completes the driver's opaque handle types: a CUcontext points to
 * a struct CUctx_st defined here, a CUstream to a struct CUstream_st, and so
 * on. Every live object is kept in a set, and a handle is dereferenced only
 * after it has been found there, so a stale or forged handle is an error, not
 * a crash. One mutex guards all of it; every entry point takes it for its
 * whole duration (copies and kernels included), which also keeps memory from
 * being freed under a copy running in another thread.
 */
#ifndef RM_BACKEND_FAKE_H
#define RM_BACKEND_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define RM_FAKE_MAX_DEVICES 8
#define RM_FAKE_ALIGN 256 /* alignment of every fake device allocation */

/* A growable array of live object pointers. */
typedef struct rm_fake_set {
    void **items;
    size_t len, cap;
} rm_fake_set_t;

bool rm_fake_set_add(rm_fake_set_t *s, void *p);
bool rm_fake_set_del(rm_fake_set_t *s, const void *p);
bool rm_fake_set_has(const rm_fake_set_t *s, const void *p);

struct CUctx_st {
    int device;
    bool primary;
    unsigned flags;
    unsigned long long id; /* cuCtxGetId: new for each (re)initialisation */
    size_t limits[CU_LIMIT_MAX];
    CUfunc_cache cache_config;
    uint64_t peers; /* bit d: peer access to device d's contexts enabled */
};

/* First member of the objects a context owns and frees when it goes. */
typedef struct rm_fake_owned {
    CUcontext ctx;
} rm_fake_owned_t;

/* Frees (with free()) every member of s owned by ctx. */
void rm_fake_set_free_owned(rm_fake_set_t *s, CUcontext ctx);

typedef enum {
    RM_FAKE_MEM_DEVICE, /* cuMemAlloc / cuMemAllocPitch */
    RM_FAKE_MEM_GLOBAL, /* a module's __device__ variable */
    RM_FAKE_MEM_HOST,   /* user memory given to cuMemHostRegister */
    RM_FAKE_MEM_VMM,    /* an allocation mapped by cuMemMap into a reserved range */
} rm_fake_mem_kind;

/* One known address range; the ranges never overlap. */
typedef struct rm_fake_range {
    uintptr_t base;
    size_t size;
    rm_fake_mem_kind kind;
    CUcontext ctx;
    unsigned long long id; /* CU_POINTER_ATTRIBUTE_BUFFER_ID */
    CUmemoryPool pool;     /* the pool it came from (cuMemAllocAsync), or NULL */
    struct rm_fake_vmm_alloc *backing; /* VMM: the allocation mapped here */
    unsigned access;       /* VMM: CUmemAccess_flags set by cuMemSetAccess */
} rm_fake_range_t;

typedef struct rm_fake_device {
    struct CUctx_st primary;
    CUmemoryPool default_pool, current_pool; /* made on first use */
    unsigned primary_refs; /* active while > 0 */
    size_t used;           /* bytes of RM_FAKE_MEM_DEVICE ranges */
} rm_fake_device_t;

typedef struct rm_fake_state {
    pthread_mutex_t lock;
    bool initialized;
    int ndev;               /* devices visible (CUDA_VISIBLE_DEVICES of the fake GPUs) */
    int phys[RM_FAKE_MAX_DEVICES]; /* the fake GPU behind each visible ordinal */
    size_t mem_total; /* per device */
    rm_fake_device_t dev[RM_FAKE_MAX_DEVICES];
    rm_fake_set_t ctxs, streams, events, modules, libraries, graphs, execs, pools, arrays, mipmaps, texobjs;
    rm_fake_range_t *ranges; /* sorted by base */
    size_t nranges, cap_ranges;
    unsigned long long next_id;
    unsigned long long next_object_id; /* contexts and streams (cuCtxGetId, cuStreamGetId) */
} rm_fake_state_t;

extern rm_fake_state_t rm_fake_state;

/* A CUDA array: rows of width * element bytes, height (at least 1) rows a
 * slice, depth (at least 1) slices, in host memory. */
struct CUarray_st {
    CUDA_ARRAY3D_DESCRIPTOR desc;
    size_t row_bytes, rows; /* rows: height * depth, every slice's rows in turn */
    unsigned char *data;
    CUmipmappedArray mipmap; /* the mipmapped array it is a level of, or NULL */
};

/* A mipmapped array: its levels, each an array half the size of the one
 * before (at least 1) in every dimension it has. */
#define RM_FAKE_MAX_LEVELS 16
struct CUmipmappedArray_st {
    unsigned levels;
    CUarray level[RM_FAKE_MAX_LEVELS];
};

/* 2D texels of 1-channel float elements that a built-in kernel samples
 * (through a texture object) or writes (through a surface object). */
typedef struct rm_fake_texels {
    unsigned char *base;
    size_t pitch, width, height;
    bool border[2];     /* x, y: outside reads border_color (CU_TR_ADDRESS_MODE_BORDER), else clamps */
    float border_color;
} rm_fake_texels_t;
/* Texture and surface objects (backend_fake_texture.c, lock held): the
 * texels of one for a kernel; CUDA_ERROR_ILLEGAL_ADDRESS when obj is not a
 * live object of that kind, CUDA_ERROR_NOT_SUPPORTED (logged) for what the
 * fake does not sample: other formats, linear filtering, normalised
 * coordinates, 1D and 3D resources. */
CUresult rm_fake_texels(uint64_t obj, bool surface, rm_fake_texels_t *t);
void rm_fake_fill_texture(rm_backend_t *out);

/* Entry and exit of every call. rm_fake_enter* always take the lock;
 * rm_fake_leave drops it and returns rc. */
CUresult rm_fake_enter(void);               /* driver initialised */
CUresult rm_fake_enter_ctx(CUcontext *ctx); /* ... and a live current context */
CUresult rm_fake_leave(CUresult rc);
/* The calling thread's current context (lock held): CUDA_ERROR_INVALID_CONTEXT
 * when there is none, CUDA_ERROR_CONTEXT_IS_DESTROYED when it is gone. */
CUresult rm_fake_current(CUcontext *ctx);

/* The value of a device attribute that is the same on every fake device. */
int rm_fake_attr(CUdevice_attribute attrib);

/* H100 stream priorities: 0 (least, the default) to -5 (greatest). */
#define RM_FAKE_PRIORITY_LEAST 0
#define RM_FAKE_PRIORITY_GREATEST (-5)

/* Streams (backend_fake_stream.c): NULL, CU_STREAM_LEGACY and
 * CU_STREAM_PER_THREAD need a current context, others must be live. */
CUresult rm_fake_stream_check(CUstream s);
void rm_fake_stream_release_ctx(CUcontext ctx);
/* The graph s is being captured into, or NULL (lock held). */
CUgraph rm_fake_stream_capture(CUstream s);

/* Graphs (backend_fake_graph.c): what a captured operation records. */
#define RM_FAKE_MAX_PARAMS 4
#define RM_FAKE_MAX_ARG_BYTES (8 * RM_FAKE_MAX_PARAMS)
typedef struct {
    CUdeviceptr dst;
    size_t pitch, width, height;
    uint32_t value;
    unsigned esz;
} rm_fake_memset_t;
typedef struct {
    CUfunction f;
    unsigned char args[RM_FAKE_MAX_ARG_BYTES]; /* gathered, at their offsets */
    size_t offsets[RM_FAKE_MAX_PARAMS];
} rm_fake_launch_rec_t;
CUgraph rm_fake_graph_new(void); /* lock held */
void rm_fake_graph_free(CUgraph g); /* lock held */
/* Record a node at the end of g; *node (when not NULL) names it. */
CUresult rm_fake_record_copy(CUgraph g, const CUDA_MEMCPY2D *c, CUgraphNode *node);
CUresult rm_fake_record_memset(CUgraph g, const rm_fake_memset_t *m, CUgraphNode *node);
CUresult rm_fake_record_launch(CUgraph g, const rm_fake_launch_rec_t *l, CUgraphNode *node);
CUresult rm_fake_record_host(CUgraph g, CUhostFn fn, void *data, CUgraphNode *node);
CUresult rm_fake_record_event(CUgraph g, CUevent e, CUgraphNode *node);
/* Record event e now, as a graph's event record node does (takes the lock). */
CUresult rm_fake_event_stamp(CUevent e);
/* Check a launch of f and gather its arguments (lock held). */
CUresult rm_fake_launch_prepare(const CUlaunchConfig *c, CUfunction f, void **params, void **extra,
                                rm_fake_launch_rec_t *rec);
/* Running a recorded node (each takes the lock). */
CUresult rm_fake_copy2d(const CUDA_MEMCPY2D *c, CUstream s);
CUresult rm_fake_memset_run(const rm_fake_memset_t *m);
CUresult rm_fake_launch_replay(const rm_fake_launch_rec_t *l);

/* Memory (backend_fake_mem.c). */
const rm_fake_range_t *rm_fake_range_find(uintptr_t p);
bool rm_fake_range_covers(uintptr_t p, size_t n); /* [p, p+n) in one range */
CUresult rm_fake_mem_alloc(CUcontext ctx, rm_fake_mem_kind kind, size_t size, void **out);
void rm_fake_mem_free(void *base);
void rm_fake_mem_release_ctx(CUcontext ctx);
/* A device allocation of the context's device, within its memory. */
CUresult rm_fake_alloc_device(CUcontext ctx, size_t size, CUdeviceptr *dptr);
/* Free a device allocation (CUDA_ERROR_INVALID_VALUE if p is not one). */
CUresult rm_fake_free_device(CUdeviceptr p);
/* Mark the allocation at base as taken from pool. */
void rm_fake_range_set_pool(uintptr_t base, CUmemoryPool pool);
/* Add a range as it is (lock held). */
CUresult rm_fake_range_add(rm_fake_range_t r);
/* The range containing p, for changes (lock held); NULL if none. */
rm_fake_range_t *rm_fake_range_at(uintptr_t p);

/* VMM (backend_fake_vmm.c): a mapping is gone, its allocation loses a user. */
void rm_fake_vmm_unmapped(rm_fake_range_t *r);

/* Memory pools (backend_fake_pool.c): their use as ranges come and go. */
void rm_fake_pool_account(CUmemoryPool pool, size_t size, bool taken);

/* Built-in kernels and their __device__ globals (backend_fake_kernels.c). */
#define RM_FAKE_NKERNELS 10
#define RM_FAKE_NGLOBALS 2
typedef struct rm_fake_kernel rm_fake_kernel_t;

struct CUfunc_st {
    CUmodule mod;
    const rm_fake_kernel_t *kernel;
    int attrs[CU_FUNC_ATTRIBUTE_MAX];
};

struct CUmod_st {
    CUcontext ctx;
    CUlibrary lib; /* the library that loaded it for ctx, or NULL */
    void *globals[RM_FAKE_NGLOBALS];
    struct CUfunc_st funcs[RM_FAKE_NKERNELS];
};

long rm_fake_kernel_find(const char *name); /* index, or -1 */
long rm_fake_global_find(const char *name); /* index, or -1 */
size_t rm_fake_global_size(size_t g);
void rm_fake_func_init(CUfunction f, CUmodule m, size_t k); /* m's function k */

/* Modules and libraries (backend_fake_module.c). */
bool rm_fake_func_live(CUfunction f);
void rm_fake_module_release_ctx(CUcontext ctx);

/* Each file fills the entry points it implements. */
void rm_fake_fill_ctx(rm_backend_t *out);
void rm_fake_fill_stream(rm_backend_t *out);
void rm_fake_fill_mem(rm_backend_t *out);
void rm_fake_fill_module(rm_backend_t *out);
void rm_fake_fill_kernels(rm_backend_t *out);
void rm_fake_fill_graph(rm_backend_t *out);
void rm_fake_fill_pool(rm_backend_t *out);
void rm_fake_fill_vmm(rm_backend_t *out);
void rm_fake_fill_array(rm_backend_t *out);

#endif
