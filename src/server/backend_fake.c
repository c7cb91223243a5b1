/* Fake backend, core: a host-memory emulator of the CUDA driver for machines
 * with no GPU (CI). This file holds the shared state, initialisation, device
 * queries (H100-like answers, with names that say "fake") and contexts;
 * memory, streams, modules and kernels live in
 * backend_fake_{mem,stream,module,kernels}.c.
 *
 * Configuration, read once by cuInit: REMORA_FAKE_DEVICES (1..8, default 1),
 * the fake GPUs the machine has, REMORA_FAKE_MEM_MB (memory per device,
 * default 1024), and CUDA_VISIBLE_DEVICES, which selects and orders them as
 * the driver does; a fake GPU's name, UUID and PCI bus are its own whatever
 * ordinal it has.
 */
#include "backend_fake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define FAKE_DRIVER_VERSION 13000
#define FAKE_DEFAULT_MEM_MB 1024
#define FAKE_MAX_MEM_MB (1L << 20) /* 1 TiB: keeps MiB -> bytes from overflowing */
#define FAKE_CTX_STACK 64

rm_fake_state_t rm_fake_state = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1};

/* The calling thread's context stack, as the driver keeps it: cuCtxCreate
 * pushes, cuCtxDestroy pops, cuCtxSetCurrent replaces the top, and the top
 * is the current context. Entries are checked against the live set on every
 * use because another thread may destroy them. */
static __thread CUcontext fake_stack[FAKE_CTX_STACK];
static __thread unsigned fake_depth;

/* ---- live-object sets ---- */

bool rm_fake_set_add(rm_fake_set_t *s, void *p)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        void **items = realloc(s->items, cap * sizeof *items);
        if (!items)
            return false;
        s->items = items;
        s->cap = cap;
    }
    s->items[s->len++] = p;
    return true;
}

bool rm_fake_set_del(rm_fake_set_t *s, const void *p)
{
    for (size_t i = 0; i < s->len; i++) {
        if (s->items[i] == p) {
            s->items[i] = s->items[--s->len];
            return true;
        }
    }
    return false;
}

bool rm_fake_set_has(const rm_fake_set_t *s, const void *p)
{
    for (size_t i = 0; i < s->len; i++)
        if (s->items[i] == p)
            return true;
    return false;
}

void rm_fake_set_free_owned(rm_fake_set_t *s, CUcontext ctx)
{
    for (size_t i = s->len; i-- > 0;) {
        rm_fake_owned_t *o = s->items[i];
        if (o->ctx == ctx) {
            s->items[i] = s->items[--s->len];
            free(o);
        }
    }
}

/* ---- entry and exit ---- */

CUresult rm_fake_enter(void)
{
    pthread_mutex_lock(&rm_fake_state.lock);
    return rm_fake_state.initialized ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

static CUcontext fake_top(void) { return fake_depth ? fake_stack[fake_depth - 1] : NULL; }

CUresult rm_fake_current(CUcontext *ctx)
{
    CUcontext c = fake_top();
    if (!c)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (!rm_fake_set_has(&rm_fake_state.ctxs, c))
        return CUDA_ERROR_CONTEXT_IS_DESTROYED;
    *ctx = c;
    return CUDA_SUCCESS;
}

CUresult rm_fake_enter_ctx(CUcontext *ctx)
{
    CUresult rc = rm_fake_enter();
    return rc == CUDA_SUCCESS ? rm_fake_current(ctx) : rc;
}

CUresult rm_fake_leave(CUresult rc)
{
    pthread_mutex_unlock(&rm_fake_state.lock);
    return rc;
}

/* ---- initialisation and devices ---- */

static long fake_env_long(const char *name, long def, long min, long max)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min) {
        RM_WARN("fake backend: %s=%s is not a number >= %ld, using %ld", name, s, min, def);
        return def;
    }
    if (v > max) {
        RM_WARN("fake backend: %s=%s is above the maximum, using %ld", name, s, max);
        return max;
    }
    return v;
}

