/* Device memory in a checkpoint (ckpt_file.h): the memory manager's
 * allocations (one RM_CKPT_ALLOCS section) and their bytes (RM_CKPT_MEMORY
 * sections of at most RM_CKPT_PIECE bytes each). A session with a plain
 * cuMemAlloc allocation (remora-server --alloc plain, or where the VMM path
 * could not serve) cannot be checkpointed: saving says which allocation. */
#ifndef RM_CKPT_MEM_H
#define RM_CKPT_MEM_H

#include "backend.h"
#include "ckpt_file.h"
#include "mm.h"

#define RM_CKPT_PIECE ((uint64_t)16 << 20) /* written; a reader takes any up to RM_CKPT_SECTION_MAX */

/* Write every allocation and its contents (the device must be idle: the
 * caller has synchronised the session). */
rm_status rm_ckpt_mem_save(rm_ckpt_t *c, rm_mm_t *m, const rm_backend_t *b);
/* One section read back: ALLOCS maps every allocation at its address
 * (rm_mm_place), MEMORY copies bytes into one of them. Errors go to c->err. */
rm_status rm_ckpt_mem_load(rm_ckpt_t *c, rm_mm_t *m, const rm_backend_t *b, rm_ckpt_section type,
                           const void *data, uint64_t len);

#endif
