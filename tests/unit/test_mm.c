/* Unit test of the memory manager (src/server/mm.c) on the fake backend:
 * small allocations share a granule 512 bytes apart and are reused after a
 * free, large ones get granules of their own, the memory is real (written
 * and read through the backend's copies), an owner's end frees its memory,
 * the plain mode and a backend without VMM give plain cuMemAlloc memory, and
 * rm_mm_place puts allocations back at their addresses in a second manager
 * (as a restored session does), refusing what cannot be placed.
 * Spares: a freed large allocation's chunk serves the next one of its size
 * with no reserve, create, map or access call; the spares stay within their
 * bounds, are given back when creating memory fails (which then succeeds)
 * and before a placement. Dirty tracking (migration): nothing is marked
 * while it is off; turned on, every allocation is dirty; taking them clears
 * them; a write, a kernel argument pointing inside an allocation, a new
 * allocation (a spare's chunk reused too) and "all" mark them again; a
 * freed allocation cannot be read any more.
 * Arenas (mm_arena.h): every chunk lies in its device's arena at its fixed
 * address, so a second manager (the restoring process, the first one's
 * memory gone with it) in which something else holds the addresses the
 * driver had chosen in the first still places every allocation at its
 * address, where without arenas it cannot (issue 9, as seen on the H200);
 * with part of the arena's range taken, chunks are reserved one by one in
 * it, around that. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "mm.h"

#define MB ((uint64_t)1 << 20)
#define GRANULE (2 * MB) /* the fake's */
#define OWNER 7

static rm_backend_t B;

/* The fake's VMM entries, counted; creating fails past budget bytes live. */
static struct {
    uint64_t reserves, creates, maps, accesses, live, budget;
} calls;
static rm_backend_t counted;

static CUresult count_reserve(CUdeviceptr *p, size_t size, size_t align, CUdeviceptr addr, unsigned long long f)
{
    calls.reserves++;
    return B.cuMemAddressReserve(p, size, align, addr, f);
}

static CUresult count_create(CUmemGenericAllocationHandle *h, size_t size, const CUmemAllocationProp *p,
                             unsigned long long f)
{
    calls.creates++;
    if (calls.budget && calls.live + size > calls.budget)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult r = B.cuMemCreate(h, size, p, f);
    if (r == CUDA_SUCCESS)
        calls.live += size;
    return r;
}

static CUresult count_map(CUdeviceptr p, size_t size, size_t off, CUmemGenericAllocationHandle h,
                          unsigned long long f)
{
    calls.maps++;
    return B.cuMemMap(p, size, off, h, f);
}

static CUresult count_unmap(CUdeviceptr p, size_t size)
{
    calls.live -= size; /* one mapping per handle, of its whole size */
    return B.cuMemUnmap(p, size);
}

static CUresult count_access(CUdeviceptr p, size_t size, const CUmemAccessDesc *d, size_t n)
{
    calls.accesses++;
    return B.cuMemSetAccess(p, size, d, n);
}

static int count(void *arg, const rm_mm_info_t *a)
{
    ++*(int *)arg;
    return 0;
}

static int live(rm_mm_t *m)
{
    int n = 0;
    rm_mm_each(m, count, &n);
    return n;
}

