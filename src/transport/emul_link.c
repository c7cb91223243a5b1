/* The emulator's timing model (see emul_link.h). */
#include "emul_link.h"

void rm_emul_link_init(rm_emul_link_t *l, const rm_emul_spec_t *spec, uint64_t seed)
{
    *l = (rm_emul_link_t){.spec = *spec, .rng = seed | 1};
    atomic_init(&l->wrote, 0);
    l->ns_per_byte = spec->bits_per_s > 0 ? 8e9 / spec->bits_per_s : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint64_t serialise_ns(const rm_emul_link_t *l, size_t n)
{
    return (uint64_t)((double)n * l->ns_per_byte + 0.5);
}

uint64_t rm_emul_link_up(rm_emul_link_t *l, uint64_t now, size_t n)
{
    l->up_free = max_u64(now, l->up_free) + serialise_ns(l, n);
    atomic_store_explicit(&l->wrote, 1, memory_order_release);
    return l->up_free;
}

void rm_emul_link_down(rm_emul_link_t *l, uint64_t seen, size_t n)
{
    /* A write since the last read starts a new exchange: what comes now
     * answers it, so the holds before it say nothing about when. */
    if (atomic_exchange_explicit(&l->wrote, 0, memory_order_acquire))
        l->held = 0;
    uint64_t arrived = seen > l->held ? seen - l->held : 0;
    l->last_seen = max_u64(l->last_seen, arrived);
    uint64_t sent = l->last_seen + l->spec.rtt_ns / 2; /* in the server's shifted time */
    l->down_free = max_u64(sent, l->down_free) + serialise_ns(l, n);
}

/* Uniform in [-j, j] (xorshift64: cheap, and a fixed seed repeats a run). */
static int64_t jitter(rm_emul_link_t *l)
{
    uint64_t j = l->spec.jitter_ns;
    if (!j)
        return 0;
    l->rng ^= l->rng << 13;
    l->rng ^= l->rng >> 7;
    l->rng ^= l->rng << 17;
    return (int64_t)(l->rng % (2 * j + 1)) - (int64_t)j;
}

uint64_t rm_emul_link_deliver(rm_emul_link_t *l)
{
    /* The downlink's half rtt, and both one-way trips' jitter (the uplink's
     * half is in down_free already, see rm_emul_link_down). jitter <= rtt/2
     * keeps each one-way delay at least 0, so this is never before the real
     * transport delivered the bytes. */
    int64_t prop = (int64_t)(l->spec.rtt_ns - l->spec.rtt_ns / 2) + jitter(l) + jitter(l);
    l->delivered = max_u64(l->delivered, (uint64_t)((int64_t)l->down_free + prop));
    return l->delivered;
}

void rm_emul_link_held(rm_emul_link_t *l, uint64_t ns) { l->held += ns; }