/* CUDA_VISIBLE_DEVICES over the machine's total fake GPUs, as the driver
 * reads it: comma-separated indices, the list ending at the first entry that
 * is not one (a bad number, out of range, repeated; UUIDs are not matched);
 * unset: every GPU in order. Fills phys, returns how many are visible. */
static int fake_visible(int total, int phys[RM_FAKE_MAX_DEVICES])
{
    const char *s = getenv("CUDA_VISIBLE_DEVICES");
    int n = 0;
    if (!s) {
        for (; n < total; n++)
            phys[n] = n;
        return n;
    }
    while (n < total) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        bool seen = false;
        for (int i = 0; i < n; i++)
            seen |= phys[i] == v;
        if (end == s || errno || v < 0 || v >= total || seen || (*end && *end != ','))
            break;
        phys[n++] = (int)v;
        if (!*end)
            break;
        s = end + 1;
    }
    return n;
}

static CUresult fake_cuInit(unsigned int flags)
{
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&rm_fake_state.lock);
    if (!rm_fake_state.initialized) {
        long mb = fake_env_long("REMORA_FAKE_MEM_MB", FAKE_DEFAULT_MEM_MB, 1, FAKE_MAX_MEM_MB);
        int total = (int)fake_env_long("REMORA_FAKE_DEVICES", 1, 1, RM_FAKE_MAX_DEVICES);
        rm_fake_state.ndev = fake_visible(total, rm_fake_state.phys);
        if (!rm_fake_state.ndev) /* as the driver: no device visible, no driver */
            return rm_fake_leave(CUDA_ERROR_NO_DEVICE);
        rm_fake_state.mem_total = (size_t)mb << 20;
        rm_fake_state.initialized = true;
        RM_INFO("fake backend: %d of %d fake device(s) visible, %ld MiB each", rm_fake_state.ndev, total, mb);
    }
    return rm_fake_leave(CUDA_SUCCESS);
}

/* No profiler attaches to the emulator: starting and stopping it succeed. */
static CUresult fake_cuProfilerStart(void) { return CUDA_SUCCESS; }
static CUresult fake_cuProfilerStop(void) { return CUDA_SUCCESS; }

static CUresult fake_cuDriverGetVersion(int *version)
{
    if (!version)
        return CUDA_ERROR_INVALID_VALUE;
    *version = FAKE_DRIVER_VERSION;
    return CUDA_SUCCESS;
}

static bool fake_dev_ok(CUdevice dev) { return dev >= 0 && dev < rm_fake_state.ndev; }

/* Enter for a device call (takes the lock like rm_fake_enter): driver
 * initialised and dev valid; the _out form also wants a non-NULL out. */
static CUresult fake_enter_dev(CUdevice dev)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !fake_dev_ok(dev))
        rc = CUDA_ERROR_INVALID_DEVICE;
    return rc;
}

static CUresult fake_enter_dev_out(CUdevice dev, const void *out)
{
    CUresult rc = fake_enter_dev(dev);
    if (rc == CUDA_SUCCESS && !out)
        rc = CUDA_ERROR_INVALID_VALUE;
    return rc;
}

static CUresult fake_cuDeviceGetCount(int *count)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !count)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *count = rm_fake_state.ndev;
    return rm_fake_leave(rc);
}

static CUresult fake_cuDeviceGet(CUdevice *device, int ordinal)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !device)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && !fake_dev_ok(ordinal))
        rc = CUDA_ERROR_INVALID_DEVICE;
    if (rc == CUDA_SUCCESS)
        *device = ordinal;
    return rm_fake_leave(rc);
}

static CUresult fake_cuDeviceGetName(char *name, int len, CUdevice dev)
{
    CUresult rc = fake_enter_dev_out(dev, name);
    if (rc == CUDA_SUCCESS && len <= 0)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        snprintf(name, (size_t)len, "remora fake device %d", rm_fake_state.phys[dev]);
    return rm_fake_leave(rc);
}

