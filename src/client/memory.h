/* Client view of device memory: the allocations and globals this process
 * got, so that UVA calls (cuMemcpy, pointer attributes) can tell device
 * pointers from host pointers without asking the server. */
#ifndef RM_CL_MEMORY_H
#define RM_CL_MEMORY_H

#include <cuda.h>
#include <stdint.h>

/* Remember [p, p+n) as device memory (allocation or module global). */
void rm_devmem_add(CUdeviceptr p, size_t n);
/* Reserve a device range's addresses here: 0, or -1 with a warning if it
 * overlaps host memory already (nothing is reserved then). */
int rm_devmem_reserve(CUdeviceptr p, size_t n);
/* The same for memory whose addresses are reserved otherwise (VMM
 * mappings inside a reserved range), and forgetting the mappings that start
 * inside [p, p+n). */
void rm_devmem_track(CUdeviceptr p, size_t n);
void rm_devmem_untrack(CUdeviceptr p, size_t n);
/* Forget the range that starts at p and release its reservation; -1 if no
 * range starts there. */
int rm_devmem_forget(CUdeviceptr p);
/* 1 if p lies in known device memory. */
int rm_devmem_contains(CUdeviceptr p);

#endif
