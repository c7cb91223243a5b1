/* Fake backend, memory: "device" memory is zeroed host memory, mapped in a
 * range of its own (page aligned, so RM_FAKE_ALIGN holds) whose address is
 * the device pointer, so a fake CUdeviceptr behaves like a unified address. Every allocation, module global and host
 * registration is a range in one sorted table; copies, memsets and kernels
 * touch device memory only inside a known range, so a bad pointer from a
 * client is CUDA_ERROR_INVALID_VALUE, never a wild write in the worker.
 * Copies and memsets run at once, the async forms included.
 */
#include "backend_fake.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"

#define FAKE_PITCH_ALIGN 512 /* cuMemAllocPitch rounds the pitch to this */
#define FAKE_NONE ((size_t)-1)

/* ---- the range table ---- */

/* Index of the first range whose base is above p. */
static size_t fake_upper(uintptr_t p)
{
    size_t lo = 0, hi = rm_fake_state.nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rm_fake_state.ranges[mid].base <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const rm_fake_range_t *rm_fake_range_find(uintptr_t p)
{
    size_t i = fake_upper(p);
    if (i == 0)
        return NULL;
    const rm_fake_range_t *r = &rm_fake_state.ranges[i - 1];
    return p - r->base < r->size ? r : NULL;
}

bool rm_fake_range_covers(uintptr_t p, size_t n)
{
    const rm_fake_range_t *r = rm_fake_range_find(p);
    return r && n <= r->size - (p - r->base);
}

/* A range meeting [p, p+n), n > 0 and p+n not wrapping; NULL if none. */
static const rm_fake_range_t *fake_range_overlap(uintptr_t p, size_t n)
{
    size_t i = fake_upper(p + n - 1);
    if (i == 0)
        return NULL;
    const rm_fake_range_t *r = &rm_fake_state.ranges[i - 1];
    return r->base + r->size > p ? r : NULL;
}

/* Index of the range starting exactly at base, or FAKE_NONE. */
static size_t fake_range_at(uintptr_t base)
{
    size_t i = fake_upper(base);
    return i > 0 && rm_fake_state.ranges[i - 1].base == base ? i - 1 : FAKE_NONE;
}

static CUresult fake_range_insert(rm_fake_range_t r)
{
    rm_fake_state_t *st = &rm_fake_state;
    if (st->nranges == st->cap_ranges) {
        size_t cap = st->cap_ranges ? 2 * st->cap_ranges : 64;
        rm_fake_range_t *ranges = realloc(st->ranges, cap * sizeof *ranges);
        if (!ranges)
            return CUDA_ERROR_OUT_OF_MEMORY;
        st->ranges = ranges;
        st->cap_ranges = cap;
    }
    size_t i = fake_upper(r.base);
    memmove(&st->ranges[i + 1], &st->ranges[i], (st->nranges - i) * sizeof r);
    r.id = st->next_id++;
    st->ranges[i] = r;
    st->nranges++;
    return CUDA_SUCCESS;
}

/* Fake device memory lives in an address range of its own, as a GPU's does,
 * away from where heaps and mappings go (also under ASan), so that the
 * client's reservations of device addresses (src/client/uva.c) do not meet
 * its own memory, and below the memory manager's arenas (mm_arena.h).
 * Addresses are handed out once, never reused. */
#define FAKE_VA_BASE ((uintptr_t)0x180000000000ull)
#define FAKE_VA_STEP ((uintptr_t)64 << 10)
#define FAKE_PAGE ((size_t)4096)

static uintptr_t fake_va_next = FAKE_VA_BASE;

static size_t fake_mapped_size(size_t size) { return (size + FAKE_PAGE - 1) & ~(FAKE_PAGE - 1); }

static void *fake_va_map(size_t size)
{
    size_t len = fake_mapped_size(size);
    for (int tries = 0; tries < 64; tries++) {
        void *want = (void *)fake_va_next;
        fake_va_next += (len + FAKE_VA_STEP - 1) & ~(FAKE_VA_STEP - 1);
        void *p = mmap(want, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == want)
            return p; /* zero-filled: real memory is undefined, zeroes keep runs reproducible */
        if (p != MAP_FAILED)
            munmap(p, len);
    }
    return NULL;
}

/* Removes range i, freeing its memory unless it is user memory (HOST). */
static void fake_range_drop(size_t i)
{
    rm_fake_state_t *st = &rm_fake_state;
    rm_fake_range_t r = st->ranges[i];
    if (r.kind == RM_FAKE_MEM_DEVICE)
        st->dev[r.ctx->device].used -= r.size;
    if (r.pool)
        rm_fake_pool_account(r.pool, r.size, false);
    if (r.kind == RM_FAKE_MEM_VMM)
        rm_fake_vmm_unmapped(&r);
    else if (r.kind != RM_FAKE_MEM_HOST)
        munmap((void *)r.base, fake_mapped_size(r.size));
    memmove(&st->ranges[i], &st->ranges[i + 1], (st->nranges - i - 1) * sizeof r);
    st->nranges--;
}

CUresult rm_fake_mem_alloc(CUcontext ctx, rm_fake_mem_kind kind, size_t size, void **out)
{
    if (size == 0 || size > ((size_t)1 << 44))
        return CUDA_ERROR_OUT_OF_MEMORY;
    void *p = fake_va_map(size);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    rm_fake_range_t r = {.base = (uintptr_t)p, .size = size, .kind = kind, .ctx = ctx};
    if (fake_range_insert(r) != CUDA_SUCCESS) {
        munmap(p, fake_mapped_size(size));
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (kind == RM_FAKE_MEM_DEVICE)
        rm_fake_state.dev[ctx->device].used += size;
    *out = p;
    return CUDA_SUCCESS;
}

void rm_fake_mem_free(void *base)
{
    size_t i = fake_range_at((uintptr_t)base);
    if (i != FAKE_NONE)
        fake_range_drop(i);
}

void rm_fake_mem_release_ctx(CUcontext ctx)
{
    for (size_t i = rm_fake_state.nranges; i-- > 0;)
        if (rm_fake_state.ranges[i].ctx == ctx)
            fake_range_drop(i);
}

/* ---- allocation ---- */

CUresult rm_fake_range_add(rm_fake_range_t r) { return fake_range_insert(r); }

rm_fake_range_t *rm_fake_range_at(uintptr_t p)
{
    const rm_fake_range_t *r = rm_fake_range_find(p);
    return (rm_fake_range_t *)r;
}

void rm_fake_range_set_pool(uintptr_t base, CUmemoryPool pool)
{
    size_t i = fake_range_at(base);
    if (i != FAKE_NONE) {
        rm_fake_state.ranges[i].pool = pool;
        rm_fake_pool_account(pool, rm_fake_state.ranges[i].size, true);
    }
}

CUresult rm_fake_alloc_device(CUcontext ctx, size_t size, CUdeviceptr *dptr)
{
    rm_fake_device_t *d = &rm_fake_state.dev[ctx->device];
    if (size > rm_fake_state.mem_total - d->used)
        return CUDA_ERROR_OUT_OF_MEMORY;
    void *p;
    CUresult rc = rm_fake_mem_alloc(ctx, RM_FAKE_MEM_DEVICE, size, &p);
    if (rc == CUDA_SUCCESS)
        *dptr = (CUdeviceptr)(uintptr_t)p;
    return rc;
}

static CUresult fake_cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && (!dptr || bytesize == 0))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_alloc_device(ctx, bytesize, dptr);
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pPitch, size_t WidthInBytes,
                                        size_t Height, unsigned int ElementSizeBytes)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    size_t pitch = (WidthInBytes + FAKE_PITCH_ALIGN - 1) & ~(size_t)(FAKE_PITCH_ALIGN - 1);
    size_t size;
    if (rc == CUDA_SUCCESS &&
        (!dptr || !pPitch || WidthInBytes == 0 || Height == 0 || pitch < WidthInBytes ||
         (ElementSizeBytes != 4 && ElementSizeBytes != 8 && ElementSizeBytes != 16)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && __builtin_mul_overflow(pitch, Height, &size))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_alloc_device(ctx, size, dptr);
    if (rc == CUDA_SUCCESS)
        *pPitch = pitch;
    return rm_fake_leave(rc);
}

