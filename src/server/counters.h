/* Per-session counters that the listener reads while the session's worker
 * (another process) updates them: one shared anonymous mapping, made by the
 * listener before it forks any worker, one slot per session. remora status
 * reads them without asking the worker anything. */
#ifndef RM_COUNTERS_H
#define RM_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#define RM_COUNTERS_GPUS 8 /* GPUs with counters of their own */

typedef struct {
    uint64_t calls, bytes_in, bytes_out; /* atomic, relaxed */
    uint64_t mem_bytes;                  /* atomic, relaxed: set, not added */
    uint64_t mem_limit;                  /* the same: the highest per-GPU limit, 0: none */
    uint64_t compute_share;              /* the same: the highest per-GPU share in percent, 0: none */
    uint64_t compute_pinned;             /* the same: 1 if the share is never exceeded (no lending) */
    uint64_t gpu_busy_ns;                /* atomic, relaxed: measured GPU busy time (share.h) */
    uint64_t gpu_mem_used[RM_COUNTERS_GPUS];  /* the same, per GPU (quota.h: counted where limited) */
    uint64_t gpu_mem_limit[RM_COUNTERS_GPUS]; /* 0: none */
} rm_counters_t;

/* n zeroed slots shared with every process forked after; NULL on failure. */
rm_counters_t *rm_counters_map(size_t n);

static inline void rm_counters_add(uint64_t *c, uint64_t v) { __atomic_fetch_add(c, v, __ATOMIC_RELAXED); }
static inline void rm_counters_set(uint64_t *c, uint64_t v) { __atomic_store_n(c, v, __ATOMIC_RELAXED); }
static inline uint64_t rm_counters_get(const uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }

#endif
