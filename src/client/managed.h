/* Client: managed memory (cuMemAllocManaged), emulated. The client and the
 * server are different processes, so memory both the CPU and the GPU
 * address directly cannot exist; remora gives each managed allocation one
 * address that is both a device allocation (made by the server, reserved
 * here as every device range is: uva.h) and ordinary host memory mapped
 * here at that same address, and keeps the two copies coherent at the
 * points CUDA guarantees coherence on devices without concurrent managed
 * access:
 *  - before device work is issued (launches, graph launches, copies,
 *    memsets) the allocations the CPU wrote since they were last copied are
 *    copied host -> device (writes are detected with mprotect: a clean
 *    allocation is read-only, its first write faults and marks it dirty);
 *  - after a synchronising call (context, stream or event synchronize, a
 *    synchronous copy or memset) the allocations device work may have
 *    written are copied device -> host, unless the CPU wrote them meanwhile
 *    (memory attached to the host: the CPU's copy wins).
 * Copies use the ordinary paths (staged over shm, inline over TCP), so both
 * transports work; the cost is the size of the allocations involved per
 * synchronisation. */
#ifndef RM_CL_MANAGED_H
#define RM_CL_MANAGED_H

#include <cuda.h>
#include <stddef.h>

/* Device work is about to be issued that may write [dst, dst+n) (n
 * SIZE_MAX: any memory, a kernel). */
void rm_managed_before_work(CUdeviceptr dst, size_t n);
/* Device work issued so far is complete. */
void rm_managed_after_sync(void);
/* If p starts a managed allocation: forget it, give the device allocation
 * to free in *alloc and return 0; else -1. */
int rm_managed_forget(CUdeviceptr p, CUdeviceptr *alloc);
/* Pointer attribute of managed memory: CUDA_ERROR_NOT_FOUND if p is not
 * managed. */
CUresult rm_managed_attribute(void *data, CUpointer_attribute attr, CUdeviceptr p);

#endif