static void small_and_large(void)
{
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    CUdeviceptr a, b, c, big;
    CHECK(rm_mm_alloc(&m, 0, OWNER, 100, &a) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 1000, &b) == CUDA_SUCCESS);
    CHECK(a % GRANULE == 0 && b == a + 512); /* packed as cuMemAlloc packs */
    CHECK(rm_mm_alloc(&m, 0, OWNER, 3 * MB, &big) == CUDA_SUCCESS);
    CHECK(big % GRANULE == 0 && (big >= a + GRANULE || big + 4 * MB <= a));
    rm_mm_info_t i;
    CHECK(rm_mm_find(&m, b + 999, &i) == 0 && i.base == b && i.size == 1000 && i.vmm && i.owner == OWNER);
    CHECK(rm_mm_find(&m, b + 1024, &i) != 0); /* past b, not yet allocated */
    CHECK(rm_mm_find(&m, big + 3 * MB - 1, &i) == 0 && i.base == big && i.size == 3 * MB);
    rm_mm_info_t ia;
    CHECK(rm_mm_find(&m, a, &ia) == 0 && ia.id != i.id);
    /* real memory: written and read back through the backend */
    unsigned char out[1000], in[1000];
    for (int k = 0; k < 1000; k++)
        in[k] = (unsigned char)(k * 7);
    CHECK(B.cuMemcpyHtoD_v2(b, in, sizeof in) == CUDA_SUCCESS);
    CHECK(B.cuMemcpyDtoH_v2(out, b, sizeof out) == CUDA_SUCCESS);
    CHECK(memcmp(in, out, sizeof in) == 0);
    CHECK(B.cuMemsetD8_v2(big + 3 * MB - 1, 0xab, 1) == CUDA_SUCCESS);
    CHECK(rm_mm_free(&m, b + 1) == CUDA_ERROR_INVALID_VALUE); /* not a base */
    CHECK(rm_mm_free(&m, a) == CUDA_SUCCESS);
    CHECK(rm_mm_free(&m, a) == CUDA_ERROR_INVALID_VALUE);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 512, &c) == CUDA_SUCCESS && c == a); /* the freed blocks again */
    CHECK(rm_mm_alloc(&m, 0, OWNER + 1, 512, &c) == CUDA_SUCCESS);
    CHECK(c < a || c >= a + GRANULE); /* another owner, another granule */
    CHECK(live(&m) == 4);
    rm_mm_release_owner(&m, OWNER);
    CHECK(live(&m) == 1 && rm_mm_find(&m, b, &i) != 0);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 0, &c) != CUDA_SUCCESS); /* as cuMemAlloc(0) */
    rm_mm_destroy(&m);
}

/* Many small allocations fill their granule and open another. */
static void fills_granules(void)
{
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    enum { N = 5000 };
    static CUdeviceptr p[N];
    for (int k = 0; k < N; k++)
        CHECK(rm_mm_alloc(&m, 0, OWNER, 512, &p[k]) == CUDA_SUCCESS);
    CHECK(p[GRANULE / 512 - 1] + 512 == p[0] + GRANULE);
    CHECK(p[GRANULE / 512] / GRANULE != p[0] / GRANULE);
    for (int k = 0; k < N; k++)
        CHECK(rm_mm_free(&m, p[k]) == CUDA_SUCCESS);
    CHECK(live(&m) == 0);
    rm_mm_destroy(&m);
}

static void plain(void)
{
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_PLAIN);
    CUdeviceptr a;
    rm_mm_info_t i;
    CHECK(rm_mm_alloc(&m, 0, OWNER, 100, &a) == CUDA_SUCCESS);
    CHECK(rm_mm_find(&m, a, &i) == 0 && !i.vmm);
    CHECK(rm_mm_place(&m, &i) == CUDA_ERROR_INVALID_VALUE); /* plain memory is not placeable */
    CHECK(rm_mm_free(&m, a) == CUDA_SUCCESS);
    rm_mm_destroy(&m);
    rm_backend_t no_vmm = B;
    no_vmm.cuMemCreate = NULL;
    rm_mm_init(&m, &no_vmm, RM_MM_VMM);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 100, &a) == CUDA_SUCCESS);
    CHECK(rm_mm_find(&m, a, &i) == 0 && !i.vmm);
    rm_mm_destroy(&m);
}

static int save(void *arg, const rm_mm_info_t *a)
{
    rm_mm_info_t **w = arg;
    *(*w)++ = *a;
    return 0;
}

/* A second manager (another process, in a restore) gets the same addresses
 * once the first has let them go. */