/* Fake GPU i sits on PCI bus 0x18 + i (its attribute; the fake NVML says the same). */
static CUresult fake_cuDeviceGetPCIBusId(char *bus_id, int len, CUdevice dev)
{
    CUresult rc = fake_enter_dev_out(dev, bus_id);
    if (rc == CUDA_SUCCESS && len < 13)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        snprintf(bus_id, (size_t)len, "0000:%02X:00.0", (unsigned char)(0x18 + rm_fake_state.phys[dev]));
    return rm_fake_leave(rc);
}

static CUresult fake_cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
    /* "remorafakedev" + 0x00 0x00 + the fake GPU's index: stable across runs and processes. */
    static const char prefix[] = "remorafakedev\0";
    CUresult rc = fake_enter_dev_out(dev, uuid);
    if (rc == CUDA_SUCCESS) {
        memcpy(uuid->bytes, prefix, sizeof uuid->bytes - 1);
        uuid->bytes[sizeof uuid->bytes - 1] = (char)rm_fake_state.phys[dev];
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
    CUresult rc = fake_enter_dev_out(dev, bytes);
    if (rc == CUDA_SUCCESS)
        *bytes = rm_fake_state.mem_total;
    return rm_fake_leave(rc);
}

/* An H100 SXM5, minus what the fake cannot do (managed memory, memory pools,
 * the virtual memory API, stream memory operations, IPC): those answer 0 so
 * that callers choose the paths the fake implements. Unlisted: 0. */
static const int fake_attr_values[CU_DEVICE_ATTRIBUTE_MAX] = {
    [CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK] = 1024,
    [CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X] = 1024,
    [CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y] = 1024,
    [CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z] = 64,
    [CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X] = 2147483647,
    [CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y] = 65535,
    [CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z] = 65535,
    [CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK] = 49152,
    [CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY] = 65536,
    [CU_DEVICE_ATTRIBUTE_WARP_SIZE] = 32,
    [CU_DEVICE_ATTRIBUTE_MAX_PITCH] = 2147483647,
    [CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK] = 65536,
    [CU_DEVICE_ATTRIBUTE_CLOCK_RATE] = 1980000,
    [CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT] = 512,
    [CU_DEVICE_ATTRIBUTE_GPU_OVERLAP] = 1,
    [CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT] = 132,
    [CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY] = 1,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH] = 131072,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH] = 131072,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT] = 65536,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH] = 16384,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT] = 16384,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH] = 16384,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_HEIGHT] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_LAYERS] = 2048,
    [CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT] = 512,
    [CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS] = 1,
    [CU_DEVICE_ATTRIBUTE_ECC_ENABLED] = 1,
    [CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE] = 2619000,
    [CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH] = 5120,
    [CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE] = 52428800,
    [CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR] = 2048,
    [CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT] = 3,
    [CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING] = 1,
    [CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY] = 1,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_LAYERS] = 2048,
    [CU_DEVICE_ATTRIBUTE_CAN_TEX2D_GATHER] = 1,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_HEIGHT] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH_ALTERNATE] = 8192,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT_ALTERNATE] = 8192,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH_ALTERNATE] = 32768,
    [CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT] = 32,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_LAYERS] = 2046,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_WIDTH] = 131072,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_HEIGHT] = 65536,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_WIDTH] = 16384,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_HEIGHT] = 16384,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_DEPTH] = 16384,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_LAYERS] = 2048,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_HEIGHT] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_LAYERS] = 2048,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_LAYERS] = 2046,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LINEAR_WIDTH] = 268435456,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_WIDTH] = 131072,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_HEIGHT] = 65000,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_PITCH] = 2097120,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_HEIGHT] = 32768,
    [CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR] = 9,
    [CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR] = 0,
    [CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_MIPMAPPED_WIDTH] = 32768,
    [CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED] = 1,
    [CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED] = 1,
    [CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED] = 1,
    [CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR] = 233472,
    [CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR] = 65536,
    [CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO] = 2,
    [CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED] = 1,
    [CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM] = 1,
    [CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH] = 1,
    [CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN] = 232448,
    [CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED] = 1,
    [CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR] = 32,
    [CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE] = 32505856,
    [CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE] = 134213632,
    [CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK] = 1024,
    [CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED] = 1,
    [CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH] = 1,
    [CU_DEVICE_ATTRIBUTE_MEM_SYNC_DOMAIN_COUNT] = 4,
    [CU_DEVICE_ATTRIBUTE_TENSOR_MAP_ACCESS_SUPPORTED] = 1,
    [CU_DEVICE_ATTRIBUTE_NUMA_ID] = -1,
    [CU_DEVICE_ATTRIBUTE_GPU_PCI_DEVICE_ID] = 0x233010DE,
    [CU_DEVICE_ATTRIBUTE_GPU_PCI_SUBSYSTEM_ID] = 0x16C110DE,
};

