/* Unit test of the device address arenas (src/server/mm_arena.c) on the
 * fake backend: --va-base values are read or refused; the arena is one
 * reservation at its fixed address, RM_MM_ARENA_PER_MEM times the device's
 * memory long; ranges are taken first fit, at a fixed address where free,
 * and coalesce when given back; what does not fit goes where the driver
 * chooses. Where part of the range is taken, or the driver refuses so large
 * a reservation, each chunk reserves its own range of it, around what holds
 * it; with all of it taken, or the arenas off, chunks go where the driver
 * chooses. An address asked for outside the arena is reserved on its own
 * where it is free, refused where it is not. */
#include <string.h>

#include "backend.h"
#include "check.h"
#include "mm_arena.h"

#define MB ((uint64_t)1 << 20)
#define GRANULE (2 * MB) /* the fake's */
#define BASE RM_MM_ARENA_BASE

static rm_backend_t B;

/* A device that says it has 4 MiB: an arena of 16 MiB. */
static CUresult small_total(size_t *bytes, CUdevice dev)
{
    *bytes = 4 * MB;
    return CUDA_SUCCESS;
}

static void parse(void)
{
    uint64_t v = 1;
    CHECK(rm_mm_arena_parse_base("0x200000000000", &v) == 0 && v == BASE);
    CHECK(rm_mm_arena_parse_base("off", &v) == 0 && v == 0);
    CHECK(rm_mm_arena_parse_base("2097152", &v) == 0 && v == GRANULE);
    CHECK(rm_mm_arena_parse_base("0x200000001000", &v) != 0); /* not whole granules */
    CHECK(rm_mm_arena_parse_base("", &v) != 0 && rm_mm_arena_parse_base("32T", &v) != 0);
    CHECK(rm_mm_arena_parse_base("-2097152", &v) != 0 && rm_mm_arena_parse_base("0x1ffffffffffffffff", &v) != 0);
    CHECK(rm_mm_arena_addr(BASE, 0) == BASE && rm_mm_arena_addr(BASE, 3) == BASE + 3 * RM_MM_ARENA_STRIDE);
    CHECK(rm_mm_arena_addr(0, 1) == 0 && rm_mm_arena_addr(UINT64_MAX - GRANULE + 1, 1) == 0);
}

/* Sizes from the device's memory; first fit; coalescing. */
static void take_and_give(void)
{
    rm_backend_t b = B;
    b.cuDeviceTotalMem_v2 = small_total;
    rm_mm_arena_t a;
    rm_mm_arena_init(&a);
    CUdeviceptr p[4], q;
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, 0, &p[0]) == CUDA_SUCCESS);
    CHECK(a.state == RM_MM_ARENA_HELD && a.base == BASE && a.size == 4 * 4 * MB && p[0] == BASE);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, 2 * GRANULE, 0, &p[1]) == CUDA_SUCCESS && p[1] == BASE + GRANULE);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, 0, &p[2]) == CUDA_SUCCESS && p[2] == BASE + 3 * GRANULE);
    CHECK(a.free.n == 1 && a.free.v[0].base == BASE + 4 * GRANULE && a.free.v[0].size == 4 * GRANULE);
    /* the address space is the backend's own: mapped there, memory works */
    CUmemAllocationProp prop = {.type = CU_MEM_ALLOCATION_TYPE_PINNED, .location = {CU_MEM_LOCATION_TYPE_DEVICE, 0}};
    CUmemGenericAllocationHandle h;
    CUmemAccessDesc acc = {.location = prop.location, .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
    CHECK(B.cuMemCreate(&h, 2 * GRANULE, &prop, 0) == CUDA_SUCCESS);
    CHECK(B.cuMemMap(p[1], 2 * GRANULE, 0, h, 0) == CUDA_SUCCESS);
    CHECK(B.cuMemSetAccess(p[1], 2 * GRANULE, &acc, 1) == CUDA_SUCCESS);
    CHECK(B.cuMemsetD8_v2(p[1] + 2 * GRANULE - 1, 7, 1) == CUDA_SUCCESS);
    CHECK(B.cuMemUnmap(p[1], 2 * GRANULE) == CUDA_SUCCESS && B.cuMemRelease(h) == CUDA_SUCCESS);
    /* given back: a hole that the next fitting range takes first */
    rm_mm_arena_give(&a, &b, p[1], 2 * GRANULE);
    CHECK(a.free.n == 2);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, 0, &q) == CUDA_SUCCESS && q == p[1]);
    rm_mm_arena_give(&a, &b, q, GRANULE);
    /* at a fixed address: where free, and only there */
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, p[1] + GRANULE, &p[3]) == CUDA_SUCCESS);
    CHECK(p[3] == p[1] + GRANULE);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, 2 * GRANULE, p[1], &q) == CUDA_ERROR_INVALID_VALUE);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, p[2], &q) == CUDA_ERROR_INVALID_VALUE);
    CHECK(a.free.n == 2); /* p[1]'s first granule, and the rest past p[2] */
    /* everything back: one free range again, left and right neighbours merged */
    rm_mm_arena_give(&a, &b, p[0], GRANULE);
    rm_mm_arena_give(&a, &b, p[2], GRANULE);
    rm_mm_arena_give(&a, &b, p[3], GRANULE);
    CHECK(a.free.n == 1 && a.free.v[0].base == BASE && a.free.v[0].size == a.size);
    /* too big for the arena: where the driver chooses, given back to it */
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, 32 * MB, 0, &q) == CUDA_SUCCESS);
    CHECK(q + 32 * MB <= BASE || q >= BASE + a.size);
    CHECK(a.full_told == 1 && a.free.n == 1);
    rm_mm_arena_give(&a, &b, q, 32 * MB);
    CHECK(B.cuMemAddressReserve(&p[0], 32 * MB, 0, q, 0) == CUDA_SUCCESS && p[0] == q); /* free again */
    CHECK(B.cuMemAddressFree(q, 32 * MB) == CUDA_SUCCESS);
    rm_mm_arena_destroy(&a, &b);
    CHECK(B.cuMemAddressReserve(&q, 16 * MB, 0, BASE, 0) == CUDA_SUCCESS && q == BASE); /* the arena is gone */
    CHECK(B.cuMemAddressFree(q, 16 * MB) == CUDA_SUCCESS);
}

