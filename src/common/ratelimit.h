/* A small rate limiter for messages that a peer can trigger at will (each
 * rejected request logs a warning): at most `burst` events per window; the
 * first one let through after a quiet spell says how many were dropped.
 * One static limiter per call site, usually through RM_WARN_LIMITED (log.h). */
#ifndef RM_RATELIMIT_H
#define RM_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

typedef struct {
    pthread_mutex_t lock;
    uint64_t window_ms;
    uint32_t burst;
    uint32_t used;     /* events let through in the current window */
    uint64_t start_ms; /* when the current window began */
    uint64_t dropped;  /* events refused since the last one let through */
} rm_ratelimit_t;

#define RM_RATELIMIT_INIT(burst_, window_ms_) \
    {.lock = PTHREAD_MUTEX_INITIALIZER, .window_ms = (window_ms_), .burst = (burst_)}

/* Whether an event at now_ms may pass; if so, *dropped is how many were
 * refused since the previous one that passed. */
int rm_ratelimit_allow_at(rm_ratelimit_t *r, uint64_t now_ms, uint64_t *dropped);
/* The same at the monotonic clock's now. */
int rm_ratelimit_allow(rm_ratelimit_t *r, uint64_t *dropped);

#endif
