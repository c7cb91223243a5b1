/* The memory manager (mm.h): chunks mapped with the virtual memory API,
 * small allocations sub-allocated in them by a bitmap of 512-byte blocks. */
#include "mm.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

struct rm_mm_chunk {
    uint64_t base, size;
    CUmemGenericAllocationHandle h;
    uint64_t owner;
    int dev;
    int small;      /* sub-allocated; else one allocation fills it */
    uint32_t live;  /* allocations in it */
    uint64_t *used; /* small: one bit per block */
    rm_mm_chunk_t *next;
};

typedef struct rm_mm_alloc {
    rm_mm_info_t info;
    rm_mm_chunk_t *chunk; /* NULL: plain cuMemAlloc */
    int dirty;            /* mm.h: dirty tracking */
} rm_mm_alloc_t;

#define BITS 64

int rm_mm_mode_parse(const char *s)
{
    return !strcmp(s, "vmm") ? RM_MM_VMM : !strcmp(s, "plain") ? RM_MM_PLAIN : -1;
}

void rm_mm_init(rm_mm_t *m, const rm_backend_t *b, rm_mm_mode mode)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    rm_ranges_init(&m->allocs);
    m->b = b;
    m->mode = mode;
    m->next_id = 1ull << 40; /* apart from the driver's own buffer ids */
    m->va_base = RM_MM_ARENA_BASE;
    for (int d = 0; d < RM_MM_DEVICES; d++)
        rm_mm_arena_init(&m->arena[d]);
}

static int vmm_capable(const rm_backend_t *b)
{
    return b->cuMemGetAllocationGranularity && b->cuMemAddressReserve && b->cuMemAddressFree && b->cuMemCreate &&
           b->cuMemRelease && b->cuMemMap && b->cuMemUnmap && b->cuMemSetAccess;
}

static CUmemAllocationProp prop_of(int dev)
{
    CUmemAllocationProp p;
    memset(&p, 0, sizeof p);
    p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    p.location.id = dev;
    return p;
}

/* The device's granule (lock held), 0 if it has none. */
static uint64_t granule_of(rm_mm_t *m, int dev)
{
    if (!m->granule[dev]) {
        CUmemAllocationProp p = prop_of(dev);
        size_t g = 0;
        if (m->b->cuMemGetAllocationGranularity(&g, &p, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED) == CUDA_SUCCESS)
            m->granule[dev] = g;
    }
    return m->granule[dev];
}

/* Reserve (in the device's arena), create, map and open a chunk of size
 * bytes on dev, at want when it is not 0 (exactly there, or
 * CUDA_ERROR_INVALID_VALUE). */
