/* Many sections of a checkpoint at once (ckpt_file.h): the caller fills
 * buffers one after the other (device memory copied out of the GPU),
 * worker threads compress and sum them (rm_ckpt_encode), and the caller's
 * thread appends them to the file in the order they were handed in,
 * whenever it asks for the next buffer. So copying, compressing, summing
 * and writing overlap, and the file is what rm_ckpt_put one section after
 * the other would have made.
 *
 * The buffers are mmap'd, and pinned through the caller's hook where it
 * gives one (page-locked memory copies from the device at full speed). */
#ifndef RM_CKPT_PIPE_H
#define RM_CKPT_PIPE_H

#include <stddef.h>

#include "ckpt_file.h"

#define RM_CKPT_PIPE_LEAD 8 /* a buffer + this is page-aligned (after a memory section's address) */

typedef struct rm_ckpt_pipe rm_ckpt_pipe_t;

typedef struct {
    /* 0: p (n bytes) is pinned; anything else: it stays pageable */
    int (*pin)(void *arg, void *p, size_t n);
    void (*unpin)(void *arg, void *p);
    void *arg;
} rm_ckpt_pin_t;

/* How many worker threads a pipe runs (from the processors online, at most 8). */
int rm_ckpt_pipe_workers(void);
/* A pipe writing into c, its buffers of bytes each (at most
 * RM_CKPT_SECTION_MAX); pin may be NULL. Errors go to c->err. */
rm_status rm_ckpt_pipe_open(rm_ckpt_t *c, uint64_t bytes, const rm_ckpt_pin_t *pin, rm_ckpt_pipe_t **out);
/* The next buffer to fill (waits for one, appending finished sections
 * meanwhile); NULL once a section failed (rm_ckpt_pipe_close says why).
 * A buffer not put (the caller dropped what it held) is the next one. */
void *rm_ckpt_pipe_get(rm_ckpt_pipe_t *p);
/* The buffer from the last get holds a section of len bytes of type. */
void rm_ckpt_pipe_put(rm_ckpt_pipe_t *p, rm_ckpt_section type, uint64_t len);
/* Appends what is still in flight, stops the workers, frees everything:
 * RM_OK, or the first error (c->err says why; sections after it are not
 * written). */
rm_status rm_ckpt_pipe_close(rm_ckpt_pipe_t *p);

#endif