/* Needs no current context: the pointer says which one (as the driver). */
CUresult rm_fake_free_device(CUdeviceptr dptr)
{
    size_t i = fake_range_at(dptr);
    if (i == FAKE_NONE || rm_fake_state.ranges[i].kind != RM_FAKE_MEM_DEVICE)
        return CUDA_ERROR_INVALID_VALUE;
    fake_range_drop(i);
    return CUDA_SUCCESS;
}

static CUresult fake_cuMemFree_v2(CUdeviceptr dptr)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && dptr != 0)
        rc = rm_fake_free_device(dptr);
    return rm_fake_leave(rc);
}

/* Either output may be NULL (the driver accepts it). */
static CUresult fake_cuMemGetInfo_v2(size_t *free_bytes, size_t *total)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && total)
        *total = rm_fake_state.mem_total;
    if (rc == CUDA_SUCCESS && free_bytes)
        *free_bytes = rm_fake_state.mem_total - rm_fake_state.dev[ctx->device].used;
    return rm_fake_leave(rc);
}

/* Both outputs are optional (cuda.h). Like the driver, this answers for
 * host registrations too, and needs no current context. */
static CUresult fake_cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
    CUresult rc = rm_fake_enter();
    const rm_fake_range_t *r = rm_fake_range_find(dptr);
    if (rc == CUDA_SUCCESS && !r)
        rc = CUDA_ERROR_NOT_FOUND;
    if (rc == CUDA_SUCCESS && pbase)
        *pbase = r->base;
    if (rc == CUDA_SUCCESS && psize)
        *psize = r->size;
    return rm_fake_leave(rc);
}