static CUresult map_chunk(rm_mm_t *m, int dev, uint64_t size, uint64_t want, rm_mm_chunk_t *c)
{
    const rm_backend_t *b = m->b;
    CUmemAllocationProp p = prop_of(dev);
    CUdeviceptr va = 0;
    CUresult r = rm_mm_arena_take(&m->arena[dev], b, m->va_base, dev, m->granule[dev], size, want, &va);
    if (r != CUDA_SUCCESS)
        return r;
    if ((r = b->cuMemCreate(&c->h, size, &p, 0)) != CUDA_SUCCESS)
        goto free_address;
    if ((r = b->cuMemMap(va, size, 0, c->h, 0)) != CUDA_SUCCESS)
        goto release;
    CUmemAccessDesc acc = {.location = p.location, .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
    if ((r = b->cuMemSetAccess(va, size, &acc, 1)) != CUDA_SUCCESS)
        goto unmap;
    c->base = va, c->size = size, c->dev = dev;
    return CUDA_SUCCESS;
unmap:
    b->cuMemUnmap(va, size);
release:
    b->cuMemRelease(c->h);
free_address:
    rm_mm_arena_give(&m->arena[dev], b, va, size);
    return r;
}

static void unmap_chunk(rm_mm_t *m, rm_mm_chunk_t *c)
{
    m->b->cuMemUnmap(c->base, c->size);
    m->b->cuMemRelease(c->h);
    rm_mm_arena_give(&m->arena[c->dev], m->b, c->base, c->size);
}

static void free_chunk(rm_mm_t *m, rm_mm_chunk_t *c)
{
    unmap_chunk(m, c);
    free(c->used);
    free(c);
}

/* Give back every spare (lock held); whether there was one. */
static int drop_spares(rm_mm_t *m)
{
    int had = m->spares != NULL;
    while (m->spares) {
        rm_mm_chunk_t *c = m->spares;
        m->spares = c->next;
        free_chunk(m, c);
    }
    m->spare_bytes = 0;
    m->nspares = 0;
    return had;
}

/* Keep c (large, empty, out of the chunk list) as a spare, the oldest
 * spares given back to stay within the bounds (lock held). */
static void keep_spare(rm_mm_t *m, rm_mm_chunk_t *c)
{
    if (c->size > RM_MM_SPARE_BYTES) {
        free_chunk(m, c);
        return;
    }
    c->next = m->spares;
    m->spares = c;
    m->spare_bytes += c->size;
    m->nspares++;
    while (m->nspares > RM_MM_SPARES || m->spare_bytes > RM_MM_SPARE_BYTES) {
        rm_mm_chunk_t **p = &m->spares;
        while ((*p)->next)
            p = &(*p)->next;
        rm_mm_chunk_t *old = *p;
        *p = NULL;
        m->spare_bytes -= old->size;
        m->nspares--;
        free_chunk(m, old);
    }
}

/* A spare of exactly size bytes on dev, taken out (lock held), or NULL. */
static rm_mm_chunk_t *take_spare(rm_mm_t *m, int dev, uint64_t size)
{
    for (rm_mm_chunk_t **p = &m->spares; *p; p = &(*p)->next)
        if ((*p)->dev == dev && (*p)->size == size) {
            rm_mm_chunk_t *c = *p;
            *p = c->next;
            m->spare_bytes -= c->size;
            m->nspares--;
            return c;
        }
    return NULL;
}

/* A new chunk, linked in (lock held); NULL with *r set on failure. */
static rm_mm_chunk_t *new_chunk(rm_mm_t *m, int dev, uint64_t owner, uint64_t size, int small, uint64_t want,
                                CUresult *r)
{
    rm_mm_chunk_t *c = calloc(1, sizeof *c);
    uint64_t words = small ? (size / RM_MM_ALIGN + BITS - 1) / BITS : 0;
    if (!c || (small && !(c->used = calloc(words, sizeof *c->used)))) {
        free(c);
        *r = CUDA_ERROR_OUT_OF_MEMORY;
        return NULL;
    }
    *r = map_chunk(m, dev, size, want, c);
    if (*r == CUDA_ERROR_OUT_OF_MEMORY && drop_spares(m)) /* the spares' memory, for this */
        *r = map_chunk(m, dev, size, want, c);
    if (*r != CUDA_SUCCESS) {
        free(c->used);
        free(c);
        return NULL;
    }
    c->owner = owner, c->small = small;
    c->next = m->chunks;
    m->chunks = c;
    return c;
}

static void unlink_chunk(rm_mm_t *m, rm_mm_chunk_t *c)
{
    for (rm_mm_chunk_t **p = &m->chunks; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
}

static void drop_chunk(rm_mm_t *m, rm_mm_chunk_t *c)
{
    unlink_chunk(m, c);
    free_chunk(m, c);
}

static int bit(const rm_mm_chunk_t *c, uint64_t i) { return (int)(c->used[i / BITS] >> (i % BITS) & 1); }

static void set_bits(rm_mm_chunk_t *c, uint64_t first, uint64_t n, int on)
{
    for (uint64_t i = first; i < first + n; i++) {
        uint64_t mask = 1ull << (i % BITS);
        c->used[i / BITS] = on ? c->used[i / BITS] | mask : c->used[i / BITS] & ~mask;
    }
}

/* First fit of n free blocks in c; the first block's index, or -1. */
static int64_t fit(const rm_mm_chunk_t *c, uint64_t n)
{
    uint64_t blocks = c->size / RM_MM_ALIGN, run = 0;
    for (uint64_t i = 0; i < blocks; i++) {
        if (run == 0 && i % BITS == 0 && c->used[i / BITS] == ~0ull) {
            i += BITS - 1; /* a full word */
            continue;
        }
        run = bit(c, i) ? 0 : run + 1;
        if (run == n)
            return (int64_t)(i + 1 - n);
    }
    return -1;
}

static uint64_t blocks_of(uint64_t size) { return (size + RM_MM_ALIGN - 1) / RM_MM_ALIGN; }

/* Record an allocation at base in c (lock held). */
static CUresult record(rm_mm_t *m, rm_mm_chunk_t *c, int dev, uint64_t owner, uint64_t base, uint64_t size)
{
    rm_mm_alloc_t *a = malloc(sizeof *a);
    if (!a)
        return CUDA_ERROR_OUT_OF_MEMORY;
    a->info = (rm_mm_info_t){.base = base, .size = size, .owner = owner, .dev = dev, .vmm = c != NULL};
    a->info.id = c ? m->next_id++ : 0;
    a->chunk = c;
    a->dirty = 1; /* a new allocation is sent whole */
    if (rm_ranges_add(&m->allocs, base, size, (uintptr_t)a) != 0) {
        free(a);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (c) {
        c->live++;
        if (c->small)
            set_bits(c, (base - c->base) / RM_MM_ALIGN, blocks_of(size), 1);
    }
    return CUDA_SUCCESS;
}

static CUresult alloc_small(rm_mm_t *m, int dev, uint64_t owner, uint64_t size, uint64_t g, CUdeviceptr *out)
{
    uint64_t n = blocks_of(size);
    int64_t at = -1;
    rm_mm_chunk_t *c;
    for (c = m->chunks; c; c = c->next)
        if (c->small && c->dev == dev && c->owner == owner && (at = fit(c, n)) >= 0)
            break;
    CUresult r = CUDA_SUCCESS;
    if (!c && (c = new_chunk(m, dev, owner, g, 1, 0, &r)))
        at = 0;
    if (!c)
        return r;
    uint64_t base = c->base + (uint64_t)at * RM_MM_ALIGN;
    if ((r = record(m, c, dev, owner, base, size)) == CUDA_SUCCESS)
        *out = base;
    else if (c->live == 0)
        drop_chunk(m, c);
    return r;
}

static CUresult alloc_large(rm_mm_t *m, int dev, uint64_t owner, uint64_t size, uint64_t g, CUdeviceptr *out)
{
    if (size > UINT64_MAX - g)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r;
    uint64_t rounded = (size + g - 1) / g * g;
    rm_mm_chunk_t *c = take_spare(m, dev, rounded);
    if (c) {
        c->owner = owner;
        c->next = m->chunks;
        m->chunks = c;
    } else if (!(c = new_chunk(m, dev, owner, rounded, 0, 0, &r))) {
        return r;
    }
    if ((r = record(m, c, dev, owner, c->base, size)) == CUDA_SUCCESS)
        *out = c->base;
    else
        drop_chunk(m, c);
    return r;
}

static CUresult alloc_plain(rm_mm_t *m, int dev, uint64_t owner, uint64_t size, CUdeviceptr *out)
{
    if (!m->b->cuMemAlloc_v2)
        return CUDA_ERROR_NOT_SUPPORTED;
    CUdeviceptr p = 0;
    CUresult r = m->b->cuMemAlloc_v2(&p, size);
    if (r == CUDA_ERROR_OUT_OF_MEMORY && drop_spares(m))
        r = m->b->cuMemAlloc_v2(&p, size);
    if (r == CUDA_SUCCESS && (r = record(m, NULL, dev, owner, p, size)) != CUDA_SUCCESS)
        m->b->cuMemFree_v2(p);
    if (r == CUDA_SUCCESS)
        *out = p;
    return r;
}

CUresult rm_mm_alloc(rm_mm_t *m, int dev, uint64_t owner, uint64_t size, CUdeviceptr *out)
{
    pthread_mutex_lock(&m->lock);
    CUresult r = CUDA_ERROR_NOT_SUPPORTED;
    uint64_t g = 0;
    int vmm = m->mode == RM_MM_VMM && size && dev >= 0 && dev < RM_MM_DEVICES && vmm_capable(m->b) &&
              (g = granule_of(m, dev)) != 0;
    if (vmm)
        r = size <= g / 2 ? alloc_small(m, dev, owner, size, g, out) : alloc_large(m, dev, owner, size, g, out);
    if (r != CUDA_SUCCESS && r != CUDA_ERROR_OUT_OF_MEMORY) {
        if (vmm)
            RM_DEBUG("memory manager: the VMM path failed (%d): a plain, not checkpointable cuMemAlloc", (int)r);
        r = alloc_plain(m, dev, owner, size, out);
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* Another empty small chunk of c's device and owner (lock held)? */
static int spare_exists(rm_mm_t *m, const rm_mm_chunk_t *c)
{
    for (rm_mm_chunk_t *o = m->chunks; o; o = o->next)
        if (o != c && o->small && o->live == 0 && o->dev == c->dev && o->owner == c->owner)
            return 1;
    return 0;
}

/* Forget a (taken out of allocs) and give its memory back (lock held);
 * spare: an empty chunk may stay mapped (an empty small one per device
 * and owner, a large one as a spare). */
static CUresult release(rm_mm_t *m, rm_mm_alloc_t *a, int spare)
{
    rm_mm_chunk_t *c = a->chunk;
    CUresult r = CUDA_SUCCESS;
    if (!c) {
        r = m->b->cuMemFree_v2(a->info.base);
    } else {
        c->live--;
        if (c->small)
            set_bits(c, (a->info.base - c->base) / RM_MM_ALIGN, blocks_of(a->info.size), 0);
        if (c->live == 0 && !c->small && spare) {
            unlink_chunk(m, c);
            keep_spare(m, c);
        } else if (c->live == 0 && (!c->small || !spare || spare_exists(m, c))) {
            drop_chunk(m, c);
        }
    }
    free(a);
    return r;
}

/* cuMemFree waits for the device's work to finish before the memory goes;
 * unmapping (or handing the blocks to the next allocation) does not, and a
 * kernel still using the memory would then fault (PyTorch's empty_cache
 * frees right after queueing work on it). So a free that is not the
 * driver's own synchronises the context first, as cuMemFree does. */
CUresult rm_mm_free(rm_mm_t *m, CUdeviceptr p)
{
    pthread_mutex_lock(&m->lock);
    rm_range_t rg;
    rm_mm_alloc_t *a = NULL;
    if (rm_ranges_find(&m->allocs, p, &rg) == 0 && rg.base == p) {
        rm_ranges_del(&m->allocs, p, NULL);
        a = (rm_mm_alloc_t *)rg.tag;
    }
    pthread_mutex_unlock(&m->lock);
    if (!a)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult sync = a->chunk && m->b->cuCtxSynchronize ? m->b->cuCtxSynchronize() : CUDA_SUCCESS;
    pthread_mutex_lock(&m->lock);
    CUresult r = release(m, a, 1);
    pthread_mutex_unlock(&m->lock);
    return r != CUDA_SUCCESS ? r : sync;
}

int rm_mm_find(rm_mm_t *m, uint64_t p, rm_mm_info_t *out)
{
    pthread_mutex_lock(&m->lock);
    rm_range_t rg;
    int r = rm_ranges_find(&m->allocs, p, &rg);
    if (r == 0)
        *out = ((rm_mm_alloc_t *)rg.tag)->info;
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* Take out and free every allocation for which pick() holds (lock held). */
static void release_where(rm_mm_t *m, int (*pick)(const rm_mm_alloc_t *, uint64_t), uint64_t arg)
{
    for (size_t i = 0; i < m->allocs.n;) {
        rm_mm_alloc_t *a = (rm_mm_alloc_t *)m->allocs.v[i].tag;
        if (!pick(a, arg)) {
            i++;
            continue;
        }
        rm_ranges_del(&m->allocs, a->info.base, NULL);
        release(m, a, 0);
    }
}

static int owned_by(const rm_mm_alloc_t *a, uint64_t owner) { return a->info.owner == owner; }
static int any(const rm_mm_alloc_t *a, uint64_t unused) { return 1; }

void rm_mm_release_owner(rm_mm_t *m, uint64_t owner)
{
    pthread_mutex_lock(&m->lock);
    release_where(m, owned_by, owner);
    for (rm_mm_chunk_t *c = m->chunks, *next; c; c = next) { /* its spare small chunks */
        next = c->next;
        if (c->owner == owner && c->live == 0)
            drop_chunk(m, c);
    }
    pthread_mutex_unlock(&m->lock);
}

void rm_mm_destroy(rm_mm_t *m)
{
    release_where(m, any, 0);
    while (m->chunks)
        drop_chunk(m, m->chunks);
    drop_spares(m);
    for (int d = 0; d < RM_MM_DEVICES; d++)
        rm_mm_arena_destroy(&m->arena[d], m->b);
    rm_ranges_destroy(&m->allocs);
    pthread_mutex_destroy(&m->lock);
}

uint64_t rm_mm_spare_bytes(rm_mm_t *m, int dev)
{
    pthread_mutex_lock(&m->lock);
    uint64_t n = 0;
    for (rm_mm_chunk_t *c = m->spares; c; c = c->next)
        n += c->dev == dev ? c->size : 0;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int rm_mm_each(rm_mm_t *m, int (*fn)(void *arg, const rm_mm_info_t *a), void *arg)
{
    pthread_mutex_lock(&m->lock);
    int r = 0;
    for (size_t i = 0; i < m->allocs.n && !r; i++)
        r = fn(arg, &((rm_mm_alloc_t *)m->allocs.v[i].tag)->info);
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* The chunk that holds [p, p+n) (lock held), or NULL. */
static rm_mm_chunk_t *chunk_holding(rm_mm_t *m, uint64_t p, uint64_t n)
{
    for (rm_mm_chunk_t *c = m->chunks; c; c = c->next)
        if (p >= c->base && n <= c->size && p - c->base <= c->size - n)
            return c;
    return NULL;
}

static int blocks_free(const rm_mm_chunk_t *c, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++)
        if (bit(c, i))
            return 0;
    return 1;
}

CUresult rm_mm_place(rm_mm_t *m, const rm_mm_info_t *a)
{
    if (!a->vmm || a->dev < 0 || a->dev >= RM_MM_DEVICES || a->size == 0 || a->base % RM_MM_ALIGN)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    drop_spares(m); /* they may hold the address */
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    uint64_t g = vmm_capable(m->b) ? granule_of(m, a->dev) : 0;
    rm_range_t clash;
    if (!g || a->size > UINT64_MAX - g || rm_ranges_overlap(&m->allocs, a->base, a->size, &clash) == 0)
        goto out;
    int small = a->size <= g / 2;
    rm_mm_chunk_t *c = chunk_holding(m, a->base, a->size);
    if (c && (!c->small || !small || c->dev != a->dev || c->owner != a->owner ||
              !blocks_free(c, (a->base - c->base) / RM_MM_ALIGN, blocks_of(a->size))))
        goto out;
    if (!c && small && (a->base % g) + a->size > g)
        goto out; /* a small allocation never crosses its granule */
    if (!c && !(c = new_chunk(m, a->dev, a->owner, small ? g : (a->size + g - 1) / g * g, small,
                              small ? a->base - a->base % g : a->base, &r)))
        goto out;
    if ((r = record(m, c, a->dev, a->owner, a->base, a->size)) == CUDA_SUCCESS) {
        rm_range_t rg;
        rm_ranges_find(&m->allocs, a->base, &rg);
        ((rm_mm_alloc_t *)rg.tag)->info.id = a->id; /* the buffer id it had */
        if (a->id >= m->next_id)
            m->next_id = a->id + 1;
    } else if (c->live == 0) {
        drop_chunk(m, c);
    }
out:
    pthread_mutex_unlock(&m->lock);
    return r;
}

void rm_mm_track(rm_mm_t *m, int on)
{
    pthread_mutex_lock(&m->lock);
    __atomic_store_n(&m->tracking, on, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < m->allocs.n && on; i++)
        ((rm_mm_alloc_t *)m->allocs.v[i].tag)->dirty = 1;
    pthread_mutex_unlock(&m->lock);
}

/* The first allocation that ends after p (lock held): m->allocs.n if none. */
static size_t first_after(const rm_mm_t *m, uint64_t p)
{
    size_t lo = 0, hi = m->allocs.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const rm_range_t *r = &m->allocs.v[mid];
        if (r->base + r->size <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void mark(rm_mm_t *m, uint64_t p, uint64_t n)
{
    for (size_t i = first_after(m, p); i < m->allocs.n && m->allocs.v[i].base < p + n; i++)
        ((rm_mm_alloc_t *)m->allocs.v[i].tag)->dirty = 1;
}

static int tracking(rm_mm_t *m) { return __atomic_load_n(&m->tracking, __ATOMIC_SEQ_CST); }

void rm_mm_wrote(rm_mm_t *m, uint64_t p, uint64_t n)
{
    if (!tracking(m))
        return;
    pthread_mutex_lock(&m->lock);
    mark(m, p, n ? n : 1);
    pthread_mutex_unlock(&m->lock);
}

void rm_mm_wrote_all(rm_mm_t *m)
{
    if (!tracking(m))
        return;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->allocs.n; i++)
        ((rm_mm_alloc_t *)m->allocs.v[i].tag)->dirty = 1;
    pthread_mutex_unlock(&m->lock);
}

void rm_mm_wrote_values(rm_mm_t *m, const void *words, size_t len)
{
    if (!tracking(m))
        return;
    pthread_mutex_lock(&m->lock);
    for (size_t off = 0; off + 8 <= len; off += 8) {
        uint64_t v;
        memcpy(&v, (const uint8_t *)words + off, sizeof v);
        mark(m, v, 1);
    }
    pthread_mutex_unlock(&m->lock);
}

int rm_mm_take_dirty(rm_mm_t *m, int (*fn)(void *arg, const rm_mm_info_t *a), void *arg)
{
    pthread_mutex_lock(&m->lock);
    int r = 0;
    for (size_t i = 0; i < m->allocs.n && !r; i++) {
        rm_mm_alloc_t *a = (rm_mm_alloc_t *)m->allocs.v[i].tag;
        if (a->dirty && !(r = fn(arg, &a->info)))
            a->dirty = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

uint64_t rm_mm_dirty_bytes(rm_mm_t *m)
{
    uint64_t n = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->allocs.n; i++) {
        rm_mm_alloc_t *a = (rm_mm_alloc_t *)m->allocs.v[i].tag;
        n += a->dirty ? a->info.size : 0;
    }
    pthread_mutex_unlock(&m->lock);
    return n;
}

CUresult rm_mm_read(rm_mm_t *m, const rm_mm_info_t *a, uint64_t off, void *dst, uint64_t n)
{
    pthread_mutex_lock(&m->lock);
    rm_range_t rg;
    CUresult r = CUDA_ERROR_NOT_FOUND;
    if (rm_ranges_find(&m->allocs, a->base, &rg) == 0 && rg.base == a->base &&
        ((rm_mm_alloc_t *)rg.tag)->info.id == a->id && off <= rg.size && n <= rg.size - off)
        r = m->b->cuMemcpyDtoH_v2(dst, a->base + off, n);
    pthread_mutex_unlock(&m->lock);
    return r;
}

int rm_mm_arena_range(rm_mm_t *m, int dev, uint64_t *base, uint64_t *size)
{
    if (dev < 0 || dev >= RM_MM_DEVICES)
        return 0;
    pthread_mutex_lock(&m->lock);
    const rm_mm_arena_t *a = &m->arena[dev];
    int held = a->state == RM_MM_ARENA_HELD || a->state == RM_MM_ARENA_PIECEWISE;
    if (held)
        *base = a->base, *size = a->size;
    pthread_mutex_unlock(&m->lock);
    return held;
}
