/* Handlers: device memory, pointer attributes and the shared segments that
 * carry pinned host memory over the shared-memory transport. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "rm_handlers.h"
#include "wire_types.h"

/* A new allocation (r: the answer of the driver, or of the memory manager
 * when mm) becomes the session's: its range and its charge t (both go with
 * its context). Freed when it cannot be both; t's bytes go back when there
 * is none. */
static CUresult track(rm_sv_t *sv, CUresult r, CUdeviceptr p, uint64_t size, const rm_sv_charge_t *t, int mm)
{
    if (rm_sv_charge_failed(sv, t, r) != CUDA_SUCCESS)
        return r;
    if (rm_ranges_add(&sv->s->ranges, p, size, sv->ctx) == 0) {
        if (rm_sv_charge_keep(sv, t, p, sv->ctx) == 0)
            return CUDA_SUCCESS;
        rm_ranges_del(&sv->s->ranges, p, NULL);
    } else {
        rm_sv_charge_failed(sv, t, CUDA_ERROR_OUT_OF_MEMORY);
    }
    if (mm)
        rm_mm_free(&sv->s->mm, p);
    else
        sv->b->cuMemFree_v2(p);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult rm_sv_mem_alloc(rm_sv_t *sv, const rm_mem_alloc_req_t *in, rm_mem_alloc_rep_t *out)
{
    RM_SV_NEED(sv, cuMemAlloc_v2);
    CUdeviceptr p = 0;
    rm_sv_charge_t t;
    int dev = rm_sv_current_device(sv);
    CUresult r = rm_sv_charge_take(sv, dev, in->bytes, "cuMemAlloc", &t);
    if (r == CUDA_SUCCESS)
        r = rm_mm_alloc(&sv->s->mm, dev, sv->ctx, in->bytes, &p);
    if ((r = track(sv, r, p, in->bytes, &t, 1)) == CUDA_SUCCESS)
        out->dptr = p;
    return r;
}

/* A pitched allocation is a plain one of pitch times height bytes, the
 * pitch the width rounded up to 512 bytes, as the driver rounds it. */
#define PITCH_ALIGN 512
CUresult rm_sv_mem_alloc_pitch(rm_sv_t *sv, const rm_mem_alloc_pitch_req_t *in, rm_mem_alloc_pitch_rep_t *out)
{
    RM_SV_NEED(sv, cuMemAlloc_v2);
    uint64_t pitch = (in->width + PITCH_ALIGN - 1) / PITCH_ALIGN * PITCH_ALIGN, size;
    if (in->width == 0 || in->height == 0 || pitch < in->width ||
        (in->elem_size != 4 && in->elem_size != 8 && in->elem_size != 16))
        return CUDA_ERROR_INVALID_VALUE;
    if (__builtin_mul_overflow(pitch, (uint64_t)in->height, &size))
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUdeviceptr p = 0;
    rm_sv_charge_t t;
    int dev = rm_sv_current_device(sv);
    CUresult r = rm_sv_charge_take(sv, dev, size, "cuMemAllocPitch", &t);
    if (r == CUDA_SUCCESS)
        r = rm_mm_alloc(&sv->s->mm, dev, sv->ctx, size, &p);
    if ((r = track(sv, r, p, size, &t, 1)) == CUDA_SUCCESS) {
        out->dptr = p;
        out->pitch = pitch;
    }
    return r;
}

CUresult rm_sv_mem_free(rm_sv_t *sv, const rm_mem_free_req_t *in, rm_mem_free_rep_t *out)
{
    RM_SV_NEED(sv, cuMemFree_v2);
    if (in->dptr == 0)
        return CUDA_SUCCESS;
    uint64_t size;
    if (rm_ranges_del(&sv->s->ranges, in->dptr, &size) != 0) {
        RM_WARN_LIMITED("session %llu: cuMemFree of %#llx, which is not an allocation of this session",
                (unsigned long long)sv->s->id, (unsigned long long)in->dptr);
        return CUDA_ERROR_INVALID_VALUE;
    }
    rm_quota_release(&sv->s->quota, in->dptr);
    return rm_mm_free(&sv->s->mm, in->dptr);
}

/* Stream-ordered: the range is the session's, and charged to the stream's
 * GPU (a pool's memory included), from the call on (as the pointer is the
 * program's), until its free is queued. pool 0: the device's current pool. */
CUresult rm_sv_mem_alloc_async(rm_sv_t *sv, const rm_mem_alloc_async_req_t *in, rm_mem_alloc_async_rep_t *out)
{
    RM_SV_NEED(sv, cuStreamGetDevice);
    CUstream s;
    CUmemoryPool pool = NULL;
    if (rm_sv_handle_get(sv, RM_H_STREAM, in->stream, (void **)&s) != 0 ||
        (in->pool && rm_sv_handle_get(sv, RM_H_POOL, in->pool, (void **)&pool) != 0))
        return CUDA_ERROR_INVALID_HANDLE;
    if (pool) {
        RM_SV_NEED(sv, cuMemAllocFromPoolAsync);
    } else {
        RM_SV_NEED(sv, cuMemAllocAsync);
    }
    CUdevice dev = -1;
    CUdeviceptr p = 0;
    rm_sv_charge_t t;
    CUresult r = sv->b->cuStreamGetDevice(s, &dev);
    if (r == CUDA_SUCCESS)
        r = rm_sv_charge_take(sv, dev, in->bytes, pool ? "cuMemAllocFromPoolAsync" : "cuMemAllocAsync", &t);
    if (r != CUDA_SUCCESS)
        return r;
    r = pool ? sv->b->cuMemAllocFromPoolAsync(&p, in->bytes, pool, s) : sv->b->cuMemAllocAsync(&p, in->bytes, s);
    if ((r = track(sv, r, p, in->bytes, &t, 0)) == CUDA_SUCCESS)
        out->dptr = p;
    return r;
}

CUresult rm_sv_mem_free_async(rm_sv_t *sv, const rm_mem_free_async_req_t *in, rm_mem_free_async_rep_t *out)
{
    RM_SV_NEED(sv, cuMemFreeAsync);
    CUstream s;
    if (rm_sv_handle_get(sv, RM_H_STREAM, in->stream, (void **)&s) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    rm_range_t m;
    if (rm_ranges_find(&sv->s->ranges, in->dptr, &m) != 0 || m.base != in->dptr) {
        RM_WARN_LIMITED("session %llu: cuMemFreeAsync of %#llx, which is not an allocation of this session",
                (unsigned long long)sv->s->id, (unsigned long long)in->dptr);
        return CUDA_ERROR_INVALID_VALUE;
    }
    CUresult r = sv->b->cuMemFreeAsync(in->dptr, s);
    if (r == CUDA_SUCCESS) { /* un-charged now, not when the stream gets there */
        rm_ranges_del(&sv->s->ranges, in->dptr, NULL);
        rm_quota_release(&sv->s->quota, in->dptr);
    }
    return r;
}

/* Pools: the properties travel as the struct; its Windows-only pointer must
 * be 0 on Linux and is not taken from the wire. */
CUresult rm_sv_mem_pool_create(rm_sv_t *sv, const rm_mem_pool_create_req_t *in, rm_mem_pool_create_rep_t *out)
{
    RM_SV_NEED(sv, cuMemPoolCreate);
    CUmemPoolProps props;
    if (in->props_len != sizeof props)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&props, in->props, sizeof props);
    if (props.win32SecurityAttributes)
        return CUDA_ERROR_INVALID_VALUE;
    CUmemoryPool pool;
    CUresult r = sv->b->cuMemPoolCreate(&pool, &props);
    if (r != CUDA_SUCCESS)
        return r;
    out->pool = rm_sv_handle_put(sv, RM_H_POOL, pool);
    return out->pool ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult rm_sv_mem_pool_set_attribute(rm_sv_t *sv, const rm_mem_pool_set_attribute_req_t *in,
                                      rm_mem_pool_set_attribute_rep_t *out)
{
    RM_SV_NEED(sv, cuMemPoolSetAttribute);
    CUmemoryPool pool;
    if (rm_sv_handle_get(sv, RM_H_POOL, in->pool, (void **)&pool) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    int as_int = (int)in->value;
    cuuint64_t as_u64 = in->value;
    return sv->b->cuMemPoolSetAttribute(pool, (CUmemPool_attribute)in->attr,
                                        rm_pool_attr_is_int(in->attr) ? (void *)&as_int : (void *)&as_u64);
}

CUresult rm_sv_mem_pool_get_attribute(rm_sv_t *sv, const rm_mem_pool_get_attribute_req_t *in,
                                      rm_mem_pool_get_attribute_rep_t *out)
{
    RM_SV_NEED(sv, cuMemPoolGetAttribute);
    CUmemoryPool pool;
    if (rm_sv_handle_get(sv, RM_H_POOL, in->pool, (void **)&pool) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    int as_int = 0;
    cuuint64_t as_u64 = 0;
    int is_int = rm_pool_attr_is_int(in->attr);
    CUresult r = sv->b->cuMemPoolGetAttribute(pool, (CUmemPool_attribute)in->attr,
                                              is_int ? (void *)&as_int : (void *)&as_u64);
    out->value = is_int ? (uint64_t)as_int : as_u64;
    return r;
}

/* The memory manager's allocations are what the program allocated, not
 * the granules the driver mapped. */
CUresult rm_sv_mem_get_address_range(rm_sv_t *sv, const rm_mem_get_address_range_req_t *in,
                                     rm_mem_get_address_range_rep_t *out)
{
    rm_mm_info_t a;
    if (rm_mm_find(&sv->s->mm, in->dptr, &a) == 0) {
        out->base = a.base;
        out->size = a.size;
        return CUDA_SUCCESS;
    }
    RM_SV_NEED(sv, cuMemGetAddressRange_v2);
    CUdeviceptr base = 0;
    size_t size = 0;
    CUresult r = sv->b->cuMemGetAddressRange_v2(&base, &size, in->dptr);
    out->base = base;
    out->size = size;
    return r;
}

/* What the memory manager answers itself for a pointer into one of its
 * mapped allocations (1 if it did). */
static int mm_attribute(rm_sv_t *sv, int attribute, uint64_t p, uint64_t *v)
{
    rm_mm_info_t a;
    if (rm_mm_find(&sv->s->mm, p, &a) != 0 || !a.vmm)
        return 0;
    switch (attribute) {
    case CU_POINTER_ATTRIBUTE_CONTEXT: v[0] = a.owner; return 1;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: v[0] = a.base; return 1;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: v[0] = a.size; return 1;
    case CU_POINTER_ATTRIBUTE_BUFFER_ID: v[0] = a.id; return 1;
    case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE: v[0] = 0; return 1;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: v[0] = (uint32_t)a.dev; return 1;
    default: return 0;
    }
}

CUresult rm_sv_pointer_get_attribute(rm_sv_t *sv, const rm_pointer_get_attribute_req_t *in,
                                     rm_pointer_get_attribute_rep_t *out)
{
    RM_SV_NEED(sv, cuPointerGetAttribute);
    uint64_t *v = rm_sv_scratch(sv, 64);
    if (!v)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memset(v, 0, 64);
    out->data = v;
    out->data_len = 64;
    if (mm_attribute(sv, in->attribute, in->ptr, v))
        return CUDA_SUCCESS;
    CUresult r = sv->b->cuPointerGetAttribute(v, (CUpointer_attribute)in->attribute, in->ptr);
    if (r != CUDA_SUCCESS)
        return r;
    if (in->attribute == CU_POINTER_ATTRIBUTE_CONTEXT) /* a handle: translate */
        v[0] = v[0] ? rm_sv_handle_put(sv, RM_H_CTX, (void *)(uintptr_t)v[0]) : 0;
    return CUDA_SUCCESS;
}

/* At the client's address when it is free here (the driver then hands out
 * device pointers equal to the client's host pointers), else anywhere:
 * copies through the segment work either way, mapped pointers only then. */
static void *map_segment(int fd, uint64_t size, uint64_t addr)
{
    void *want = (void *)(uintptr_t)addr;
    void *p = mmap(want, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (p != MAP_FAILED && p != want) { /* a kernel without MAP_FIXED_NOREPLACE */
        munmap(p, size);
        p = MAP_FAILED;
    }
    if (p == MAP_FAILED) {
        RM_DEBUG("shared segment: address %#llx is taken in the server; mapped pinned memory "
                 "will have device pointers that differ from its host pointers",
                 (unsigned long long)addr);
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }
    return p;
}

static int free_segment_slot(rm_session_t *s)
{
    for (int i = 0; i < RM_SEG_MAX; i++)
        if (!s->segs[i].host)
            return i;
    return -1;
}

static void register_segment(rm_sv_t *sv, rm_segment_t *g)
{
    CUdeviceptr dev = 0;
    if (!sv->b->cuMemHostRegister_v2 || !sv->b->cuMemHostGetDevicePointer_v2 ||
        sv->b->cuMemHostRegister_v2(g->host, g->size,
                                     CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP) != CUDA_SUCCESS) {
        RM_WARN("session %llu: could not register a %llu-byte shared segment: copies from it are staged",
                (unsigned long long)sv->s->id, (unsigned long long)g->size);
        return;
    }
    g->registered = 1;
    if (sv->b->cuMemHostGetDevicePointer_v2(&dev, g->host, 0) == CUDA_SUCCESS &&
        rm_ranges_add(&sv->s->ranges, dev, g->size, 0) == 0) {
        g->dev = dev;
        rm_counters_add(&sv->s->seg_bytes, g->size);
    }
}

uint64_t rm_default_pinned_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 2 : (uint64_t)1 << 32;
}

CUresult rm_sv_segment_add(rm_sv_t *sv, const rm_segment_add_req_t *in, rm_segment_add_rep_t *out)
{
    int fd = rm_sv_receive_fd(sv); /* the segment's memfd follows the request */
    if (fd < 0) {
        RM_WARN("session %llu: segment_add without a memfd (only over shm://)", (unsigned long long)sv->s->id);
        return CUDA_ERROR_INVALID_VALUE;
    }
    struct stat st;
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    void *host = MAP_FAILED;
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        RM_WARN("session %llu: segment memfd is not sealed against shrinking: refused",
                (unsigned long long)sv->s->id);
        goto close_fd;
    }
    if (fstat(fd, &st) != 0 || in->size == 0 || (uint64_t)st.st_size < in->size ||
        in->size >= (1ull << RM_SEG_SHIFT))
        goto close_fd;
    host = map_segment(fd, in->size, in->addr);
    if (host == MAP_FAILED)
        goto close_fd;
    pthread_mutex_lock(&sv->s->seg_lock);
    int i = free_segment_slot(sv->s);
    if (i >= 0 && in->size > sv->s->seg_limit - sv->s->seg_total) { /* page-locked on the real backend */
        RM_WARN("session %llu: a %llu-byte shared segment is refused: the session's would exceed %llu bytes "
                "(remora-server --pinned-limit)",
                (unsigned long long)sv->s->id, (unsigned long long)in->size, (unsigned long long)sv->s->seg_limit);
        i = -1;
    }
    if (i >= 0) {
        sv->s->seg_total += in->size;
        rm_segment_t *g = &sv->s->segs[i];
        *g = (rm_segment_t){.host = host, .size = in->size};
        register_segment(sv, g);
        out->base = (uint64_t)i << RM_SEG_SHIFT;
        out->device_base = g->dev;
        r = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&sv->s->seg_lock);
    if (r != CUDA_SUCCESS) {
        munmap(host, in->size);
        r = CUDA_ERROR_OUT_OF_MEMORY;
    }
close_fd:
    close(fd);
    return r;
}