/* ---- host registration ---- */

static CUresult fake_host_register(CUcontext ctx, void *p, size_t bytesize, unsigned int Flags)
{
    const unsigned known = CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
                           CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY;
    uintptr_t base = (uintptr_t)p;
    if (!p || bytesize == 0 || (Flags & ~known) || base + bytesize < base)
        return CUDA_ERROR_INVALID_VALUE;
    if (Flags & CU_MEMHOSTREGISTER_IOMEMORY) {
        RM_DEBUG("fake backend: cuMemHostRegister of I/O memory is not emulated");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    const rm_fake_range_t *clash = fake_range_overlap(base, bytesize);
    if (clash)
        return clash->kind == RM_FAKE_MEM_HOST ? CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED
                                               : CUDA_ERROR_INVALID_VALUE;
    rm_fake_range_t r = {.base = base, .size = bytesize, .kind = RM_FAKE_MEM_HOST, .ctx = ctx};
    return fake_range_insert(r);
}

static CUresult fake_cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int Flags)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = fake_host_register(ctx, p, bytesize, Flags);
    return rm_fake_leave(rc);
}

/* p must start a registration; inside one it is CUDA_ERROR_INVALID_VALUE. */
static CUresult fake_cuMemHostUnregister(void *p)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    const rm_fake_range_t *r = rm_fake_range_find((uintptr_t)p);
    if (rc == CUDA_SUCCESS && (!p || (r && r->base != (uintptr_t)p)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && (!r || r->kind != RM_FAKE_MEM_HOST))
        rc = CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
    if (rc == CUDA_SUCCESS)
        fake_range_drop((size_t)(r - rm_fake_state.ranges));
    return rm_fake_leave(rc);
}