static void place(void)
{
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    CUdeviceptr a, b, big;
    CHECK(rm_mm_alloc(&m, 0, OWNER, 4096, &a) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 300, &b) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 5 * MB, &big) == CUDA_SUCCESS);
    rm_mm_info_t saved[3], *w = saved;
    CHECK(rm_mm_each(&m, save, &w) == 0 && w == saved + 3);
    rm_mm_t other;
    rm_mm_init(&other, &B, RM_MM_VMM);
    CHECK(rm_mm_place(&other, &saved[0]) == CUDA_ERROR_INVALID_VALUE); /* still taken here */
    rm_mm_destroy(&m);
    for (int k = 2; k >= 0; k--)
        CHECK(rm_mm_place(&other, &saved[k]) == CUDA_SUCCESS);
    rm_mm_info_t i, was;
    CHECK(rm_mm_find(&other, b, &i) == 0 && i.size == 300);
    for (int k = 0; k < 3; k++)
        if (saved[k].base == b)
            was = saved[k];
    CHECK(i.id == was.id);
    CHECK(rm_mm_find(&other, big, &i) == 0 && i.size == 5 * MB);
    CHECK(rm_mm_place(&other, &was) == CUDA_ERROR_INVALID_VALUE); /* overlaps itself */
    rm_mm_info_t bad = was;
    bad.base = a + GRANULE - 512;
    bad.size = 1024;
    CHECK(rm_mm_place(&other, &bad) == CUDA_ERROR_INVALID_VALUE); /* crosses a granule */
    CUdeviceptr c;
    CHECK(rm_mm_alloc(&other, 0, OWNER, 100, &c) == CUDA_SUCCESS);
    CHECK(rm_mm_find(&other, c, &i) == 0 && i.id > saved[0].id && i.id > saved[1].id && i.id > saved[2].id);
    CHECK(c != a && c != b);
    CHECK(B.cuMemsetD8_v2(big + 5 * MB - 1, 1, 1) == CUDA_SUCCESS);
    rm_mm_destroy(&other);
}

static int take_one(void *arg, const rm_mm_info_t *a)
{
    rm_mm_info_t *v = arg;
    for (; v->size; v++)
        ;
    *v = *a;
    return 0;
}

/* The dirty allocations' bases, taken (clearing them), in address order, 0-ended. */
static void take(rm_mm_t *m, CUdeviceptr out[8])
{
    rm_mm_info_t v[9];
    memset(v, 0, sizeof v);
    CHECK(rm_mm_take_dirty(m, take_one, v) == 0);
    for (int i = 0; i < 8; i++)
        out[i] = v[i].base;
}

static void dirty(void)
{
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    CUdeviceptr a, b, big, d[8];
    CHECK(rm_mm_alloc(&m, 0, OWNER, 1000, &a) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 1000, &b) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 3 * MB, &big) == CUDA_SUCCESS);
    take(&m, d); /* born dirty */
    rm_mm_wrote_all(&m); /* off: no effect */
    rm_mm_wrote(&m, a, 8);
    CHECK(rm_mm_dirty_bytes(&m) == 0);
    take(&m, d);
    CHECK(d[0] == 0);
    rm_mm_track(&m, 1);
    CHECK(rm_mm_dirty_bytes(&m) == 3 * MB + 2000);
    take(&m, d);
    CHECK(d[0] && d[1] && d[2] && !d[3] && rm_mm_dirty_bytes(&m) == 0);
    rm_mm_wrote(&m, b + 999, 1);
    take(&m, d);
    CHECK(d[0] == b && d[1] == 0);
    rm_mm_wrote(&m, a + 500, b + 10 - (a + 500)); /* across two allocations */
    take(&m, d);
    CHECK(d[0] == a && d[1] == b && d[2] == 0);
    uint64_t args[3] = {42, big + MB, b + 1000}; /* b + 1000 lies past b's 1000 bytes */
    rm_mm_wrote_values(&m, args, sizeof args);
    take(&m, d);
    CHECK(d[0] == big && d[1] == 0);
    CUdeviceptr c;
    CHECK(rm_mm_alloc(&m, 0, OWNER, 100, &c) == CUDA_SUCCESS);
    take(&m, d);
    CHECK(d[0] == c && d[1] == 0);
    rm_mm_wrote_all(&m);
    CHECK(rm_mm_dirty_bytes(&m) == 3 * MB + 2100);
    rm_mm_info_t i;
    unsigned char buf[16];
    CHECK(rm_mm_find(&m, c, &i) == 0 && rm_mm_read(&m, &i, 0, buf, sizeof buf) == CUDA_SUCCESS);
    CHECK(rm_mm_read(&m, &i, 90, buf, sizeof buf) == CUDA_ERROR_NOT_FOUND); /* past its end */
    CHECK(rm_mm_free(&m, c) == CUDA_SUCCESS);
    CHECK(rm_mm_read(&m, &i, 0, buf, sizeof buf) == CUDA_ERROR_NOT_FOUND);
    rm_mm_track(&m, 0);
    rm_mm_wrote(&m, a, 1);
    rm_mm_destroy(&m);
}

