/* Rate limiter (see ratelimit.h): fixed windows, a mutex per limiter. */
#include "ratelimit.h"

#include "clock.h"

int rm_ratelimit_allow_at(rm_ratelimit_t *r, uint64_t now_ms, uint64_t *dropped)
{
    pthread_mutex_lock(&r->lock);
    if (now_ms - r->start_ms >= r->window_ms || now_ms < r->start_ms) {
        r->start_ms = now_ms;
        r->used = 0;
    }
    int allow = r->used < r->burst;
    if (allow) {
        r->used++;
        *dropped = r->dropped;
        r->dropped = 0;
    } else {
        r->dropped++;
    }
    pthread_mutex_unlock(&r->lock);
    return allow;
}

int rm_ratelimit_allow(rm_ratelimit_t *r, uint64_t *dropped)
{
    return rm_ratelimit_allow_at(r, rm_now_ns() / 1000000, dropped);
}