/* Registered memory is mapped at its own address (unified addressing). */
static CUresult fake_cuMemHostGetDevicePointer_v2(CUdeviceptr *pdptr, void *p, unsigned int Flags)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    const rm_fake_range_t *r = rm_fake_range_find((uintptr_t)p);
    if (rc == CUDA_SUCCESS && (!pdptr || Flags != 0 || !r || r->kind != RM_FAKE_MEM_HOST))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *pdptr = (CUdeviceptr)(uintptr_t)p;
    return rm_fake_leave(rc);
}

/* ---- pointer attributes ---- */

/* Booleans and the device ordinal are written as 4-byte integers, as the
 * driver writes them. */
static CUresult fake_pointer_attr(void *data, CUpointer_attribute attribute,
                                  const rm_fake_range_t *r, CUdeviceptr ptr)
{
    bool host = r->kind == RM_FAKE_MEM_HOST;
    switch (attribute) {
    case CU_POINTER_ATTRIBUTE_CONTEXT: *(CUcontext *)data = r->ctx; break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(unsigned *)data = host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER: *(CUdeviceptr *)data = ptr; break;
    case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS: *(unsigned *)data = 0; break;
    case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
        *(unsigned *)data = r->kind == RM_FAKE_MEM_DEVICE;
        break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        if (!host)
            return CUDA_ERROR_INVALID_VALUE; /* device memory has no host address */
        *(void **)data = (void *)(uintptr_t)ptr;
        break;
    case CU_POINTER_ATTRIBUTE_BUFFER_ID: *(unsigned long long *)data = r->id; break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED: *(unsigned *)data = 0; break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: *(int *)data = r->ctx->device; break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: *(CUdeviceptr *)data = r->base; break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: *(size_t *)data = r->size; break;
    case CU_POINTER_ATTRIBUTE_MAPPED: *(unsigned *)data = 1; break;
    default:
        RM_DEBUG("fake backend: pointer attribute %d is not emulated", (int)attribute);
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    return CUDA_SUCCESS;
}

/* Needs no current context: unified addressing says whose pointer it is. */
static CUresult fake_cuPointerGetAttribute(void *data, CUpointer_attribute attribute,
                                           CUdeviceptr ptr)
{
    CUresult rc = rm_fake_enter();
    const rm_fake_range_t *r = rm_fake_range_find(ptr);
    if (rc == CUDA_SUCCESS && (!data || !r))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = fake_pointer_attr(data, attribute, r, ptr);
    return rm_fake_leave(rc);
}

/* ---- copies: every form is a 2D copy ---- */

/* One side of a 2D copy, as CUDA_MEMCPY2D describes it. */
typedef struct fake_side {
    CUmemorytype type;
    uintptr_t base; /* the host pointer, device pointer or array, by type */
    size_t x, y, pitch;
} fake_side_t;

static fake_side_t fake_side(CUmemorytype type, const void *host, CUdeviceptr device, CUarray array,
                             size_t x, size_t y, size_t pitch)
{
    uintptr_t base = type == CU_MEMORYTYPE_HOST    ? (uintptr_t)host
                     : type == CU_MEMORYTYPE_ARRAY ? (uintptr_t)array
                                                   : (uintptr_t)device;
    return (fake_side_t){.type = type, .base = base, .x = x, .y = y, .pitch = pitch};
}

/* Resolves one side of a w x h copy to the address of its first byte.
 * Device memory (and unified addresses that fall in a known range) must
 * hold the whole extent; host memory is the caller's, only checked for NULL;
 * an array must be one of the fake's and hold the box, and its row length
 * becomes the side's pitch. */
static CUresult fake_copy_side(fake_side_t *s, size_t w, size_t h, uintptr_t *start)
{
    size_t offset, extent;
    if (s->type == CU_MEMORYTYPE_ARRAY && s->base) {
        const struct CUarray_st *a = (const struct CUarray_st *)s->base;
        if (!rm_fake_set_has(&rm_fake_state.arrays, a) || s->x > a->row_bytes || w > a->row_bytes - s->x ||
            s->y > a->rows || h > a->rows - s->y)
            return CUDA_ERROR_INVALID_VALUE;
        *start = (uintptr_t)(a->data + s->y * a->row_bytes + s->x);
        s->pitch = a->row_bytes; /* an array's rows are its own */
        return CUDA_SUCCESS;
    }
    if (s->type != CU_MEMORYTYPE_HOST && s->type != CU_MEMORYTYPE_DEVICE &&
        s->type != CU_MEMORYTYPE_UNIFIED) /* a NULL array included */
        return CUDA_ERROR_INVALID_VALUE;
    if (h > 1 && (s->pitch > (size_t)rm_fake_attr(CU_DEVICE_ATTRIBUTE_MAX_PITCH) || s->pitch < w ||
                  s->x > s->pitch - w))
        return CUDA_ERROR_INVALID_VALUE;
    if (s->base == 0 || __builtin_mul_overflow(s->y, s->pitch, &offset) ||
        __builtin_add_overflow(offset, s->x, &offset) ||
        __builtin_mul_overflow(h - 1, s->pitch, &extent) ||
        __builtin_add_overflow(extent, w, &extent) ||
        __builtin_add_overflow(s->base, offset, start))
        return CUDA_ERROR_INVALID_VALUE;
    bool device = s->type == CU_MEMORYTYPE_DEVICE ||
                  (s->type == CU_MEMORYTYPE_UNIFIED && rm_fake_range_find(*start));
    if (device && !rm_fake_range_covers(*start, extent))
        return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

CUresult rm_fake_copy2d(const CUDA_MEMCPY2D *c, CUstream s)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    if (rc == CUDA_SUCCESS && !c)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc != CUDA_SUCCESS || c->WidthInBytes == 0 || c->Height == 0)
        return rm_fake_leave(rc);
    fake_side_t from = fake_side(c->srcMemoryType, c->srcHost, c->srcDevice, c->srcArray,
                                 c->srcXInBytes, c->srcY, c->srcPitch);
    fake_side_t to = fake_side(c->dstMemoryType, c->dstHost, c->dstDevice, c->dstArray,
                               c->dstXInBytes, c->dstY, c->dstPitch);
    uintptr_t src, dst;
    rc = fake_copy_side(&from, c->WidthInBytes, c->Height, &src);
    if (rc == CUDA_SUCCESS)
        rc = fake_copy_side(&to, c->WidthInBytes, c->Height, &dst);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    CUgraph g = rm_fake_stream_capture(s);
    if (g)
        return rm_fake_leave(rm_fake_record_copy(g, c, NULL));
    for (size_t row = 0; row < c->Height; row++)
        memmove((void *)(dst + row * to.pitch), (const void *)(src + row * from.pitch),
                c->WidthInBytes);
    return rm_fake_leave(CUDA_SUCCESS);
}