/* A small, a second small and a large allocation, their records in
 * saved (in address order). */
static void three(rm_mm_t *m, rm_mm_info_t saved[3])
{
    CUdeviceptr p;
    CHECK(rm_mm_alloc(m, 0, OWNER, 4096, &p) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(m, 0, OWNER, 300, &p) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(m, 0, OWNER, 5 * MB, &p) == CUDA_SUCCESS);
    rm_mm_info_t *w = saved;
    CHECK(rm_mm_each(m, save, &w) == 0 && w == saved + 3);
}

static int in_arena(const rm_mm_t *m, const rm_mm_info_t *a)
{
    const rm_mm_arena_t *r = &m->arena[a->dev];
    return (r->state == RM_MM_ARENA_HELD || r->state == RM_MM_ARENA_PIECEWISE) && a->base >= r->base &&
           a->base + a->size <= r->base + r->size;
}

static void restore_in_arena(void)
{
    rm_mm_info_t saved[3];
    /* without arenas: the driver's addresses, held by something else in the
     * restoring process */
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    m.va_base = 0;
    three(&m, saved);
    CHECK(m.arena[0].state == RM_MM_ARENA_NONE && !in_arena(&m, &saved[0]));
    rm_mm_destroy(&m);
    uint64_t lo = saved[0].base - saved[0].base % GRANULE, hi = saved[2].base + saved[2].size;
    hi = (hi + GRANULE - 1) / GRANULE * GRANULE;
    CUdeviceptr held, own;
    CHECK(B.cuMemAddressReserve(&held, hi - lo, 0, lo, 0) == CUDA_SUCCESS && held == lo);
    rm_mm_init(&m, &B, RM_MM_VMM);
    for (int k = 0; k < 3; k++)
        CHECK(rm_mm_place(&m, &saved[k]) == CUDA_ERROR_INVALID_VALUE);
    rm_mm_destroy(&m);
    /* in the arena: placed again, whatever the driver holds elsewhere */
    rm_mm_init(&m, &B, RM_MM_VMM);
    three(&m, saved);
    CHECK(m.arena[0].state == RM_MM_ARENA_HELD && m.arena[0].base == RM_MM_ARENA_BASE);
    CHECK(m.arena[0].size == RM_MM_ARENA_PER_MEM * 8192 * MB); /* REMORA_FAKE_MEM_MB */
    for (int k = 0; k < 3; k++)
        CHECK(in_arena(&m, &saved[k]));
    rm_mm_destroy(&m);
    CHECK(B.cuMemAddressReserve(&own, 64 * MB, 0, 0, 0) == CUDA_SUCCESS); /* where the driver places things */
    rm_mm_t other;
    rm_mm_init(&other, &B, RM_MM_VMM);
    for (int k = 2; k >= 0; k--)
        CHECK(rm_mm_place(&other, &saved[k]) == CUDA_SUCCESS);
    rm_mm_info_t i;
    for (int k = 0; k < 3; k++)
        CHECK(rm_mm_find(&other, saved[k].base, &i) == 0 && i.base == saved[k].base && i.size == saved[k].size &&
              i.id == saved[k].id && in_arena(&other, &i));
    CHECK(B.cuMemsetD8_v2(saved[2].base + 5 * MB - 1, 1, 1) == CUDA_SUCCESS); /* mapped */
    CUdeviceptr c;
    CHECK(rm_mm_alloc(&other, 0, OWNER, 3 * MB, &c) == CUDA_SUCCESS);
    CHECK(rm_mm_find(&other, c, &i) == 0 && in_arena(&other, &i) && i.base >= saved[2].base + saved[2].size);
    rm_mm_destroy(&other);
    CHECK(B.cuMemAddressFree(own, 64 * MB) == CUDA_SUCCESS && B.cuMemAddressFree(held, hi - lo) == CUDA_SUCCESS);
    /* part of the arena's range taken: chunks reserved one by one in it, around that */
    CHECK(B.cuMemAddressReserve(&held, GRANULE, 0, RM_MM_ARENA_BASE + GRANULE, 0) == CUDA_SUCCESS);
    rm_mm_init(&m, &B, RM_MM_VMM);
    three(&m, saved);
    CHECK(m.arena[0].state == RM_MM_ARENA_PIECEWISE && saved[0].vmm && saved[2].vmm);
    for (int k = 0; k < 3; k++)
        CHECK(in_arena(&m, &saved[k]) && (saved[k].base + saved[k].size <= held || saved[k].base >= held + GRANULE));
    rm_mm_destroy(&m);
    CHECK(B.cuMemAddressFree(held, GRANULE) == CUDA_SUCCESS);
}