int rm_fake_attr(CUdevice_attribute attrib) { return fake_attr_values[attrib]; }

static CUresult fake_cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
    CUresult rc = fake_enter_dev_out(dev, pi);
    if (rc == CUDA_SUCCESS && (attrib <= 0 || attrib >= CU_DEVICE_ATTRIBUTE_MAX))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    switch (attrib) {
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *pi = 0x18 + rm_fake_state.phys[dev]; break; /* one bus per GPU */
    case CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID: *pi = rm_fake_state.phys[dev]; break;
    default: *pi = rm_fake_attr(attrib); break;
    }
    return rm_fake_leave(CUDA_SUCCESS);
}

/* ---- contexts ---- */

typedef enum {
    FAKE_LIMIT_UNSUPPORTED,
    FAKE_LIMIT_READ_ONLY,
    FAKE_LIMIT_SETTABLE
} fake_limit_access;

/* Per limit: the default and what cuCtxGetLimit/cuCtxSetLimit may do, as on
 * an H100 with driver 580 (unlisted limits are unsupported there). */
static const struct {
    size_t value;
    fake_limit_access access;
} fake_limits[CU_LIMIT_MAX] = {
    [CU_LIMIT_STACK_SIZE] = {1024, FAKE_LIMIT_SETTABLE},
    [CU_LIMIT_PRINTF_FIFO_SIZE] = {8650752, FAKE_LIMIT_SETTABLE},
    [CU_LIMIT_MALLOC_HEAP_SIZE] = {8 << 20, FAKE_LIMIT_SETTABLE},
    [CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT] = {2048, FAKE_LIMIT_SETTABLE},
    [CU_LIMIT_MAX_L2_FETCH_GRANULARITY] = {64, FAKE_LIMIT_SETTABLE},
    [CU_LIMIT_PERSISTING_L2_CACHE_SIZE] = {9830400, FAKE_LIMIT_SETTABLE},
    [CU_LIMIT_SHMEM_SIZE] = {232448, FAKE_LIMIT_READ_ONLY},
    [CU_LIMIT_CIG_ENABLED] = {0, FAKE_LIMIT_READ_ONLY},
};

static void fake_ctx_init(CUcontext c, int device, bool primary, unsigned flags)
{
    c->id = ++rm_fake_state.next_object_id;
    c->device = device;
    c->primary = primary;
    c->flags = flags;
    c->cache_config = CU_FUNC_CACHE_PREFER_NONE;
    c->peers = 0; /* a new (or reset primary) context has no peer access */
    for (int i = 0; i < CU_LIMIT_MAX; i++)
        c->limits[i] = fake_limits[i].value;
}

/* Frees everything the context owns. Modules first: they own global ranges. */
static void fake_ctx_teardown(CUcontext c)
{
    rm_fake_module_release_ctx(c);
    rm_fake_mem_release_ctx(c);
    rm_fake_stream_release_ctx(c);
}