static CUresult fake_copy1d(CUmemorytype dst_type, uintptr_t dst, CUmemorytype src_type,
                            uintptr_t src, size_t n, CUstream s)
{
    CUDA_MEMCPY2D c = {
        .srcMemoryType = src_type,
        .srcHost = (const void *)src,
        .srcDevice = src,
        .srcPitch = n,
        .dstMemoryType = dst_type,
        .dstHost = (void *)dst,
        .dstDevice = dst,
        .dstPitch = n,
        .WidthInBytes = n,
        .Height = 1,
    };
    return rm_fake_copy2d(&c, s);
}

static CUresult fake_cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n)
{
    return fake_copy1d(CU_MEMORYTYPE_DEVICE, dst, CU_MEMORYTYPE_HOST, (uintptr_t)src, n, NULL);
}

static CUresult fake_cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n)
{
    return fake_copy1d(CU_MEMORYTYPE_HOST, (uintptr_t)dst, CU_MEMORYTYPE_DEVICE, src, n, NULL);
}

static CUresult fake_cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    return fake_copy1d(CU_MEMORYTYPE_DEVICE, dst, CU_MEMORYTYPE_DEVICE, src, n, NULL);
}

static CUresult fake_cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
    return fake_copy1d(CU_MEMORYTYPE_DEVICE, dst, CU_MEMORYTYPE_HOST, (uintptr_t)src, n, s);
}

