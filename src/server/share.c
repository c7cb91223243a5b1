/* Compute shares: the shared table of GPU busy time (share.h). */
#include "share.h"

#include <string.h>
#include <sys/mman.h>

rm_share_table_t *rm_share_map(size_t nslots)
{
    size_t size = sizeof(rm_share_table_t) + nslots * sizeof(rm_share_slot_t[RM_SHARE_DEVICES]);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    rm_share_table_t *t = p; /* anonymous mappings start zeroed */
    t->nslots = nslots;
    return t;
}

static int valid(const rm_share_table_t *t, size_t slot, int dev)
{
    return t && slot < t->nslots && dev >= 0 && dev < RM_SHARE_DEVICES;
}

void rm_share_set(rm_share_table_t *t, size_t slot, int dev, uint32_t percent, int pinned)
{
    if (!valid(t, slot, dev))
        return;
    rm_share_slot_t *s = &t->slot[slot][dev];
    uint32_t p = percent < 100 ? percent : 0;
    __atomic_store_n(&s->percent, p, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->pinned, p && pinned, __ATOMIC_RELAXED);
}

void rm_share_clear(rm_share_table_t *t, size_t slot)
{
    if (!t || slot >= t->nslots)
        return;
    for (int d = 0; d < RM_SHARE_DEVICES; d++) {
        rm_share_set(t, slot, d, 0, 0);
        rm_share_unwait(t, slot, d);
        rm_share_idle(t, slot, d);
    }
    memset(t->slot[slot], 0, sizeof t->slot[slot]);
}

/* Adds ns to bucket number b (kept in its low 32 bits) of s: a bucket that
 * holds an older number starts again; one already newer is left alone. */
static void bucket_add(rm_share_slot_t *s, uint64_t b, uint64_t ns)
{
    uint64_t *w = &s->bucket[b % RM_SHARE_BUCKETS];
    uint32_t num = (uint32_t)b;
    uint64_t cur = __atomic_load_n(w, __ATOMIC_RELAXED), next;
    do {
        uint32_t had = (uint32_t)(cur >> 32);
        if (had != num && (int32_t)(had - num) > 0)
            return;
        uint64_t sum = (had == num ? (uint32_t)cur : 0) + ns;
        next = (uint64_t)num << 32 | (sum > UINT32_MAX ? UINT32_MAX : sum);
    } while (!__atomic_compare_exchange_n(w, &cur, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

static void credit_slot(rm_share_slot_t *s, uint64_t now, uint64_t busy)
{
    __atomic_fetch_add(&s->busy_ns, busy, __ATOMIC_RELAXED);
    uint64_t start = busy < now ? now - busy : 0, oldest = now / RM_SHARE_BUCKET_NS + 1;
    oldest = oldest > RM_SHARE_BUCKETS ? oldest - RM_SHARE_BUCKETS : 0;
    for (uint64_t b = now / RM_SHARE_BUCKET_NS; b >= oldest; b--) {
        uint64_t lo = b * RM_SHARE_BUCKET_NS, hi = lo + RM_SHARE_BUCKET_NS;
        lo = lo > start ? lo : start;
        hi = hi < now ? hi : now;
        if (hi > lo)
            bucket_add(s, b, hi - lo);
        if (lo <= start || b == 0)
            break;
    }
}

void rm_share_credit(rm_share_table_t *t, size_t slot, int dev, uint64_t now_ns, uint64_t busy)
{
    if (!valid(t, slot, dev) || !busy)
        return;
    credit_slot(&t->slot[slot][dev], now_ns, busy);
    credit_slot(&t->gpu[dev], now_ns, busy);
}

uint64_t rm_share_window(const rm_share_slot_t *s, uint64_t now_ns)
{
    uint32_t newest = (uint32_t)(now_ns / RM_SHARE_BUCKET_NS);
    uint64_t sum = 0;
    for (int i = 0; i < RM_SHARE_BUCKETS; i++) {
        uint64_t w = __atomic_load_n(&s->bucket[i], __ATOMIC_RELAXED);
        if ((uint32_t)(newest - (uint32_t)(w >> 32)) < RM_SHARE_BUCKETS)
            sum += (uint32_t)w;
    }
    return sum;
}

int rm_share_entitled(const rm_share_table_t *t, size_t slot, int dev, uint64_t now_ns, uint64_t pending_ns)
{
    if (!valid(t, slot, dev))
        return 1;
    const rm_share_slot_t *s = &t->slot[slot][dev];
    uint64_t p = __atomic_load_n(&s->percent, __ATOMIC_RELAXED);
    return !p || (rm_share_window(s, now_ns) + pending_ns) * 100 < p * RM_SHARE_WINDOW_NS;
}

/* Takes dev's turn for slot if it is free; whether slot holds it now. */
static int take_turn(rm_share_table_t *t, size_t slot, int dev, uint64_t now)
{
    rm_share_turn_t *turn = &t->turn[dev];
    uint32_t me = (uint32_t)slot + 1, free_turn = 0;
    if (__atomic_load_n(&turn->holder, __ATOMIC_ACQUIRE) == me)
        return 1;
    if (!__atomic_compare_exchange_n(&turn->holder, &free_turn, me, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return 0;
    __atomic_store_n(&turn->since, now, __ATOMIC_RELAXED);
    return 1;
}

static void set_waiting(rm_share_table_t *t, size_t slot, int dev, uint32_t w)
{
    if (__atomic_exchange_n(&t->slot[slot][dev].waiting, w, __ATOMIC_ACQ_REL) != w)
        __atomic_fetch_add(&t->turn[dev].waiters, w ? 1u : (uint32_t)-1, __ATOMIC_ACQ_REL);
}

void rm_share_unwait(rm_share_table_t *t, size_t slot, int dev)
{
    if (valid(t, slot, dev))
        set_waiting(t, slot, dev, 0);
}

void rm_share_idle(rm_share_table_t *t, size_t slot, int dev)
{
    uint32_t me = (uint32_t)slot + 1;
    if (valid(t, slot, dev))
        __atomic_compare_exchange_n(&t->turn[dev].holder, &me, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

int rm_share_may_run(rm_share_table_t *t, size_t slot, int dev, uint64_t now_ns, uint64_t pending_ns)
{
    if (!valid(t, slot, dev))
        return 1;
    rm_share_slot_t *s = &t->slot[slot][dev];
    if (!__atomic_load_n(&s->percent, __ATOMIC_RELAXED))
        return 1; /* unlimited: beside the turns */
    uint32_t mine = __atomic_load_n(&s->waiting, __ATOMIC_ACQUIRE);
    uint32_t others = __atomic_load_n(&t->turn[dev].waiters, __ATOMIC_ACQUIRE) - mine;
    if (rm_share_entitled(t, slot, dev, now_ns, pending_ns)) {
        if (!take_turn(t, slot, dev, now_ns)) {
            set_waiting(t, slot, dev, 1);
            return 0;
        }
        set_waiting(t, slot, dev, 0);
        return !others || now_ns - __atomic_load_n(&t->turn[dev].since, __ATOMIC_RELAXED) < RM_SHARE_QUANTUM_NS;
    }
    set_waiting(t, slot, dev, 0); /* past its share: it has no claim */
    if (__atomic_load_n(&s->pinned, __ATOMIC_RELAXED) || others)
        return 0;
    return take_turn(t, slot, dev, now_ns); /* lent: nobody below their share wants the GPU */
}
