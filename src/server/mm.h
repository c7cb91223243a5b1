/* The memory manager: every cuMemAlloc and cuMemAllocPitch of a session
 * goes through it (DESIGN §5). It maps device memory with the virtual
 * memory API (cuMemAddressReserve + cuMemCreate + cuMemMap +
 * cuMemSetAccess), so the same addresses can be reserved and mapped again in
 * another server process (checkpoint/restore, migration).
 *
 * Allocations up to half a granule are sub-allocated, 512 bytes apart as
 * cuMemAlloc packs them, inside chunks of one granule kept per device and
 * owner; larger ones get a chunk of their own, rounded up to whole
 * granules. One empty small chunk per device and owner stays mapped, so an
 * allocate/free loop does not map and unmap a granule each time.
 *
 * A large chunk whose allocation is freed stays mapped too, as a spare
 * (at most RM_MM_SPARES of them, RM_MM_SPARE_BYTES in all, the oldest given
 * back first): the next allocation of the same rounded size on its device
 * takes it with no reserve, create, map or access call, as the driver's
 * own allocator keeps freed memory. Spares are no allocation: a session's
 * limit counts its allocations only, as before. They are given back when
 * creating memory fails (then that is tried again), before rm_mm_place,
 * and with the manager.
 *
 * Where the VMM path cannot serve (remora-server --alloc plain, a backend
 * without the VMM entries, a device that refuses cuMemCreate, no current
 * context) the allocation is a plain cuMemAlloc: it works as before (IPC
 * handles included) but is not checkpointable (rm_mm_info_t.vmm == 0).
 *
 * Chunks lie in each device's address arena (mm_arena.h), at the same
 * addresses in every server process. */
#ifndef RM_MM_H
#define RM_MM_H

#include <cuda.h>
#include <pthread.h>
#include <stdint.h>

#include "backend.h"
#include "mm_arena.h"
#include "ranges.h"

#define RM_MM_DEVICES 64
#define RM_MM_ALIGN 512 /* of every sub-allocation, as cuMemAlloc */
#define RM_MM_SPARES 8
#define RM_MM_SPARE_BYTES ((uint64_t)2 << 30)

typedef enum {
    RM_MM_VMM,   /* the default */
    RM_MM_PLAIN, /* every allocation a plain cuMemAlloc (cuIpcGetMemHandle needs one) */
} rm_mm_mode;

/* One allocation, as the program sees it. */
typedef struct {
    uint64_t base, size;
    uint64_t owner; /* the context handle whose end frees it */
    uint64_t id;    /* CU_POINTER_ATTRIBUTE_BUFFER_ID (VMM only; unique in the session) */
    int32_t dev;
    int32_t vmm;    /* 1: mapped by the manager (checkpointable); 0: plain cuMemAlloc */
} rm_mm_info_t;

typedef struct rm_mm_chunk rm_mm_chunk_t;

typedef struct {
    pthread_mutex_t lock;
    const rm_backend_t *b;
    rm_mm_mode mode;
    rm_ranges_t allocs;    /* every live allocation; tag: its struct rm_mm_alloc */
    rm_mm_chunk_t *chunks; /* VMM chunks, newest first */
    rm_mm_chunk_t *spares; /* mapped large chunks of no allocation, newest first */
    uint64_t spare_bytes;
    uint32_t nspares;
    uint64_t next_id;
    uint64_t granule[RM_MM_DEVICES]; /* 0: not asked yet */
    int tracking;          /* migration's dirty tracking is on (atomic) */
    uint64_t va_base;                /* of the arenas (mm_arena.h); 0: none */
    rm_mm_arena_t arena[RM_MM_DEVICES];
} rm_mm_t;

/* Which mode remora-server --alloc names ("vmm", "plain"); -1 if neither. */
int rm_mm_mode_parse(const char *s);
void rm_mm_init(rm_mm_t *m, const rm_backend_t *b, rm_mm_mode mode);
/* Frees every allocation and chunk. */
void rm_mm_destroy(rm_mm_t *m);
/* size bytes on dev (-1: no current context; then the plain path answers
 * as the driver does) for owner. */
CUresult rm_mm_alloc(rm_mm_t *m, int dev, uint64_t owner, uint64_t size, CUdeviceptr *out);
/* Free the allocation starting at p; CUDA_ERROR_INVALID_VALUE if none does. */
CUresult rm_mm_free(rm_mm_t *m, CUdeviceptr p);
/* 0 and *out set if p lies in an allocation of the manager; -1 otherwise. */
int rm_mm_find(rm_mm_t *m, uint64_t p, rm_mm_info_t *out);
/* The owner is gone (its context destroyed or reset): free its allocations. */
void rm_mm_release_owner(rm_mm_t *m, uint64_t owner);
/* Bytes the spares hold on dev: free memory as far as the session goes
 * (cuMemGetInfo counts them free; an allocation takes them back). */
uint64_t rm_mm_spare_bytes(rm_mm_t *m, int dev);
/* Calls fn on every live allocation in address order (lock held: fn must
 * not call the manager); stops at, and returns, fn's first non-zero. */
int rm_mm_each(rm_mm_t *m, int (*fn)(void *arg, const rm_mm_info_t *a), void *arg);
/* Restore: make a VMM allocation at exactly a->base (a->vmm must be 1),
 * its chunk reserved at the address it had. CUDA_ERROR_INVALID_VALUE if the
 * address cannot be had here or overlaps a live allocation. */
CUresult rm_mm_place(rm_mm_t *m, const rm_mm_info_t *a);
/* 1 and [*base, *base+*size) set if dev's chunks go in an address arena
 * in this process (mm_arena.h: reserved whole or piece by piece); 0 if not
 * (yet). */
int rm_mm_arena_range(rm_mm_t *m, int dev, uint64_t *base, uint64_t *size);

/* Migration's dirty tracking, at allocation granularity. While it is on,
 * an allocation is dirty from its making, or from a write the server saw
 * to it, until rm_mm_take_dirty hands it out. Writes are marked after
 * they are issued: a pre-copy round takes the dirty set, then waits for
 * the work issued so far, then copies, so no write is missed. With
 * tracking off the marks cost an atomic load. */
void rm_mm_track(rm_mm_t *m, int on); /* on: every allocation is dirty */
void rm_mm_wrote(rm_mm_t *m, uint64_t p, uint64_t n);
void rm_mm_wrote_all(rm_mm_t *m);
/* Each 8-byte-aligned value of words[len] that lies in an allocation
 * (kernel arguments: a pointer the kernel may write through). */
void rm_mm_wrote_values(rm_mm_t *m, const void *words, size_t len);
/* Calls fn on every dirty allocation, clearing it (lock held: fn must not
 * call the manager); stops at fn's first non-zero and returns it. */
int rm_mm_take_dirty(rm_mm_t *m, int (*fn)(void *arg, const rm_mm_info_t *a), void *arg);
uint64_t rm_mm_dirty_bytes(rm_mm_t *m);
/* Copy n bytes at off of the allocation a (base and id) to dst, unless it
 * was freed meanwhile (then CUDA_ERROR_NOT_FOUND): the lock is held for
 * the copy, so a free never unmaps memory being read. */
CUresult rm_mm_read(rm_mm_t *m, const rm_mm_info_t *a, uint64_t off, void *dst, uint64_t n);

#endif
