/* Device address ranges a session may touch: its allocations, module
 * globals and mapped shared segments. Every memcpy/memset range is checked
 * here before it reaches the driver. */
#ifndef RM_RANGES_H
#define RM_RANGES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t base, size;
} rm_range_t;

typedef struct {
    pthread_mutex_t lock;
    rm_range_t *v; /* sorted by base, non-overlapping */
    size_t n, cap;
} rm_ranges_t;

void rm_ranges_init(rm_ranges_t *r);
void rm_ranges_destroy(rm_ranges_t *r);
/* 0 on success; an existing range at the same base is replaced. */
int rm_ranges_add(rm_ranges_t *r, uint64_t base, uint64_t size);
/* 0 and *size set if a range starts exactly at base (then removed). */
int rm_ranges_del(rm_ranges_t *r, uint64_t base, uint64_t *size);
/* 1 if [p, p+n) lies inside one range (n == 0: p inside or at its end). */
int rm_ranges_contains(rm_ranges_t *r, uint64_t p, uint64_t n);

#endif