static bool fake_ctx_flags_ok(unsigned flags)
{
    /* One scheduling mode at most: SPIN, YIELD and BLOCKING_SYNC are exclusive. */
    unsigned sched = flags & CU_CTX_SCHED_MASK;
    return !(flags & ~(unsigned)CU_CTX_FLAGS_MASK) && (sched & (sched - 1)) == 0;
}

/* The primary context is live (active) from its first retain to its last
 * release, or until cuDevicePrimaryCtxReset destroys it; a reset context
 * keeps its references, and the next retain brings it back. */
static bool fake_primary_active(rm_fake_device_t *d)
{
    return rm_fake_set_has(&rm_fake_state.ctxs, &d->primary);
}

/* Frees the primary context's resources and makes it inactive. */
static void fake_primary_destroy(rm_fake_device_t *d)
{
    if (fake_primary_active(d)) {
        fake_ctx_teardown(&d->primary);
        rm_fake_set_del(&rm_fake_state.ctxs, &d->primary);
    }
}

static CUresult fake_cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
    CUresult rc = fake_enter_dev_out(dev, pctx);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    rm_fake_device_t *d = &rm_fake_state.dev[dev];
    if (!fake_primary_active(d)) {
        fake_ctx_init(&d->primary, dev, true, d->primary.flags);
        if (!rm_fake_set_add(&rm_fake_state.ctxs, &d->primary))
            return rm_fake_leave(CUDA_ERROR_OUT_OF_MEMORY);
    }
    d->primary_refs++;
    *pctx = &d->primary;
    return rm_fake_leave(CUDA_SUCCESS);
}

static CUresult fake_primary_ctx_handle(CUcontext *pctx, CUdevice dev)
{
    CUresult rc = fake_enter_dev_out(dev, pctx);
    if (rc == CUDA_SUCCESS)
        *pctx = &rm_fake_state.dev[dev].primary;
    return rm_fake_leave(rc);
}

static CUresult fake_cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    CUresult rc = fake_enter_dev(dev);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    rm_fake_device_t *d = &rm_fake_state.dev[dev];
    if (d->primary_refs == 0)
        return rm_fake_leave(CUDA_ERROR_INVALID_CONTEXT);
    if (--d->primary_refs == 0)
        fake_primary_destroy(d);
    return rm_fake_leave(CUDA_SUCCESS);
}

static CUresult fake_cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
    CUresult rc = fake_enter_dev(dev);
    if (rc == CUDA_SUCCESS)
        fake_primary_destroy(&rm_fake_state.dev[dev]);
    return rm_fake_leave(rc);
}

static CUresult fake_cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags)
{
    CUresult rc = fake_enter_dev(dev);
    if (rc == CUDA_SUCCESS && !fake_ctx_flags_ok(flags))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rm_fake_state.dev[dev].primary.flags = flags;
    return rm_fake_leave(rc);
}

static CUresult fake_cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
    CUresult rc = fake_enter_dev_out(dev, flags);
    if (rc == CUDA_SUCCESS && !active)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        *flags = rm_fake_state.dev[dev].primary.flags;
        *active = fake_primary_active(&rm_fake_state.dev[dev]);
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *params, unsigned int flags,
                                    CUdevice dev)
{
    CUresult rc = fake_enter_dev_out(dev, pctx);
    if (rc == CUDA_SUCCESS && !fake_ctx_flags_ok(flags))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && params && params->numExecAffinityParams > 0 &&
        !params->execAffinityParams)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && params && (params->numExecAffinityParams > 0 || params->cigParams)) {
        RM_DEBUG("fake backend: cuCtxCreate with execution affinity or CIG is not emulated");
        rc = CUDA_ERROR_NOT_SUPPORTED;
    }
    if (rc == CUDA_SUCCESS && fake_depth == FAKE_CTX_STACK)
        rc = CUDA_ERROR_OUT_OF_MEMORY; /* 64 contexts pushed on one thread */
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    CUcontext c = malloc(sizeof *c);
    if (!c || !rm_fake_set_add(&rm_fake_state.ctxs, c)) {
        free(c);
        return rm_fake_leave(CUDA_ERROR_OUT_OF_MEMORY);
    }
    fake_ctx_init(c, dev, false, flags);
    fake_stack[fake_depth++] = c; /* cuCtxCreate pushes the new context */
    *pctx = c;
    return rm_fake_leave(CUDA_SUCCESS);
}

