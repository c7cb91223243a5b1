/* Client host memory that CUDA calls "page-locked": cuMemAllocHost,
 * cuMemHostAlloc and cuMemHostRegister. Over shm, allocations are carved
 * from shared segments the server has registered with the driver, so copies
 * from them are DMA on the server and mapped memory is visible to kernels.
 * Over TCP they are ordinary memory remembered as pinned. */
#ifndef RM_HOSTMEM_H
#define RM_HOSTMEM_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

struct rm_chan;

typedef enum { RM_HOST_SEGMENT, RM_HOST_LOCAL, RM_HOST_REGISTERED } rm_host_kind;

typedef struct {
    rm_host_kind kind;
    unsigned flags;    /* CU_MEMHOSTALLOC_* / CU_MEMHOSTREGISTER_* */
    uintptr_t base;    /* client address */
    size_t size;
    uint64_t seg_addr; /* RM_HOST_SEGMENT: server address of base */
    uint64_t dev;      /* device address of base when mapped, else 0 */
    int srv;           /* the server it is page-locked for (REMORA_SERVER's list); -1 registered */
} rm_host_region_t;

/* The page-locked region that holds [p, p+n), or NULL. */
const rm_host_region_t *rm_host_find(const void *p, size_t n);
/* Segment memory for ch's staging (shm only); NULL if unavailable. */
void *rm_host_staging_alloc(struct rm_chan *ch, size_t n, uint64_t *seg_addr);
void rm_host_staging_free(void *p);

#endif