/* The calls a large allocation costs, after the one before it. */
static uint64_t vmm_calls(void) { return calls.reserves + calls.creates + calls.maps + calls.accesses; }

static void spares(void)
{
    counted = B;
    counted.cuMemAddressReserve = count_reserve;
    counted.cuMemCreate = count_create;
    counted.cuMemMap = count_map;
    counted.cuMemUnmap = count_unmap;
    counted.cuMemSetAccess = count_access;
    memset(&calls, 0, sizeof calls);
    rm_mm_t m;
    rm_mm_init(&m, &counted, RM_MM_VMM);
    CUdeviceptr a, b, c, d[RM_MM_SPARES + 2];
    /* freed, then the same size again: the same chunk, no VMM call */
    CHECK(rm_mm_alloc(&m, 0, OWNER, 64 * MB, &a) == CUDA_SUCCESS);
    uint64_t first = vmm_calls();
    CHECK(first == 4 && calls.reserves == 1 && calls.live == 64 * MB); /* the arena, create, map, access */
    CHECK(B.cuMemsetD8_v2(a + 64 * MB - 1, 0x5a, 1) == CUDA_SUCCESS);
    CHECK(rm_mm_free(&m, a) == CUDA_SUCCESS);
    CHECK(m.nspares == 1 && m.spare_bytes == 64 * MB && live(&m) == 0);
    CHECK(rm_mm_alloc(&m, 0, OWNER + 1, 64 * MB - 100, &b) == CUDA_SUCCESS); /* rounds to the same granules */
    CHECK(b == a && vmm_calls() == first && m.nspares == 0);
    rm_mm_info_t i;
    CHECK(rm_mm_find(&m, b, &i) == 0 && i.size == 64 * MB - 100 && i.owner == OWNER + 1 && i.vmm);
    CHECK(B.cuMemsetD8_v2(b + 64 * MB - 101, 1, 1) == CUDA_SUCCESS); /* mapped and writable */
    /* another size: a chunk of its own */
    CHECK(rm_mm_alloc(&m, 0, OWNER, 32 * MB, &c) == CUDA_SUCCESS && vmm_calls() == first + 3);
    CHECK(calls.reserves == 1); /* in the arena reserved already */
    CHECK(rm_mm_free(&m, b) == CUDA_SUCCESS && rm_mm_free(&m, c) == CUDA_SUCCESS);
    CHECK(m.nspares == 2 && m.spare_bytes == 96 * MB);
    /* bounded: no more than RM_MM_SPARES kept, the rest given back */
    for (int k = 0; k < RM_MM_SPARES + 2; k++)
        CHECK(rm_mm_alloc(&m, 0, OWNER, (uint64_t)(k + 1) * 4 * MB, &d[k]) == CUDA_SUCCESS);
    for (int k = 0; k < RM_MM_SPARES + 2; k++)
        CHECK(rm_mm_free(&m, d[k]) == CUDA_SUCCESS);
    CHECK(m.nspares == RM_MM_SPARES && m.spare_bytes <= RM_MM_SPARE_BYTES);
    uint64_t held = calls.live;
    CHECK(held == m.spare_bytes);
    /* too big to keep: given back at once */
    CHECK(rm_mm_alloc(&m, 0, OWNER, RM_MM_SPARE_BYTES + GRANULE, &a) == CUDA_SUCCESS);
    CHECK(rm_mm_free(&m, a) == CUDA_SUCCESS && calls.live == held);
    /* pressure: creating fails while the spares hold the memory; they go, it succeeds */
    calls.budget = held + 8 * MB;
    CHECK(rm_mm_alloc(&m, 0, OWNER, 100 * MB, &a) == CUDA_SUCCESS);
    CHECK(m.nspares == 0 && m.spare_bytes == 0 && calls.live == 100 * MB);
    calls.budget = calls.live + 8 * MB;
    CHECK(rm_mm_alloc(&m, 0, OWNER, 100 * MB, &b) == CUDA_ERROR_OUT_OF_MEMORY); /* truly full: as before */
    calls.budget = 0;
    /* a placement first gives the spares back: one may hold its address */
    rm_mm_info_t was;
    CHECK(rm_mm_find(&m, a, &was) == 0 && rm_mm_free(&m, a) == CUDA_SUCCESS && m.nspares == 1);
    CHECK(rm_mm_place(&m, &was) == CUDA_SUCCESS && m.nspares == 0);
    CHECK(rm_mm_find(&m, a, &i) == 0 && i.base == a && i.size == 100 * MB);
    rm_mm_destroy(&m);
    CHECK(calls.live == 0); /* spares go with the manager */
}