/* Part of the arena's range is taken: each chunk is reserved on its own in
 * that range, around what holds it; all of it taken, the arenas off, or a
 * base that is no multiple of the granule: where the driver chooses. A
 * fixed address outside the arena is had where free. */
static void piecewise(void)
{
    rm_backend_t b = B;
    b.cuDeviceTotalMem_v2 = small_total;
    CUdeviceptr other, p, q, r, t;
    CHECK(B.cuMemAddressReserve(&other, GRANULE, 0, BASE + 4 * GRANULE, 0) == CUDA_SUCCESS); /* in its way */
    rm_mm_arena_t a;
    rm_mm_arena_init(&a);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, 0, &p) == CUDA_SUCCESS);
    CHECK(a.state == RM_MM_ARENA_PIECEWISE && a.base == BASE && a.size == 16 * MB && p == BASE);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, 2 * GRANULE, 0, &q) == CUDA_SUCCESS && q == BASE + GRANULE);
    /* the next range meets what holds BASE + 4 granules: left alone, the one after it taken */
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, 2 * GRANULE, 0, &r) == CUDA_SUCCESS && r == BASE + 5 * GRANULE);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, other, &t) == CUDA_ERROR_INVALID_VALUE);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, BASE + 7 * GRANULE, &t) == CUDA_SUCCESS);
    CHECK(t == BASE + 7 * GRANULE && a.full_told == 0);
    /* each piece its own reservation: given back, the address is free for anyone */
    rm_mm_arena_give(&a, &b, q, 2 * GRANULE);
    CHECK(B.cuMemAddressReserve(&q, 2 * GRANULE, 0, BASE + GRANULE, 0) == CUDA_SUCCESS && q == BASE + GRANULE);
    CHECK(B.cuMemAddressFree(q, 2 * GRANULE) == CUDA_SUCCESS);
    /* outside the arena: had where free, refused where taken */
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, BASE + 32 * MB, &q) == CUDA_SUCCESS);
    CHECK(q == BASE + 32 * MB);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, BASE + 32 * MB, &q) == CUDA_ERROR_INVALID_VALUE);
    rm_mm_arena_give(&a, &b, BASE + 32 * MB, GRANULE);
    rm_mm_arena_give(&a, &b, p, GRANULE);
    rm_mm_arena_give(&a, &b, r, 2 * GRANULE);
    rm_mm_arena_give(&a, &b, t, GRANULE);
    rm_mm_arena_destroy(&a, &b);
    CHECK(B.cuMemAddressFree(other, GRANULE) == CUDA_SUCCESS);
    /* all of the range held: where the driver chooses */
    CHECK(B.cuMemAddressReserve(&other, 16 * MB, 0, BASE, 0) == CUDA_SUCCESS && other == BASE);
    rm_mm_arena_init(&a);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, 0, &p) == CUDA_SUCCESS);
    CHECK(a.state == RM_MM_ARENA_PIECEWISE && a.full_told == 1 && (p >= BASE + 16 * MB || p + GRANULE <= BASE));
    rm_mm_arena_give(&a, &b, p, GRANULE);
    rm_mm_arena_destroy(&a, &b);
    CHECK(B.cuMemAddressFree(other, 16 * MB) == CUDA_SUCCESS);
    /* off (--va-base off), or not a multiple of the granule: none */
    rm_mm_arena_init(&a);
    CHECK(rm_mm_arena_take(&a, &b, 0, 0, GRANULE, GRANULE, 0, &p) == CUDA_SUCCESS && a.state == RM_MM_ARENA_NONE);
    rm_mm_arena_give(&a, &b, p, GRANULE);
    rm_mm_arena_destroy(&a, &b);
    rm_mm_arena_init(&a);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, 2 * GRANULE, 2 * GRANULE, 0, &p) == CUDA_SUCCESS);
    CHECK(a.state == RM_MM_ARENA_HELD); /* BASE is a multiple of 4 MiB too */
    rm_mm_arena_give(&a, &b, p, 2 * GRANULE);
    rm_mm_arena_destroy(&a, &b);
    rm_mm_arena_init(&a);
    CHECK(rm_mm_arena_take(&a, &b, BASE + GRANULE, 0, 2 * GRANULE, 2 * GRANULE, 0, &p) == CUDA_SUCCESS);
    CHECK(a.state == RM_MM_ARENA_NONE);
    rm_mm_arena_give(&a, &b, p, 2 * GRANULE);
    rm_mm_arena_destroy(&a, &b);
}