/* A handle that is not live was a context once (handles are validated by
 * the server): CUDA_ERROR_CONTEXT_IS_DESTROYED, as from the driver. */
static CUresult fake_ctx_check(CUcontext ctx)
{
    if (!ctx)
        return CUDA_ERROR_INVALID_CONTEXT;
    return rm_fake_set_has(&rm_fake_state.ctxs, ctx) ? CUDA_SUCCESS
                                                     : CUDA_ERROR_CONTEXT_IS_DESTROYED;
}

static CUresult fake_cuCtxDestroy_v2(CUcontext ctx)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = fake_ctx_check(ctx);
    if (rc == CUDA_SUCCESS && ctx->primary)
        rc = CUDA_ERROR_INVALID_CONTEXT;
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    fake_ctx_teardown(ctx);
    rm_fake_set_del(&rm_fake_state.ctxs, ctx);
    free(ctx);
    if (fake_top() == ctx)
        fake_depth--;
    return rm_fake_leave(CUDA_SUCCESS);
}

/* NULL pops the top; otherwise ctx replaces the top (or is pushed). */
/* A device's primary context, active or not. */
static bool fake_is_primary(CUcontext ctx)
{
    for (int d = 0; d < rm_fake_state.ndev; d++)
        if (ctx == &rm_fake_state.dev[d].primary)
            return true;
    return false;
}

static CUresult fake_cuCtxSetCurrent(CUcontext ctx)
{
    CUresult rc = rm_fake_enter();
    /* As the driver: an inactive primary context may be made current (NVIDIA's
     * cudart does so before it retains it); calls in it fail until then. */
    if (rc == CUDA_SUCCESS && ctx && !fake_is_primary(ctx))
        rc = fake_ctx_check(ctx);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    if (!ctx && fake_depth > 0)
        fake_depth--;
    else if (ctx && fake_depth > 0)
        fake_stack[fake_depth - 1] = ctx;
    else if (ctx)
        fake_stack[fake_depth++] = ctx;
    return rm_fake_leave(CUDA_SUCCESS);
}

static CUresult fake_cuCtxGetCurrent(CUcontext *pctx)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !pctx)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *pctx = fake_top(); /* even if destroyed since, as the driver does */
    return rm_fake_leave(rc);
}

static CUresult fake_cuCtxGetDevice(CUdevice *device)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && !device)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *device = ctx->device;
    return rm_fake_leave(rc);
}

/* Every operation completes before its call returns: nothing to wait for. */
static CUresult fake_cuCtxSynchronize(void)
{
    CUcontext ctx;
    return rm_fake_leave(rm_fake_enter_ctx(&ctx));
}

static CUresult fake_cuCtxSetLimit(CUlimit limit, size_t value)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && ((unsigned)limit >= CU_LIMIT_MAX ||
                               (limit == CU_LIMIT_MAX_L2_FETCH_GRANULARITY && value > 128)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && fake_limits[limit].access == FAKE_LIMIT_UNSUPPORTED)
        rc = CUDA_ERROR_UNSUPPORTED_LIMIT;
    if (rc == CUDA_SUCCESS && fake_limits[limit].access == FAKE_LIMIT_READ_ONLY)
        rc = CUDA_ERROR_NOT_PERMITTED;
    if (rc == CUDA_SUCCESS)
        ctx->limits[limit] = value;
    return rm_fake_leave(rc);
}

