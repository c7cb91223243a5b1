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
/* Migration (a stream, the program running): the dirty allocations taken
 * (mm.h; malloc'd list, cleared in the manager), the list of every
 * allocation (RM_CKPT_ALLOCS; *count: how many), and the contents of a
 * list (RM_CKPT_MEMORY; allocations freed meanwhile are skipped; *bytes
 * grows by what was sent). Errors go to c->err. */
typedef struct {
    rm_mm_info_t *v;
    size_t n, cap;
} rm_ckpt_allocs_t;
rm_status rm_ckpt_mem_take_dirty(rm_ckpt_t *c, rm_mm_t *m, rm_ckpt_allocs_t *dirty);
rm_status rm_ckpt_mem_put_allocs(rm_ckpt_t *c, rm_mm_t *m, uint32_t *count);
rm_status rm_ckpt_mem_put_contents(rm_ckpt_t *c, rm_mm_t *m, const rm_ckpt_allocs_t *l, uint64_t *bytes);

/* One section read back: ALLOCS makes the manager's allocations those of
 * the list (each mapped at its address: rm_mm_place; others freed), MEMORY copies bytes into one of them. Errors go to c->err. */
rm_status rm_ckpt_mem_load(rm_ckpt_t *c, rm_mm_t *m, const rm_backend_t *b, rm_ckpt_section type,
                           const void *data, uint64_t len);

#endif
