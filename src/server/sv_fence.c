/* Handler: fence. A client thread's call must run after the async calls
 * other threads of the same client issued before it (CUDA orders calls by
 * issue time, whichever host thread makes them). Each thread has its own
 * channel and server thread, so the client names, for every other channel
 * with async calls in flight, its slot, incarnation and the seq of its last
 * async message, and this channel's server thread waits until those have
 * run (or that channel has closed). */
#include <string.h>
#include <time.h>

#include "log.h"
#include "rm_handlers.h"

#define FENCE_MAX_WAIT_S 30 /* a stuck peer channel must not hang this one */

typedef struct {
    uint32_t slot, incarnation, seq;
} wait_t;

CUresult rm_sv_fence(rm_sv_t *sv, const rm_fence_req_t *in, rm_fence_rep_t *out)
{
    rm_session_t *s = sv->s;
    size_t n = in->waits_len / sizeof(wait_t);
    if (in->waits_len % sizeof(wait_t) || n > RM_MAX_CHANNELS)
        return CUDA_ERROR_INVALID_VALUE;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += FENCE_MAX_WAIT_S;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        wait_t w;
        memcpy(&w, (const char *)in->waits + i * sizeof w, sizeof w);
        if (w.slot >= RM_MAX_CHANNELS || w.slot == sv->channel || rm_session_reached(s, w.slot, w.incarnation, w.seq))
            continue;
        pthread_mutex_lock(&s->lock);
        __atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
        while (!rm_session_reached(s, w.slot, w.incarnation, w.seq) && rc == 0)
            rc = pthread_cond_timedwait(&s->progress, &s->lock, &until);
        __atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&s->lock);
    }
    if (rc != 0) /* once per fence */
        RM_WARN("session %llu: another channel still busy after %d s: ordering across threads given up",
                (unsigned long long)s->id, FENCE_MAX_WAIT_S);
    return CUDA_SUCCESS;
}
