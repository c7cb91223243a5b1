/* Reading a checkpoint ahead (ckpt_file.h): after rm_ckpt_read_ahead, a
 * thread takes the sections off the file and worker threads check their
 * sums and decompress them while the caller uses the ones before (a
 * restore copies them into the device); rm_ckpt_next hands them out in
 * order, each exactly as it would have without, the first error as it
 * would have come. At most about RM_CKPT_AHEAD_BYTES are read ahead. */
#ifndef RM_CKPT_AHEAD_H
#define RM_CKPT_AHEAD_H

#include "ckpt_file.h"

#define RM_CKPT_AHEAD_BYTES ((uint64_t)512 << 20)

/* RM_OK (also when already reading ahead), or RM_ERR_NOMEM: no memory or
 * threads for it (c->err says so; rm_ckpt_next still reads, in turn). */
rm_status rm_ckpt_read_ahead(rm_ckpt_t *c);
/* rm_ckpt_next while reading ahead. */
rm_status rm_ckpt_ahead_next(rm_ckpt_t *c, rm_ckpt_section *type, void **data, uint64_t *len);
/* Stop the threads and free what they read and nobody took (rm_ckpt_close
 * does it; nothing when not reading ahead). */
void rm_ckpt_ahead_stop(rm_ckpt_t *c);

#endif
