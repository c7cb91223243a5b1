/* Device address arenas (mm_arena.h): one reservation per device at a
 * fixed address, its free sub-ranges kept sorted and coalesced. */
#include "mm_arena.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define U(x) ((unsigned long long)(x))
#define ALIGN_MIN ((uint64_t)2 << 20) /* the smallest granule there is */

int rm_mm_arena_parse_base(const char *s, uint64_t *out)
{
    if (!strcmp(s, "off")) {
        *out = 0;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s || *end || errno || *s == '-' || v % ALIGN_MIN)
        return -1;
    *out = v;
    return 0;
}

uint64_t rm_mm_arena_addr(uint64_t va_base, int dev)
{
    uint64_t off = (uint64_t)dev * RM_MM_ARENA_STRIDE;
    return va_base && dev >= 0 && va_base <= UINT64_MAX - off ? va_base + off : 0;
}

void rm_mm_arena_init(rm_mm_arena_t *a)
{
    memset(a, 0, sizeof *a);
    rm_ranges_init(&a->free);
}

/* RM_MM_ARENA_PER_MEM times the device's memory in whole granules, at most
 * the stride between arenas (all of it when the memory is not known). */
static uint64_t arena_size(const rm_backend_t *b, int dev, uint64_t granule)
{
    uint64_t most = RM_MM_ARENA_STRIDE / granule * granule;
    CUdevice d;
    size_t mem = 0;
    if (!b->cuDeviceGet || !b->cuDeviceTotalMem_v2 || b->cuDeviceGet(&d, dev) != CUDA_SUCCESS ||
        b->cuDeviceTotalMem_v2(&mem, d) != CUDA_SUCCESS || mem == 0 || mem > most / RM_MM_ARENA_PER_MEM)
        return most;
    uint64_t want = (uint64_t)mem * RM_MM_ARENA_PER_MEM;
    return (want + granule - 1) / granule * granule;
}

#define NO_ARENA "device memory goes where the driver chooses, and a restore into another process may find it taken"

/* Reserve the arena at its address; else (logged) reserve its pieces one
 * by one (PIECEWISE), or, with no address for it, none (NONE). */
static void open_arena(rm_mm_arena_t *a, const rm_backend_t *b, uint64_t va_base, int dev, uint64_t granule)
{
    a->state = RM_MM_ARENA_NONE;
    uint64_t at = rm_mm_arena_addr(va_base, dev);
    if (!at) {
        RM_INFO("memory manager: no address arena for device %d (--va-base off): " NO_ARENA, dev);
        return;
    }
    if (at % granule) {
        RM_WARN("memory manager: device %d's address arena %#llx is not a multiple of its granule (%llu "
                "bytes; --va-base): " NO_ARENA, dev, U(at), U(granule));
        return;
    }
    uint64_t size = arena_size(b, dev, granule);
    if (rm_ranges_add(&a->free, at, size, 0) != 0) {
        RM_WARN("memory manager: no memory to track device %d's address arena: " NO_ARENA, dev);
        return;
    }
    a->base = at, a->size = size;
    CUdeviceptr va = 0;
    CUresult r = b->cuMemAddressReserve(&va, size, granule, at, 0);
    if (r == CUDA_SUCCESS && va == at) {
        a->state = RM_MM_ARENA_HELD;
        RM_DEBUG("memory manager: device %d's memory goes in its arena %#llx-%#llx", dev, U(at), U(at + size));
        return;
    }
    if (r == CUDA_SUCCESS)
        b->cuMemAddressFree(va, size);
    a->state = RM_MM_ARENA_PIECEWISE;
    RM_WARN("memory manager: the driver would not reserve device %d's address arena %#llx-%#llx whole (%s %#llx, "
            "CUDA error %d): each chunk is reserved on its own at an address of that range", dev, U(at),
            U(at + size), r == CUDA_SUCCESS ? "it offered" : "refused at", U(r == CUDA_SUCCESS ? va : at), (int)r);
}

/* The arena has a range: chunks go in it. */
static int ranged(const rm_mm_arena_t *a) { return a->state == RM_MM_ARENA_HELD || a->state == RM_MM_ARENA_PIECEWISE; }

static int in_arena(const rm_mm_arena_t *a, uint64_t p, uint64_t n)
{
    return ranged(a) && p >= a->base && n <= a->size && p - a->base <= a->size - n;
}

/* The first free range of size bytes, taken; CUDA_ERROR_NOT_FOUND if none. */
static CUresult carve_first(rm_mm_arena_t *a, uint64_t size, CUdeviceptr *out)
{
    for (size_t i = 0; i < a->free.n; i++) {
        rm_range_t f = a->free.v[i];
        if (f.size < size)
            continue;
        rm_ranges_del(&a->free, f.base, NULL);
        if (f.size > size)
            rm_ranges_add(&a->free, f.base + size, f.size - size, 0); /* into the slot just freed */
        *out = f.base;
        return CUDA_SUCCESS;
    }
    return CUDA_ERROR_NOT_FOUND;
}

