/* The channel's bulk buffer (see sv.h). Registration is tried again while
 * it has not worked and the thread has a context, so a channel whose first
 * big copy came before its context still gets page-locked memory later. */
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "remora/protocol.h"
#include "sv.h"

static void try_pin(rm_sv_t *sv)
{
    if (sv->bulk_pinned || !sv->ctx || !sv->b->cuMemHostRegister_v2)
        return;
    CUresult r = sv->b->cuMemHostRegister_v2(sv->bulk, RM_SV_BULK_CAP, CU_MEMHOSTREGISTER_PORTABLE);
    sv->bulk_pinned = r == CUDA_SUCCESS;
    if (r != CUDA_SUCCESS)
        RM_DEBUG("session %llu: bulk buffer not page-locked (CUDA error %d): copies stage through pageable memory",
                 (unsigned long long)sv->s->id, (int)r);
}

void *rm_sv_bulk(rm_sv_t *sv, size_t n)
{
    if (n < RM_SV_BULK_MIN || n > RM_SV_BULK_CAP || (sv->bulk && sv->payload == sv->bulk))
        return NULL;
    if (!sv->bulk) { /* charged to the session's buffer budget like the others */
        if (rm_session_buffers_take(sv->s, RM_SV_BULK_CAP) != 0)
            return NULL;
        if (!(sv->bulk = aligned_alloc(4096, RM_SV_BULK_CAP))) {
            rm_session_buffers_give(sv->s, RM_SV_BULK_CAP);
            return NULL;
        }
    }
    try_pin(sv);
    return sv->bulk;
}

int rm_sv_bulk_holds(const rm_sv_t *sv, const void *p)
{
    const uint8_t *q = p;
    return sv->bulk && q >= sv->bulk && q < sv->bulk + RM_SV_BULK_CAP;
}

void rm_sv_bulk_free(rm_sv_t *sv)
{
    if (sv->bulk_pinned && sv->b->cuMemHostUnregister)
        sv->b->cuMemHostUnregister(sv->bulk); /* fails harmlessly if its context is gone */
    if (sv->bulk)
        rm_session_buffers_give(sv->s, RM_SV_BULK_CAP);
    free(sv->bulk);
    sv->bulk = NULL;
    sv->bulk_pinned = 0;
}
