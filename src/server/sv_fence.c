/* Handler: fence. A client thread's call must run after the async calls
 * other threads of the same client issued before it (CUDA orders calls by
 * issue time, whichever host thread makes them). Each thread has its own
 * channel and server thread, so the client names, for every other channel
 * with async calls in flight, the sequence number of the last one, and this
 * channel's server thread waits until those have run (or the channel has
 * closed). */
#include <string.h>
#include <time.h>

#include "log.h"
#include "rm_handlers.h"

#define FENCE_MAX_WAIT_S 30 /* a stuck peer channel must not hang this one */

typedef struct {
    uint32_t channel, seq;
} wait_t;

static int reached(rm_session_t *s, const wait_t *w)
{
    return __atomic_load_n(&s->closed[w->channel], __ATOMIC_SEQ_CST) ||
           (int32_t)(__atomic_load_n(&s->done_seq[w->channel], __ATOMIC_SEQ_CST) - w->seq) >= 0;
}

CUresult rm_sv_fence(rm_sv_t *sv, const rm_fence_req_t *in, rm_fence_rep_t *out)
{
    rm_session_t *s = sv->s;
    if (in->waits_len % sizeof(wait_t))
        return CUDA_ERROR_INVALID_VALUE;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += FENCE_MAX_WAIT_S;
    for (uint32_t i = 0; i < in->waits_len / sizeof(wait_t); i++) {
        wait_t w;
        memcpy(&w, (const char *)in->waits + i * sizeof w, sizeof w);
        if (w.channel >= RM_MAX_CHANNELS || w.channel == sv->channel || reached(s, &w))
            continue;
        pthread_mutex_lock(&s->lock);
        __atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
        int rc = 0;
        while (!reached(s, &w) && rc == 0)
            rc = pthread_cond_timedwait(&s->progress, &s->lock, &until);
        __atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&s->lock);
        if (rc != 0)
            RM_WARN("session %llu: channel %u still busy after %d s: ordering across threads given up",
                    (unsigned long long)s->id, w.channel, FENCE_MAX_WAIT_S);
    }
    return CUDA_SUCCESS;
}