static CUresult fake_cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
    return fake_copy1d(CU_MEMORYTYPE_HOST, (uintptr_t)dst, CU_MEMORYTYPE_DEVICE, src, n, s);
}

static CUresult fake_cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    return fake_copy1d(CU_MEMORYTYPE_DEVICE, dst, CU_MEMORYTYPE_DEVICE, src, n, s);
}

static CUresult fake_cuMemcpy2D_v2(const CUDA_MEMCPY2D *pCopy) { return rm_fake_copy2d(pCopy, NULL); }

static CUresult fake_cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *pCopy, CUstream s)
{
    return rm_fake_copy2d(pCopy, s);
}

/* ---- memset: every form is a 2D memset of 1, 2 or 4-byte elements ---- */

/* Fills bytes (a multiple of esz) at p with the esz-byte pattern. */
static void fake_fill(unsigned char *p, const unsigned char *pattern, unsigned esz, size_t bytes)
{
    memcpy(p, pattern, esz);
    for (size_t done = esz; done < bytes; done *= 2)
        memcpy(p + done, p, done < bytes - done ? done : bytes - done);
}

static CUresult fake_memset_locked(CUdeviceptr dst, size_t pitch, uint32_t value, unsigned esz,
                                   size_t width, size_t height)
{
    size_t row, extent;
    if (dst % esz || __builtin_mul_overflow(width, esz, &row) ||
        (height > 1 && (pitch % esz || pitch < row)) ||
        __builtin_mul_overflow(height - 1, pitch, &extent) ||
        __builtin_add_overflow(extent, row, &extent) || !rm_fake_range_covers(dst, extent))
        return CUDA_ERROR_INVALID_VALUE;
    uint8_t v8 = (uint8_t)value;
    uint16_t v16 = (uint16_t)value;
    unsigned char pattern[4];
    memcpy(pattern, esz == 1 ? (const void *)&v8 : esz == 2 ? (const void *)&v16 : &value, esz);
    for (size_t r = 0; r < height; r++)
        fake_fill((unsigned char *)(uintptr_t)(dst + r * pitch), pattern, esz, row);
    return CUDA_SUCCESS;
}

static CUresult fake_memset(CUdeviceptr dst, size_t pitch, uint32_t value, unsigned esz,
                            size_t width, size_t height, CUstream s)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    CUgraph g = rc == CUDA_SUCCESS ? rm_fake_stream_capture(s) : NULL;
    if (g) {
        rm_fake_memset_t m = {dst, pitch, width, height, value, esz};
        rc = rm_fake_record_memset(g, &m, NULL);
    } else if (rc == CUDA_SUCCESS && width > 0 && height > 0)
        rc = fake_memset_locked(dst, pitch, value, esz, width, height);
    return rm_fake_leave(rc);
}

CUresult rm_fake_memset_run(const rm_fake_memset_t *m)
{
    return fake_memset(m->dst, m->pitch, m->value, m->esz, m->width, m->height, NULL);
}

static CUresult fake_cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n)
{
    return fake_memset(d, 0, v, 1, n, 1, NULL);
}

static CUresult fake_cuMemsetD16_v2(CUdeviceptr d, unsigned short v, size_t n)
{
    return fake_memset(d, 0, v, 2, n, 1, NULL);
}

static CUresult fake_cuMemsetD32_v2(CUdeviceptr d, unsigned int v, size_t n)
{
    return fake_memset(d, 0, v, 4, n, 1, NULL);
}

static CUresult fake_cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s)
{
    return fake_memset(d, 0, v, 1, n, 1, s);
}

static CUresult fake_cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s)
{
    return fake_memset(d, 0, v, 2, n, 1, s);
}

static CUresult fake_cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s)
{
    return fake_memset(d, 0, v, 4, n, 1, s);
}

