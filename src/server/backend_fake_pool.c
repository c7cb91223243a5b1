/* Fake backend, stream-ordered allocation and memory pools. Like every fake
 * operation an async allocation or free happens at once; a pool is its
 * attributes and the bytes taken from it. Each device has a default pool,
 * made on first use, which is also its current pool until another is set. */
#include "backend_fake.h"

#include <stdlib.h>

struct CUmemPoolHandle_st {
    int device;
    bool is_default;
    int reuse[3];        /* the three REUSE_* attributes */
    cuuint64_t threshold; /* RELEASE_THRESHOLD */
    cuuint64_t used, used_high;
};

void rm_fake_pool_account(CUmemoryPool pool, size_t size, bool taken)
{
    pool->used = taken ? pool->used + size : pool->used - size;
    if (pool->used > pool->used_high)
        pool->used_high = pool->used;
}

static CUmemoryPool fake_pool_new(int device, bool is_default)
{
    CUmemoryPool p = calloc(1, sizeof *p);
    if (p && !rm_fake_set_add(&rm_fake_state.pools, p)) {
        free(p);
        return NULL;
    }
    if (p) {
        p->device = device;
        p->is_default = is_default;
        p->reuse[0] = p->reuse[1] = p->reuse[2] = 1; /* the driver's defaults */
    }
    return p;
}

/* The device's default pool (lock held), made on first use. */
static CUmemoryPool fake_default_pool(int device)
{
    rm_fake_device_t *d = &rm_fake_state.dev[device];
    if (!d->default_pool)
        d->default_pool = fake_pool_new(device, true);
    return d->default_pool;
}

static CUmemoryPool fake_current_pool(int device)
{
    rm_fake_device_t *d = &rm_fake_state.dev[device];
    return d->current_pool ? d->current_pool : fake_default_pool(device);
}

static CUresult fake_enter_pool_dev(CUdevice dev, const void *out)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (dev < 0 || dev >= rm_fake_state.ndev))
        rc = CUDA_ERROR_INVALID_DEVICE;
    if (rc == CUDA_SUCCESS && !out)
        rc = CUDA_ERROR_INVALID_VALUE;
    return rc;
}

static CUresult fake_cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice dev)
{
    CUresult rc = fake_enter_pool_dev(dev, pool);
    if (rc == CUDA_SUCCESS && !(*pool = fake_default_pool(dev)))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    return rm_fake_leave(rc);
}

static CUresult fake_cuDeviceGetMemPool(CUmemoryPool *pool, CUdevice dev)
{
    CUresult rc = fake_enter_pool_dev(dev, pool);
    if (rc == CUDA_SUCCESS && !(*pool = fake_current_pool(dev)))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    return rm_fake_leave(rc);
}

static CUresult fake_cuDeviceSetMemPool(CUdevice dev, CUmemoryPool pool)
{
    CUresult rc = fake_enter_pool_dev(dev, pool);
    if (rc == CUDA_SUCCESS && (!rm_fake_set_has(&rm_fake_state.pools, pool) || pool->device != dev))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rm_fake_state.dev[dev].current_pool = pool;
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemPoolCreate(CUmemoryPool *pool, const CUmemPoolProps *props)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS &&
        (!pool || !props || props->allocType != CU_MEM_ALLOCATION_TYPE_PINNED ||
         props->location.type != CU_MEM_LOCATION_TYPE_DEVICE || props->location.id < 0 ||
         props->location.id >= rm_fake_state.ndev))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && !(*pool = fake_pool_new(props->location.id, false)))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    return rm_fake_leave(rc);
}

/* A pool still in use is destroyed once its allocations are freed: here,
 * its allocations just forget it. */
