/* A thread-safe set of non-overlapping address ranges with lookup by
 * address. The server keeps the device memory a session may touch in one
 * (every memcpy/memset range is checked against it); the client keeps its
 * device allocations in one to tell device from host pointers. */
#ifndef RM_RANGES_H
#define RM_RANGES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t base, size;
    uintptr_t tag; /* the owner's own value for this range */
} rm_range_t;

typedef struct {
    pthread_mutex_t lock;
    rm_range_t *v; /* sorted by base, non-overlapping */
    size_t n, cap;
    uint64_t bytes; /* sum of the sizes; atomic for readers without the lock */
} rm_ranges_t;

void rm_ranges_init(rm_ranges_t *r);
void rm_ranges_destroy(rm_ranges_t *r);
/* 0 on success; an existing range at the same base is replaced. */
int rm_ranges_add(rm_ranges_t *r, uint64_t base, uint64_t size, uintptr_t tag);
/* 0 and *size set if a range starts exactly at base (then removed). */
int rm_ranges_del(rm_ranges_t *r, uint64_t base, uint64_t *size);
/* 0 and *out set to the first range that shares an address with [p, p+n). */
int rm_ranges_overlap(rm_ranges_t *r, uint64_t p, uint64_t n, rm_range_t *out);
/* Remove every range with this tag. */
void rm_ranges_del_tag(rm_ranges_t *r, uintptr_t tag);
/* 1 if [p, p+n) lies inside one range (n == 0: p inside or at its end). */
int rm_ranges_contains(rm_ranges_t *r, uint64_t p, uint64_t n);
/* 0 and *out set to the range containing p. */
int rm_ranges_find(rm_ranges_t *r, uint64_t p, rm_range_t *out);
/* The sum of the ranges' sizes (without taking the lock). */
static inline uint64_t rm_ranges_bytes(const rm_ranges_t *r) { return __atomic_load_n(&r->bytes, __ATOMIC_RELAXED); }

#endif
