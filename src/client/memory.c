/* Client: device memory allocation and pointer attributes. */
#include "memory.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_current.h"
#include "device.h"
#include "export.h"
#include "hostmem.h"
#include "log.h"
#include "managed.h"
#include "ranges.h"
#include "rm_stubs.h"
#include "route.h"
#include "session.h"
#include "wire_types.h"
#include "uva.h"

static rm_ranges_t devmem;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void) { rm_ranges_init(&devmem); }

/* A forked child owns none of the parent's device memory. */
static void after_fork_child(void)
{
    free(devmem.v); /* its lock may have been held by a thread the child lacks */
    rm_ranges_init(&devmem);
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

int rm_devmem_reserve(CUdeviceptr p, size_t n)
{
    if (rm_uva_reserve(p, n) == 0)
        return 0;
    RM_WARN("device range [%#llx, +%zu) overlaps host memory of this process: copies that name "
            "these addresses without a direction are ambiguous",
            (unsigned long long)p, n);
    return -1;
}

/* A range's tag says whether its addresses are reserved here (released
 * with it) or not (an overlap, or reserved by someone else: VMM), and which
 * server's memory it is (bits 1 and up). */
enum { NOT_RESERVED = 0, RESERVED = 1 };
static uintptr_t tag(int reserved) { return (uintptr_t)reserved | (uintptr_t)rm_route_current() << 1; }

void rm_devmem_add(CUdeviceptr p, size_t n)
{
    pthread_once(&once, init);
    rm_ranges_add(&devmem, p, n, tag(rm_devmem_reserve(p, n) == 0 ? RESERVED : NOT_RESERVED));
}

/* Several servers may hand out the same device addresses; this process
 * keeps them apart (as it keeps device from host addresses), so that an
 * address names one allocation. */
static int another_servers(CUdeviceptr p, size_t n)
{
    rm_range_t m;
    return rm_session_servers() > 1 && rm_ranges_overlap(&devmem, p, n, &m) == 0 &&
           (int)(m.tag >> 1) != rm_route_current();
}

/* An allocation whose range is host memory here (or another server's
 * device memory) is kept aside and another one asked for, so that device
 * and host addresses never alias (uva.h); those kept aside are freed once
 * one fits. */
#define MAX_PLACEMENT_TRIES 8

typedef CUresult (*alloc_fn)(const void *req, CUdeviceptr *p, size_t *n, size_t *pitch);

/* Keep [p, p+n) as device memory of the current server, unless it aliases
 * host memory or another server's device memory: checked and kept under
 * one lock, as two threads' servers may hand out the same addresses at once. */
static int claim(CUdeviceptr p, size_t n)
{
    static pthread_mutex_t claiming = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&claiming);
    int ok = !another_servers(p, n) && rm_uva_reserve(p, n) == 0;
    if (ok)
        rm_ranges_add(&devmem, p, n, tag(RESERVED));
    pthread_mutex_unlock(&claiming);
    return ok ? 0 : -1;
}

static CUresult place(alloc_fn alloc, const void *req, CUdeviceptr *p, size_t *pitch)
{
    CUdeviceptr aside[MAX_PLACEMENT_TRIES], got = 0; /* *p is written only on success, as by the driver */
    int naside = 0;
    size_t n = 0;
    CUresult r;
    pthread_once(&once, init);
    while ((r = alloc(req, &got, &n, pitch)) == CUDA_SUCCESS && claim(got, n) != 0) {
        aside[naside++] = got;
        if (naside == MAX_PLACEMENT_TRIES) {
            RM_ERROR("the server's device addresses keep landing on host memory of this process");
            r = CUDA_ERROR_OUT_OF_MEMORY;
            break;
        }
    }
    for (int i = 0; i < naside; i++) {
        rm_mem_free_req_t in = {.dptr = aside[i]};
        rm_call_mem_free(&in);
    }
    if (r == CUDA_SUCCESS)
        *p = got;
    return r;
}

static CUresult alloc_linear(const void *req, CUdeviceptr *p, size_t *n, size_t *pitch)
{
    rm_mem_alloc_rep_t out;
    CUresult r = rm_call_mem_alloc(req, &out);
    *p = out.dptr;
    *n = ((const rm_mem_alloc_req_t *)req)->bytes;
    return r;
}

static CUresult alloc_pitched(const void *req, CUdeviceptr *p, size_t *n, size_t *pitch)
{
    rm_mem_alloc_pitch_rep_t out;
    CUresult r = rm_call_mem_alloc_pitch(req, &out);
    *p = out.dptr;
    *pitch = out.pitch;
    *n = out.pitch * ((const rm_mem_alloc_pitch_req_t *)req)->height;
    return r;
}

void rm_devmem_track(CUdeviceptr p, size_t n)
{
    pthread_once(&once, init);
    rm_ranges_add(&devmem, p, n, tag(NOT_RESERVED));
}