static CUresult fake_cuMemsetD2D8_v2(CUdeviceptr d, size_t pitch, unsigned char v, size_t w,
                                     size_t h)
{
    return fake_memset(d, pitch, v, 1, w, h, NULL);
}

static CUresult fake_cuMemsetD2D16_v2(CUdeviceptr d, size_t pitch, unsigned short v, size_t w,
                                      size_t h)
{
    return fake_memset(d, pitch, v, 2, w, h, NULL);
}

static CUresult fake_cuMemsetD2D32_v2(CUdeviceptr d, size_t pitch, unsigned int v, size_t w,
                                      size_t h)
{
    return fake_memset(d, pitch, v, 4, w, h, NULL);
}

static CUresult fake_cuMemsetD2D8Async(CUdeviceptr d, size_t pitch, unsigned char v, size_t w,
                                       size_t h, CUstream s)
{
    return fake_memset(d, pitch, v, 1, w, h, s);
}

static CUresult fake_cuMemsetD2D16Async(CUdeviceptr d, size_t pitch, unsigned short v, size_t w,
                                        size_t h, CUstream s)
{
    return fake_memset(d, pitch, v, 2, w, h, s);
}

static CUresult fake_cuMemsetD2D32Async(CUdeviceptr d, size_t pitch, unsigned int v, size_t w,
                                        size_t h, CUstream s)
{
    return fake_memset(d, pitch, v, 4, w, h, s);
}

void rm_fake_fill_mem(rm_backend_t *out)
{
    out->cuMemAlloc_v2 = fake_cuMemAlloc_v2;
    out->cuMemAllocPitch_v2 = fake_cuMemAllocPitch_v2;
    out->cuMemFree_v2 = fake_cuMemFree_v2;
    out->cuMemGetInfo_v2 = fake_cuMemGetInfo_v2;
    out->cuMemGetAddressRange_v2 = fake_cuMemGetAddressRange_v2;
    out->cuMemHostRegister_v2 = fake_cuMemHostRegister_v2;
    out->cuMemHostUnregister = fake_cuMemHostUnregister;
    out->cuMemHostGetDevicePointer_v2 = fake_cuMemHostGetDevicePointer_v2;
    out->cuPointerGetAttribute = fake_cuPointerGetAttribute;
    out->cuMemcpyHtoD_v2 = fake_cuMemcpyHtoD_v2;
    out->cuMemcpyDtoH_v2 = fake_cuMemcpyDtoH_v2;
    out->cuMemcpyDtoD_v2 = fake_cuMemcpyDtoD_v2;
    out->cuMemcpyHtoDAsync_v2 = fake_cuMemcpyHtoDAsync_v2;
    out->cuMemcpyDtoHAsync_v2 = fake_cuMemcpyDtoHAsync_v2;
    out->cuMemcpyDtoDAsync_v2 = fake_cuMemcpyDtoDAsync_v2;
    out->cuMemcpy2D_v2 = fake_cuMemcpy2D_v2;
    out->cuMemcpy2DAsync_v2 = fake_cuMemcpy2DAsync_v2;
    out->cuMemsetD8_v2 = fake_cuMemsetD8_v2;
    out->cuMemsetD16_v2 = fake_cuMemsetD16_v2;
    out->cuMemsetD32_v2 = fake_cuMemsetD32_v2;
    out->cuMemsetD8Async = fake_cuMemsetD8Async;
    out->cuMemsetD16Async = fake_cuMemsetD16Async;
    out->cuMemsetD32Async = fake_cuMemsetD32Async;
    out->cuMemsetD2D8_v2 = fake_cuMemsetD2D8_v2;
    out->cuMemsetD2D16_v2 = fake_cuMemsetD2D16_v2;
    out->cuMemsetD2D32_v2 = fake_cuMemsetD2D32_v2;
    out->cuMemsetD2D8Async = fake_cuMemsetD2D8Async;
    out->cuMemsetD2D16Async = fake_cuMemsetD2D16Async;
    out->cuMemsetD2D32Async = fake_cuMemsetD2D32Async;
}
