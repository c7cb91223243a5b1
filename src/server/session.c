/* Session state and the helpers shared by call handlers. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "sv.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

void rm_session_init(rm_session_t *s, const rm_backend_t *b, uint64_t id, uint64_t mem_limit)
{
    memset(s, 0, sizeof *s);
    s->b = b;
    s->id = id;
    s->counters = &s->own_counters;
    s->seg_limit = rm_default_pinned_limit();
    s->buf_limit = UINT64_MAX;
    rm_handles_init(&s->handles);
    rm_ranges_init(&s->ranges);
    rm_quota_init(&s->quota, id, mem_limit);
    rm_pace_init(&s->pace, b, id);
    rm_mm_init(&s->mm, b, RM_MM_VMM);
    rm_recipes_init(&s->recipes);
    pthread_rwlockattr_t qa;
    pthread_rwlockattr_init(&qa);
    pthread_rwlockattr_setkind_np(&qa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->quiesce, &qa);
    pthread_rwlockattr_destroy(&qa);
    pthread_mutex_init(&s->seg_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->progress, NULL);
    pthread_cond_init(&s->gate_change, NULL);
    s->ctl_fd = -1;
    s->migrate_fd = -1;
}

void rm_session_destroy(rm_session_t *s)
{
    rm_handles_destroy(&s->handles);
    rm_ranges_destroy(&s->ranges);
    rm_quota_destroy(&s->quota);
    rm_pace_destroy(&s->pace);
    rm_mm_destroy(&s->mm);
    rm_recipes_destroy(&s->recipes);
    pthread_rwlock_destroy(&s->quiesce);
    pthread_mutex_destroy(&s->seg_lock);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->progress);
    pthread_cond_destroy(&s->gate_change);
}

void rm_session_progress(rm_session_t *s, uint32_t slot, uint32_t inc, uint32_t seq, int closed)
{
    if (slot >= RM_MAX_CHANNELS)
        return;
    /* an older incarnation still draining must not move a newer one back */
    uint64_t want = (uint64_t)inc << 32 | seq, cur = __atomic_load_n(&s->done[slot], __ATOMIC_SEQ_CST);
    while ((uint32_t)(cur >> 32) <= inc &&
           !__atomic_compare_exchange_n(&s->done[slot], &cur, want, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    if (closed) {
        uint32_t c = __atomic_load_n(&s->closed_inc[slot], __ATOMIC_SEQ_CST);
        while (c < inc + 1 &&
               !__atomic_compare_exchange_n(&s->closed_inc[slot], &c, inc + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            ;
    }
    if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&s->lock);
        pthread_cond_broadcast(&s->progress);
        pthread_mutex_unlock(&s->lock);
    }
}

int rm_session_reached(rm_session_t *s, uint32_t slot, uint32_t inc, uint32_t seq)
{
    if (__atomic_load_n(&s->closed_inc[slot], __ATOMIC_SEQ_CST) >= inc + 1)
        return 1; /* that incarnation has run everything and gone */
    uint64_t d = __atomic_load_n(&s->done[slot], __ATOMIC_SEQ_CST);
    return (uint32_t)(d >> 32) == inc && (uint32_t)d >= seq;
}

CUresult rm_sv_unsupported(const char *call)
{
    RM_WARN_LIMITED("%s is not available on this backend", call);
    return CUDA_ERROR_NOT_SUPPORTED;
}

static void invalid_handle(rm_sv_t *sv, rm_hkind kind, uint64_t id)
{
    RM_WARN_LIMITED("session %llu: invalid handle %#llx (kind %d)", (unsigned long long)sv->s->id, (unsigned long long)id,
            (int)kind);
}

int rm_sv_handle_claim(rm_sv_t *sv, rm_hkind kind, uint64_t id, void **ptr)
{
    if (rm_handles_claim(&sv->s->handles, kind, id, ptr) == 0)
        return 0;
    invalid_handle(sv, kind, id);
    return -1;
}

CUresult rm_sv_handle_settle(rm_sv_t *sv, rm_hkind kind, uint64_t id, CUresult r)
{
    rm_handles_settle(&sv->s->handles, kind, id, r == CUDA_SUCCESS);
    return r;
}

int rm_sv_handle_get(rm_sv_t *sv, rm_hkind kind, uint64_t id, void **ptr)
{
    /* NULL context and the special streams (NULL, legacy, per-thread) pass. */
    if ((kind == RM_H_CTX && id == 0) || (kind == RM_H_STREAM && id <= 2)) {
        *ptr = (void *)(uintptr_t)id;
        return 0;
    }
    if (rm_handles_get(&sv->s->handles, kind, id, ptr) != 0) {
        invalid_handle(sv, kind, id);
        return -1;
    }
    return 0;
}

uint64_t rm_sv_handle_put(rm_sv_t *sv, rm_hkind kind, void *ptr)
{
    return rm_handles_put_owned(&sv->s->handles, kind, ptr, kind == RM_H_CTX ? 0 : sv->ctx);
}

void rm_sv_set_ctx(rm_sv_t *sv, uint64_t ctx)
{
    sv->ctx = ctx;
    if (sv->channel < RM_MAX_CHANNELS)
        __atomic_store_n(&sv->s->chan_ctx[sv->channel], ctx, __ATOMIC_RELEASE);
}

void rm_sv_recipe(rm_sv_t *sv, uint64_t id, uint32_t flags, const void *image, size_t image_len)
{
    rm_recipe_t how = {.id = id, .flags = flags};
    if (image)
        rm_sha256(image, image_len, how.hash);
    if (rm_recipes_put(&sv->s->recipes, &sv->s->handles, &how) != 0)
        RM_WARN("session %llu: no memory to remember how handle %#llx was made: a checkpoint will refuse it",
                (unsigned long long)sv->s->id, (unsigned long long)id);
}

/* What a forgotten handle held: memory ranges tagged with it, the charge
 * it holds itself (an array, a VMM allocation), for contexts and graphs
 * the allocations charged to them, and for contexts the memory manager's
 * allocations (which the driver does not free with the context). */
static void forget_held(void *arg, uint64_t owner)
{
    rm_session_t *s = ((rm_sv_t *)arg)->s;
    rm_ranges_del_tag(&s->ranges, owner);
    rm_quota_release(&s->quota, RM_QUOTA_HANDLE(owner));
    rm_hkind k = rm_handles_kind(owner);
    if (k == RM_H_CTX || k == RM_H_GRAPH)
        rm_quota_release_owner(&s->quota, owner);
    if (k == RM_H_CTX)
        rm_mm_release_owner(&s->mm, owner);
}

void rm_sv_forget_owned(rm_sv_t *sv, uint64_t owner)
{
    if (owner)
        rm_handles_del_owned(&sv->s->handles, owner, forget_held, sv);
}

void rm_sv_wrote(rm_sv_t *sv, uint64_t p, uint64_t n) { rm_mm_wrote(&sv->s->mm, p, n); }

void rm_sv_wrote_args(rm_sv_t *sv, const void *params, size_t len) { rm_mm_wrote_values(&sv->s->mm, params, len); }

CUresult rm_sv_check_range(rm_sv_t *sv, uint64_t p, uint64_t n, const char *what)
{
    if (rm_ranges_contains(&sv->s->ranges, p, n))
        return CUDA_SUCCESS;
    RM_WARN_LIMITED("session %llu: %s range [%#llx, +%llu) is outside the session's memory",
            (unsigned long long)sv->s->id, what, (unsigned long long)p, (unsigned long long)n);
    return CUDA_ERROR_INVALID_VALUE;
}

void *rm_sv_segment_ptr(rm_sv_t *sv, uint64_t addr, uint64_t n)
{
    uint64_t idx = addr >> RM_SEG_SHIFT, off = addr & ((1ull << RM_SEG_SHIFT) - 1);
    void *p = NULL;
    if (idx >= RM_SEG_MAX)
        return NULL;
    pthread_mutex_lock(&sv->s->seg_lock);
    rm_segment_t *g = &sv->s->segs[idx];
    if (g->host && off <= g->size && n <= g->size - off)
        p = g->host + off;
    pthread_mutex_unlock(&sv->s->seg_lock);
    return p;
}

int rm_session_buffers_take(rm_session_t *s, size_t n)
{
    uint64_t cur = __atomic_load_n(&s->buf_bytes, __ATOMIC_RELAXED);
    do {
        if (n > s->buf_limit || cur > s->buf_limit - n)
            return -1;
    } while (!__atomic_compare_exchange_n(&s->buf_bytes, &cur, cur + n, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return 0;
}

void rm_session_buffers_give(rm_session_t *s, size_t n)
{
    __atomic_fetch_sub(&s->buf_bytes, n, __ATOMIC_RELAXED);
}

void *rm_sv_scratch(rm_sv_t *sv, size_t n)
{
    if (n > sv->scratch_cap) {
        if (rm_session_buffers_take(sv->s, n - sv->scratch_cap) != 0) {
            RM_WARN_LIMITED("session %llu: a %zu-byte reply buffer is past the session's buffer budget "
                            "(remora-server --session-buffers)", (unsigned long long)sv->s->id, n);
            return NULL;
        }
        void *p = realloc(sv->scratch, n);
        if (!p) {
            rm_session_buffers_give(sv->s, n - sv->scratch_cap);
            return NULL;
        }
        sv->scratch = p;
        sv->scratch_cap = n;
    }
    return sv->scratch;
}