/* [want, want+size) of the arena, taken if it is free. */
static CUresult carve_at(rm_mm_arena_t *a, uint64_t want, uint64_t size)
{
    rm_range_t f;
    if (rm_ranges_find(&a->free, want, &f) != 0 || size > f.size - (want - f.base)) {
        RM_WARN("memory manager: address %#llx (%llu bytes) is in use in this process", U(want), U(size));
        return CUDA_ERROR_INVALID_VALUE;
    }
    uint64_t left = want - f.base, right = f.size - left - size;
    if (right && rm_ranges_add(&a->free, want + size, right, 0) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (left)
        rm_ranges_add(&a->free, f.base, left, 0); /* the same base: replaced in place */
    else
        rm_ranges_del(&a->free, f.base, NULL);
    return CUDA_SUCCESS;
}

/* A reservation of the chunk's own, where the driver chooses or at want. */
static CUresult reserve_own(const rm_backend_t *b, uint64_t granule, uint64_t size, uint64_t want, CUdeviceptr *out)
{
    CUdeviceptr va = 0;
    CUresult r = b->cuMemAddressReserve(&va, size, granule, want, 0);
    if (r != CUDA_SUCCESS)
        return r;
    if (want && va != want) {
        RM_WARN("memory manager: address %#llx is taken in this process (the driver offered %#llx)", U(want), U(va));
        b->cuMemAddressFree(va, size);
        return CUDA_ERROR_INVALID_VALUE;
    }
    *out = va;
    return CUDA_SUCCESS;
}

/* [va, va+size) of the arena is free again: merged with its neighbours. */
static void put_back(rm_mm_arena_t *a, uint64_t va, uint64_t size)
{
    rm_range_t l, r;
    int left = va > a->base && rm_ranges_find(&a->free, va - 1, &l) == 0;
    int right = rm_ranges_find(&a->free, va + size, &r) == 0 && r.base == va + size;
    if (right) /* merged into what comes before it, or into the range it ends */
        rm_ranges_del(&a->free, r.base, NULL);
    uint64_t base = left ? l.base : va, end = right ? r.base + r.size : va + size;
    if (rm_ranges_add(&a->free, base, end - base, 0) != 0) /* only a new range, neither neighbour, can fail */
        RM_WARN("memory manager: no memory to track a free range of %llu bytes at %#llx: the arena loses it",
                U(size), U(va));
}

/* [va, va+size), carved out of the arena, made address space: reserved
 * already (HELD), or reserved now, there (PIECEWISE). Where that fails
 * something else of this process holds it: a range the arena chose is left
 * alone from then on (not given back to the free ranges, so the next is
 * tried), one asked for is given back (its holder may let it go). */
static CUresult hold(const rm_mm_arena_t *a, const rm_backend_t *b, uint64_t granule, uint64_t va, uint64_t size)
{
    CUdeviceptr got;
    return a->state == RM_MM_ARENA_HELD ? CUDA_SUCCESS : reserve_own(b, granule, size, va, &got);
}

#define PIECE_TRIES 4 /* ranges of a PIECEWISE arena tried for one chunk */

CUresult rm_mm_arena_take(rm_mm_arena_t *a, const rm_backend_t *b, uint64_t va_base, int dev, uint64_t granule,
                          uint64_t size, uint64_t want, CUdeviceptr *out)
{
    if (a->state == RM_MM_ARENA_UNTRIED)
        open_arena(a, b, va_base, dev, granule);
    CUresult r;
    if (want && in_arena(a, want, size)) {
        if ((r = carve_at(a, want, size)) != CUDA_SUCCESS)
            return r;
        if ((r = hold(a, b, granule, want, size)) == CUDA_SUCCESS)
            *out = want;
        else
            put_back(a, want, size);
        return r;
    }
    if (!want && ranged(a)) {
        CUdeviceptr va;
        for (int tries = 0; tries < PIECE_TRIES && (r = carve_first(a, size, &va)) != CUDA_ERROR_NOT_FOUND; tries++) {
            if (r == CUDA_SUCCESS && (r = hold(a, b, granule, va, size)) == CUDA_SUCCESS)
                *out = va;
            if (r != CUDA_ERROR_INVALID_VALUE) /* done, or out of memory */
                return r;
        }
        if (!a->full_told++)
            RM_WARN("memory manager: device %d's address arena %#llx-%#llx has no free range of %llu bytes (that "
                    "this process could reserve): what does not fit there goes where the driver chooses, and a restore into another process may "
                    "find it taken", dev, U(a->base), U(a->base + a->size), U(size));
    }
    return reserve_own(b, granule, size, want, out);
}

void rm_mm_arena_give(rm_mm_arena_t *a, const rm_backend_t *b, uint64_t va, uint64_t size)
{
    if (!in_arena(a, va, size) || a->state == RM_MM_ARENA_PIECEWISE)
        b->cuMemAddressFree(va, size);
    if (in_arena(a, va, size))
        put_back(a, va, size);
}

void rm_mm_arena_destroy(rm_mm_arena_t *a, const rm_backend_t *b)
{
    if (a->state == RM_MM_ARENA_HELD)
        b->cuMemAddressFree(a->base, a->size);
    rm_ranges_destroy(&a->free);
    memset(a, 0, sizeof *a);
}