/* A spare's chunk serving a new allocation while tracking is on: new memory
 * to the migration (dirty, another buffer id), though at the same address. */
static void spare_dirty(void)
{
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    CUdeviceptr a, b, d[8];
    rm_mm_info_t was, now;
    CHECK(rm_mm_alloc(&m, 0, OWNER, 64 * MB, &a) == CUDA_SUCCESS);
    rm_mm_track(&m, 1);
    take(&m, d);
    CHECK(d[0] == a && d[1] == 0 && rm_mm_dirty_bytes(&m) == 0);
    CHECK(rm_mm_find(&m, a, &was) == 0 && rm_mm_free(&m, a) == CUDA_SUCCESS && m.nspares == 1);
    CHECK(rm_mm_read(&m, &was, 0, d, 8) == CUDA_ERROR_NOT_FOUND);
    CHECK(rm_mm_alloc(&m, 0, OWNER, 64 * MB, &b) == CUDA_SUCCESS && b == a && m.nspares == 0);
    CHECK(rm_mm_find(&m, b, &now) == 0 && now.id != was.id);
    CHECK(rm_mm_read(&m, &was, 0, d, 8) == CUDA_ERROR_NOT_FOUND); /* the old buffer is gone */
    CHECK(rm_mm_dirty_bytes(&m) == 64 * MB);
    take(&m, d);
    CHECK(d[0] == b && d[1] == 0 && rm_mm_dirty_bytes(&m) == 0);
    rm_mm_track(&m, 0);
    rm_mm_destroy(&m);
}

int main(void)
{
    setenv("REMORA_FAKE_MEM_MB", "8192", 1); /* room for an allocation too big to keep as a spare */
    rm_backend_fake_fill(&B);
    CUdevice dev;
    CUcontext ctx;
    CHECK(B.cuInit(0) == CUDA_SUCCESS && B.cuDeviceGet(&dev, 0) == CUDA_SUCCESS);
    CHECK(B.cuDevicePrimaryCtxRetain(&ctx, dev) == CUDA_SUCCESS && B.cuCtxSetCurrent(ctx) == CUDA_SUCCESS);
    small_and_large();
    fills_granules();
    plain();
    place();
    dirty();
    spares();
    spare_dirty();
    restore_in_arena();
    return 0;
}