/* A driver that will not reserve more than 64 MiB at once (as a driver
 * might refuse a reservation of several times the GPU's memory): the arena
 * goes piecewise, at its own addresses still. */
static CUresult reserve_small(CUdeviceptr *p, size_t size, size_t align, CUdeviceptr addr, unsigned long long f)
{
    return size > 64 * MB ? CUDA_ERROR_OUT_OF_MEMORY : B.cuMemAddressReserve(p, size, align, addr, f);
}

static void refused_whole(void)
{
    rm_backend_t b = B;
    b.cuMemAddressReserve = reserve_small;
    rm_mm_arena_t a;
    rm_mm_arena_init(&a);
    CUdeviceptr p, q;
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, 8 * MB, 0, &p) == CUDA_SUCCESS);
    CHECK(a.state == RM_MM_ARENA_PIECEWISE && p == BASE && a.size == RM_MM_ARENA_PER_MEM * 1024 * MB);
    CHECK(rm_mm_arena_take(&a, &b, BASE, 0, GRANULE, GRANULE, BASE + 64 * MB, &q) == CUDA_SUCCESS);
    CHECK(q == BASE + 64 * MB);
    rm_mm_arena_give(&a, &b, p, 8 * MB);
    rm_mm_arena_give(&a, &b, q, GRANULE);
    CHECK(a.free.n == 1 && a.free.v[0].size == a.size);
    rm_mm_arena_destroy(&a, &b);
}

/* Without a memory size the arena is the whole stride; a second device's
 * lies a stride further. */
static void sizes(void)
{
    rm_backend_t b = B;
    b.cuDeviceTotalMem_v2 = NULL;
    rm_mm_arena_t a;
    rm_mm_arena_init(&a);
    CUdeviceptr p;
    CHECK(rm_mm_arena_take(&a, &b, BASE, 1, GRANULE, GRANULE, 0, &p) == CUDA_SUCCESS);
    CHECK(a.state == RM_MM_ARENA_HELD && a.base == BASE + RM_MM_ARENA_STRIDE && a.size == RM_MM_ARENA_STRIDE);
    rm_mm_arena_give(&a, &b, p, GRANULE);
    rm_mm_arena_destroy(&a, &b);
    rm_mm_arena_init(&a);
    CHECK(rm_mm_arena_take(&a, &B, BASE, 0, GRANULE, GRANULE, 0, &p) == CUDA_SUCCESS);
    CHECK(a.size == RM_MM_ARENA_PER_MEM * 1024 * MB); /* the fake's default memory */
    rm_mm_arena_give(&a, &B, p, GRANULE);
    rm_mm_arena_destroy(&a, &B);
}

int main(void)
{
    rm_backend_fake_fill(&B);
    CUdevice dev;
    CUcontext ctx;
    CHECK(B.cuInit(0) == CUDA_SUCCESS && B.cuDeviceGet(&dev, 0) == CUDA_SUCCESS);
    CHECK(B.cuDevicePrimaryCtxRetain(&ctx, dev) == CUDA_SUCCESS && B.cuCtxSetCurrent(ctx) == CUDA_SUCCESS);
    parse();
    take_and_give();
    piecewise();
    refused_whole();
    sizes();
    return 0;
}
