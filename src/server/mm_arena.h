/* Device address arenas of the memory manager (mm.h).
 *
 * Every chunk the manager maps lies, where the driver allows it, inside
 * one address reservation per device made at a fixed place:
 *   va_base + dev * RM_MM_ARENA_STRIDE, RM_MM_ARENA_PER_MEM times the
 *   device's memory long (at most the stride), in whole granules,
 * va_base being RM_MM_ARENA_BASE unless remora-server --va-base or
 * REMORA_VA_BASE says otherwise. Every server process reserves the same
 * ranges, far from the host's mmap area (whose addresses ASLR moves from
 * one process to the next, and where the driver puts what it places
 * itself), so a session restored or migrated into another process or host
 * finds its device addresses free there.
 *
 * An arena is reserved once, with its device's first chunk, and given back
 * with the manager; a chunk takes a sub-range of it (first fit, freed
 * ranges coalesced) and gives it back when unmapped. Where the driver will
 * not reserve the arena whole at its address (something holds part of it,
 * or it refuses so large a reservation), that is logged once and each
 * chunk reserves its own sub-range, at that address: a range something
 * else holds is left alone and the next one tried. Only where that fails
 * too (the range full or held throughout, logged once), or with no arenas
 * (va_base 0), is a chunk reserved where the driver chooses, as without
 * arenas: such memory works, but a restore into another process may find
 * its addresses taken there, and says so. An address asked for outside the
 * arena (a checkpoint of a server with another va_base) is reserved on its
 * own, where it is free. */
#ifndef RM_MM_ARENA_H
#define RM_MM_ARENA_H

#include <cuda.h>
#include <stdint.h>

#include "backend.h"
#include "ranges.h"

#define RM_MM_ARENA_BASE 0x200000000000ull   /* 32 TiB: device 0's arena */
#define RM_MM_ARENA_STRIDE 0x10000000000ull  /* 1 TiB between devices' arenas */
#define RM_MM_ARENA_PER_MEM 4                /* address space per byte of device memory */

typedef enum {
    RM_MM_ARENA_UNTRIED, /* no chunk on its device yet */
    RM_MM_ARENA_HELD,    /* reserved whole: chunks go in it */
    RM_MM_ARENA_PIECEWISE, /* not reserved whole: each chunk reserved on its own at an address of it */
    RM_MM_ARENA_NONE,    /* no address (off, or not a multiple of the granule): where the driver chooses */
} rm_mm_arena_state;

typedef struct {
    rm_mm_arena_state state;
    uint64_t base, size; /* HELD, PIECEWISE: its range */
    rm_ranges_t free;    /* HELD, PIECEWISE: the free sub-ranges, none adjacent to another */
    int full_told;       /* a chunk did not fit: logged once */
} rm_mm_arena_t;

/* The address remora-server --va-base (or REMORA_VA_BASE) names: a number
 * (0x... hexadecimal) that is a multiple of 2 MiB, or "off" (0: no arenas).
 * 0 and *out set, or -1. */
int rm_mm_arena_parse_base(const char *s, uint64_t *out);
/* Where device dev's arena lies when the arenas start at va_base. */
uint64_t rm_mm_arena_addr(uint64_t va_base, int dev);

void rm_mm_arena_init(rm_mm_arena_t *a);
/* size bytes of address space (a multiple of granule) on device dev for a
 * chunk, the arena reserved first if it is not yet, at want when it is not
 * 0: exactly there (CUDA_ERROR_INVALID_VALUE where that cannot be had);
 * *out set on success. The caller serialises calls on one arena. */
CUresult rm_mm_arena_take(rm_mm_arena_t *a, const rm_backend_t *b, uint64_t va_base, int dev, uint64_t granule,
                          uint64_t size, uint64_t want, CUdeviceptr *out);
/* The range [va, va+size) taken is free again (nothing mapped in it). */
void rm_mm_arena_give(rm_mm_arena_t *a, const rm_backend_t *b, uint64_t va, uint64_t size);
/* Gives the reservation back (every range taken given back first). */
void rm_mm_arena_destroy(rm_mm_arena_t *a, const rm_backend_t *b);

#endif