static CUresult fake_cuMemPoolDestroy(CUmemoryPool pool)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!rm_fake_set_has(&rm_fake_state.pools, pool) || pool->is_default))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        for (size_t i = 0; i < rm_fake_state.nranges; i++)
            if (rm_fake_state.ranges[i].pool == pool)
                rm_fake_state.ranges[i].pool = NULL;
        rm_fake_device_t *d = &rm_fake_state.dev[pool->device];
        if (d->current_pool == pool)
            d->current_pool = NULL;
        rm_fake_set_del(&rm_fake_state.pools, pool);
        free(pool);
    }
    return rm_fake_leave(rc);
}

static CUresult fake_enter_pool(CUmemoryPool pool, const void *value)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(&rm_fake_state.pools, pool))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS && !value)
        rc = CUDA_ERROR_INVALID_VALUE;
    return rc;
}

static CUresult fake_cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    CUresult rc = fake_enter_pool(pool, value);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    switch (attr) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
        pool->reuse[attr - CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES] = *(int *)value != 0;
        break;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD: pool->threshold = *(cuuint64_t *)value; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
        if (*(cuuint64_t *)value != 0)
            rc = CUDA_ERROR_INVALID_VALUE; /* may only be reset to 0 */
        else
            pool->used_high = pool->used;
        break;
    default: rc = CUDA_ERROR_INVALID_VALUE;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemPoolGetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
    CUresult rc = fake_enter_pool(pool, value);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    switch (attr) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
        *(int *)value = pool->reuse[attr - CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES];
        break;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD: *(cuuint64_t *)value = pool->threshold; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT: /* the fake reserves what is used */
    case CU_MEMPOOL_ATTR_USED_MEM_CURRENT: *(cuuint64_t *)value = pool->used; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH: *(cuuint64_t *)value = pool->used_high; break;
    default: rc = CUDA_ERROR_INVALID_VALUE;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemPoolTrimTo(CUmemoryPool pool, size_t min_bytes)
{
    return rm_fake_leave(fake_enter_pool(pool, &min_bytes)); /* nothing is kept beyond use */
}

static CUresult fake_cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytes, CUmemoryPool pool, CUstream s)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    if (rc == CUDA_SUCCESS && (!dptr || bytes == 0 || !rm_fake_set_has(&rm_fake_state.pools, pool) ||
                               pool->device != ctx->device))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_alloc_device(ctx, bytes, dptr);
    if (rc == CUDA_SUCCESS)
        rm_fake_range_set_pool(*dptr, pool);
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemAllocAsync(CUdeviceptr *dptr, size_t bytes, CUstream s)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    CUmemoryPool pool = rc == CUDA_SUCCESS ? fake_current_pool(ctx->device) : NULL;
    rm_fake_leave(rc);
    if (rc == CUDA_SUCCESS && !pool)
        return CUDA_ERROR_OUT_OF_MEMORY;
    return rc == CUDA_SUCCESS ? fake_cuMemAllocFromPoolAsync(dptr, bytes, pool, s) : rc;
}

static CUresult fake_cuMemFreeAsync(CUdeviceptr dptr, CUstream s)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_free_device(dptr);
    return rm_fake_leave(rc);
}

void rm_fake_fill_pool(rm_backend_t *out)
{
    out->cuDeviceGetDefaultMemPool = fake_cuDeviceGetDefaultMemPool;
    out->cuDeviceGetMemPool = fake_cuDeviceGetMemPool;
    out->cuDeviceSetMemPool = fake_cuDeviceSetMemPool;
    out->cuMemPoolCreate = fake_cuMemPoolCreate;
    out->cuMemPoolDestroy = fake_cuMemPoolDestroy;
    out->cuMemPoolSetAttribute = fake_cuMemPoolSetAttribute;
    out->cuMemPoolGetAttribute = fake_cuMemPoolGetAttribute;
    out->cuMemPoolTrimTo = fake_cuMemPoolTrimTo;
    out->cuMemAllocAsync = fake_cuMemAllocAsync;
    out->cuMemAllocFromPoolAsync = fake_cuMemAllocFromPoolAsync;
    out->cuMemFreeAsync = fake_cuMemFreeAsync;
}