static CUresult fake_cuCtxGetLimit(size_t *pvalue, CUlimit limit)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && (!pvalue || (unsigned)limit >= CU_LIMIT_MAX))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && fake_limits[limit].access == FAKE_LIMIT_UNSUPPORTED)
        rc = CUDA_ERROR_UNSUPPORTED_LIMIT;
    if (rc == CUDA_SUCCESS)
        *pvalue = ctx->limits[limit];
    return rm_fake_leave(rc);
}

/* ctx NULL: the current context. */
static CUresult fake_cuCtxGetId(CUcontext ctx, unsigned long long *id)
{
    CUcontext cur;
    CUresult rc = rm_fake_enter_ctx(&cur);
    if (rc == CUDA_SUCCESS && !id)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && ctx)
        rc = fake_ctx_check(ctx);
    if (rc == CUDA_SUCCESS)
        *id = (ctx ? ctx : cur)->id;
    return rm_fake_leave(rc);
}

static CUresult fake_cuCtxGetFlags(unsigned int *flags)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && !flags)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *flags = ctx->flags;
    return rm_fake_leave(rc);
}

static CUresult fake_cuCtxGetCacheConfig(CUfunc_cache *config)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && !config)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *config = ctx->cache_config;
    return rm_fake_leave(rc);
}

static CUresult fake_cuCtxSetCacheConfig(CUfunc_cache config)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && (unsigned)config > CU_FUNC_CACHE_PREFER_EQUAL)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        ctx->cache_config = config;
    return rm_fake_leave(rc);
}

/* Fake devices share the host's memory: each is a peer of every other. */
static CUresult fake_cuDeviceCanAccessPeer(int *can, CUdevice dev, CUdevice peer)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!fake_dev_ok(dev) || !fake_dev_ok(peer)))
        rc = CUDA_ERROR_INVALID_DEVICE;
    if (rc == CUDA_SUCCESS && !can)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *can = dev != peer;
    return rm_fake_leave(rc);
}

static CUresult fake_cuDeviceGetP2PAttribute(int *value, CUdevice_P2PAttribute attr, CUdevice src, CUdevice dst)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!fake_dev_ok(src) || !fake_dev_ok(dst) || src == dst))
        rc = CUDA_ERROR_INVALID_DEVICE;
    if (rc == CUDA_SUCCESS && !value)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        switch (attr) {
        case CU_DEVICE_P2P_ATTRIBUTE_PERFORMANCE_RANK: *value = 0; break;
        case CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED:
        case CU_DEVICE_P2P_ATTRIBUTE_NATIVE_ATOMIC_SUPPORTED: *value = 1; break;
        case CU_DEVICE_P2P_ATTRIBUTE_CUDA_ARRAY_ACCESS_SUPPORTED: *value = 0; break;
        default: rc = CUDA_ERROR_INVALID_VALUE;
        }
    }
    return rm_fake_leave(rc);
}

static CUresult fake_peer_access(CUcontext peer, unsigned flags, bool enable)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && (flags || !peer))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = fake_ctx_check(peer);
    if (rc == CUDA_SUCCESS && peer->device == ctx->device)
        rc = CUDA_ERROR_INVALID_DEVICE;
    uint64_t bit = rc == CUDA_SUCCESS ? (uint64_t)1 << peer->device : 0;
    if (rc == CUDA_SUCCESS && enable && (ctx->peers & bit))
        rc = CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
    if (rc == CUDA_SUCCESS && !enable && !(ctx->peers & bit))
        rc = CUDA_ERROR_PEER_ACCESS_NOT_ENABLED;
    if (rc == CUDA_SUCCESS)
        ctx->peers = enable ? ctx->peers | bit : ctx->peers & ~bit;
    return rm_fake_leave(rc);
}

static CUresult fake_cuCtxEnablePeerAccess(CUcontext peer, unsigned int flags) { return fake_peer_access(peer, flags, true); }
static CUresult fake_cuCtxDisablePeerAccess(CUcontext peer) { return fake_peer_access(peer, 0, false); }