void rm_devmem_untrack(CUdeviceptr p, size_t n)
{
    rm_range_t m;
    pthread_once(&once, init);
    for (CUdeviceptr q = p; q < p + n;)
        if (rm_ranges_find(&devmem, q, &m) == 0 && m.base >= p) {
            rm_ranges_del(&devmem, m.base, NULL);
            q = m.base + m.size;
        } else {
            q += (CUdeviceptr)2 << 20; /* mappings are granule aligned */
        }
}

int rm_devmem_contains(CUdeviceptr p)
{
    rm_range_t r;
    pthread_once(&once, init);
    return rm_ranges_find(&devmem, p, &r) == 0;
}

CUresult CUDAAPI RM_IMPL(cuMemAlloc_v2)(CUdeviceptr *dptr, size_t bytes)
{
    if (!dptr || bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_alloc_req_t in = {.bytes = bytes};
    return place(alloc_linear, &in, dptr, NULL);
}

CUresult CUDAAPI RM_IMPL(cuMemAllocPitch_v2)(CUdeviceptr *dptr, size_t *pitch, size_t width, size_t height,
                                             unsigned int elem_size)
{
    if (!dptr || !pitch || width == 0 || height == 0 || (elem_size != 4 && elem_size != 8 && elem_size != 16))
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_alloc_pitch_req_t in = {.width = width, .height = height, .elem_size = elem_size};
    return place(alloc_pitched, &in, dptr, pitch);
}

/* Forget an allocation of ours (and its reservation); -1 if it is not one. */
int rm_devmem_forget(CUdeviceptr dptr)
{
    pthread_once(&once, init);
    rm_range_t was;
    if (rm_ranges_find(&devmem, dptr, &was) != 0 || was.base != dptr || rm_ranges_del(&devmem, dptr, NULL) != 0)
        return -1;
    if (was.tag & RESERVED)
        rm_uva_release(was.base, was.size);
    return 0;
}

CUresult CUDAAPI RM_IMPL(cuMemFree_v2)(CUdeviceptr dptr)
{
    if (dptr == 0)
        return CUDA_SUCCESS;
    CUdeviceptr alloc;
    if (rm_managed_forget(dptr, &alloc) == 0)
        dptr = alloc; /* the device allocation that held it (managed.h) */
    if (rm_devmem_forget(dptr) != 0)
        return CUDA_ERROR_INVALID_VALUE; /* not an allocation of ours */
    rm_mem_free_req_t in = {.dptr = dptr};
    return rm_call_mem_free(&in);
}

/* ---- stream-ordered allocation and memory pools ---- */

static CUresult alloc_async(const void *req, CUdeviceptr *p, size_t *n, size_t *pitch)
{
    rm_mem_alloc_async_rep_t out;
    CUresult r = rm_call_mem_alloc_async(req, &out);
    *p = out.dptr;
    *n = ((const rm_mem_alloc_async_req_t *)req)->bytes;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemAllocFromPoolAsync)(CUdeviceptr *dptr, size_t bytes, CUmemoryPool pool, CUstream s)
{
    if (!dptr || bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_alloc_async_req_t in = {.bytes = bytes, .pool = (uint64_t)(uintptr_t)pool, .stream = (uint64_t)(uintptr_t)s};
    return place(alloc_async, &in, dptr, NULL);
}

CUresult CUDAAPI RM_IMPL(cuMemAllocAsync)(CUdeviceptr *dptr, size_t bytes, CUstream s)
{
    if (!dptr)
        return CUDA_ERROR_INVALID_VALUE;
    return cuMemAllocFromPoolAsync(dptr, bytes, NULL, s);
}

CUresult CUDAAPI RM_IMPL(cuMemFreeAsync)(CUdeviceptr dptr, CUstream s)
{
    if (dptr == 0)
        return CUDA_SUCCESS;
    if (rm_devmem_forget(dptr) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_free_async_req_t in = {.dptr = dptr, .stream = (uint64_t)(uintptr_t)s};
    return rm_call_mem_free_async(&in);
}

CUresult CUDAAPI RM_IMPL(cuMemPoolCreate)(CUmemoryPool *pool, const CUmemPoolProps *props)
{
    if (!pool || !props)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_pool_create_req_t in = {props, sizeof *props};
    rm_mem_pool_create_rep_t out;
    CUresult r = rm_call_mem_pool_create(&in, &out);
    if (r == CUDA_SUCCESS)
        *pool = (CUmemoryPool)(uintptr_t)out.pool;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemPoolSetAttribute)(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    if (!value)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t v = rm_pool_attr_is_int(attr) ? (uint64_t)(int64_t) * (int *)value : *(cuuint64_t *)value;
    rm_mem_pool_set_attribute_req_t in = {(uint64_t)(uintptr_t)pool, (int32_t)attr, v};
    rm_mem_pool_set_attribute_rep_t out;
    return rm_call_mem_pool_set_attribute(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuMemPoolGetAttribute)(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    if (!value)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_pool_get_attribute_req_t in = {(uint64_t)(uintptr_t)pool, (int32_t)attr};
    rm_mem_pool_get_attribute_rep_t out;
    CUresult r = rm_call_mem_pool_get_attribute(&in, &out);
    if (r == CUDA_SUCCESS && rm_pool_attr_is_int(attr))
        *(int *)value = (int)out.value;
    else if (r == CUDA_SUCCESS)
        *(cuuint64_t *)value = out.value;
    return r;
}

/* CUDA 13's location-based forms: device locations of pinned memory, the
 * device's pools. */
static CUresult device_location(const CUmemLocation *loc, CUmemAllocationType type, CUdevice *dev)
{
    if (!loc)
        return CUDA_ERROR_INVALID_VALUE;
    if (loc->type != CU_MEM_LOCATION_TYPE_DEVICE || type != CU_MEM_ALLOCATION_TYPE_PINNED)
        return CUDA_ERROR_NOT_SUPPORTED;
    *dev = loc->id;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuMemGetDefaultMemPool)(CUmemoryPool *pool, CUmemLocation *loc, CUmemAllocationType type)
{
    CUdevice dev;
    CUresult r = device_location(loc, type, &dev);
    return r == CUDA_SUCCESS ? cuDeviceGetDefaultMemPool(pool, dev) : r;
}

CUresult CUDAAPI RM_IMPL(cuMemGetMemPool)(CUmemoryPool *pool, CUmemLocation *loc, CUmemAllocationType type)
{
    CUdevice dev;
    CUresult r = device_location(loc, type, &dev);
    return r == CUDA_SUCCESS ? cuDeviceGetMemPool(pool, dev) : r;
}

CUresult CUDAAPI RM_IMPL(cuMemSetMemPool)(CUmemLocation *loc, CUmemAllocationType type, CUmemoryPool pool)
{
    CUdevice dev;
    CUresult r = device_location(loc, type, &dev);
    return r == CUDA_SUCCESS ? cuDeviceSetMemPool(dev, pool) : r;
}

/* Attributes of host memory this library owns, answered here. */
static CUresult host_attribute(void *data, CUpointer_attribute attr, const rm_host_region_t *g, CUdeviceptr p)
{
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE: *(unsigned *)data = CU_MEMORYTYPE_HOST; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER: *(void **)data = (void *)(uintptr_t)p; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
        if (!g->dev)
            return CUDA_ERROR_INVALID_VALUE;
        *(CUdeviceptr *)data = g->dev + (p - g->base);
        return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_CONTEXT: *(CUcontext *)data = rm_ctx_current(); return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED: *(unsigned *)data = 0; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MAPPED: *(unsigned *)data = g->dev != 0; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: *(void **)data = (void *)g->base; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: *(size_t *)data = g->size; return CUDA_SUCCESS;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
}

/* Bytes each attribute writes (those remora supports). */
static size_t attribute_size(CUpointer_attribute attr)
{
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
    case CU_POINTER_ATTRIBUTE_BUFFER_ID: return 8;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
    case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
    case CU_POINTER_ATTRIBUTE_MAPPED:
    case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
    case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
    case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS:
    case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE: return 4;
    default: return 0;
    }
}

CUresult CUDAAPI RM_IMPL(cuPointerGetAttribute)(void *data, CUpointer_attribute attr, CUdeviceptr p)
{
    if (!data)
        return CUDA_ERROR_INVALID_VALUE;
    const rm_host_region_t *g = rm_host_find((void *)(uintptr_t)p, 0);
    if (g)
        return host_attribute(data, attr, g, p);
    CUresult managed = rm_managed_attribute(data, attr, p);
    if (managed != CUDA_ERROR_NOT_FOUND)
        return managed;
    size_t n = attribute_size(attr);
    if (!n)
        return CUDA_ERROR_NOT_SUPPORTED;
    rm_pointer_get_attribute_req_t in = {.attribute = attr, .ptr = p};
    rm_pointer_get_attribute_rep_t out;
    CUresult r = rm_call_pointer_get_attribute(&in, &out);
    if (r == CUDA_SUCCESS) {
        if (out.data_len < n)
            return CUDA_ERROR_INVALID_VALUE;
        memcpy(data, out.data, n);
    }
    return r;
}

CUresult CUDAAPI RM_IMPL(cuPointerGetAttributes)(unsigned int n, CUpointer_attribute *attrs, void **data,
                                                 CUdeviceptr p)
{
    if (!attrs || !data)
        return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < n; i++) {
        CUresult r = cuPointerGetAttribute(data[i], attrs[i], p);
        if (r == CUDA_ERROR_INVALID_VALUE && data[i])
            memset(data[i], 0, attribute_size(attrs[i])); /* unknown pointers read as 0, as natively */
        else if (r != CUDA_SUCCESS)
            return r;
    }
    return CUDA_SUCCESS;
}