/* Either pointer may be NULL. */
static CUresult fake_cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && least)
        *least = RM_FAKE_PRIORITY_LEAST;
    if (rc == CUDA_SUCCESS && greatest)
        *greatest = RM_FAKE_PRIORITY_GREATEST;
    return rm_fake_leave(rc);
}

void rm_fake_fill_ctx(rm_backend_t *out)
{
    out->cuInit = fake_cuInit;
    out->cuDriverGetVersion = fake_cuDriverGetVersion;
    out->cuProfilerStart = fake_cuProfilerStart;
    out->cuCtxGetId = fake_cuCtxGetId;
    out->cuCtxGetFlags = fake_cuCtxGetFlags;
    out->cuCtxGetCacheConfig = fake_cuCtxGetCacheConfig;
    out->cuCtxSetCacheConfig = fake_cuCtxSetCacheConfig;
    out->cuDeviceCanAccessPeer = fake_cuDeviceCanAccessPeer;
    out->cuDeviceGetP2PAttribute = fake_cuDeviceGetP2PAttribute;
    out->cuCtxEnablePeerAccess = fake_cuCtxEnablePeerAccess;
    out->cuCtxDisablePeerAccess = fake_cuCtxDisablePeerAccess;
    out->cuProfilerStop = fake_cuProfilerStop;
    out->cuDeviceGetCount = fake_cuDeviceGetCount;
    out->cuDeviceGet = fake_cuDeviceGet;
    out->cuDeviceGetName = fake_cuDeviceGetName;
    out->cuDeviceGetUuid_v2 = fake_cuDeviceGetUuid_v2;
    out->cuDeviceGetPCIBusId = fake_cuDeviceGetPCIBusId;
    out->cuDeviceTotalMem_v2 = fake_cuDeviceTotalMem_v2;
    out->cuDeviceGetAttribute = fake_cuDeviceGetAttribute;
    out->cuDevicePrimaryCtxRetain = fake_cuDevicePrimaryCtxRetain;
    out->primary_ctx_handle = fake_primary_ctx_handle;
    out->cuDevicePrimaryCtxRelease_v2 = fake_cuDevicePrimaryCtxRelease_v2;
    out->cuDevicePrimaryCtxReset_v2 = fake_cuDevicePrimaryCtxReset_v2;
    out->cuDevicePrimaryCtxSetFlags_v2 = fake_cuDevicePrimaryCtxSetFlags_v2;
    out->cuDevicePrimaryCtxGetState = fake_cuDevicePrimaryCtxGetState;
    out->cuCtxCreate_v4 = fake_cuCtxCreate_v4;
    out->cuCtxDestroy_v2 = fake_cuCtxDestroy_v2;
    out->cuCtxSetCurrent = fake_cuCtxSetCurrent;
    out->cuCtxGetCurrent = fake_cuCtxGetCurrent;
    out->cuCtxGetDevice = fake_cuCtxGetDevice;
    out->cuCtxSynchronize = fake_cuCtxSynchronize;
    out->cuCtxSetLimit = fake_cuCtxSetLimit;
    out->cuCtxGetLimit = fake_cuCtxGetLimit;
    out->cuCtxGetStreamPriorityRange = fake_cuCtxGetStreamPriorityRange;
}

void rm_backend_fake_fill(rm_backend_t *out)
{
    memset(out, 0, sizeof *out);
    out->name = "fake";
    rm_fake_fill_ctx(out);
    rm_fake_fill_stream(out);
    rm_fake_fill_mem(out);
    rm_fake_fill_module(out);
    rm_fake_fill_kernels(out);
    rm_fake_fill_graph(out);
    rm_fake_fill_pool(out);
    rm_fake_fill_vmm(out);
    rm_fake_fill_array(out);
    rm_fake_fill_texture(out);
}
