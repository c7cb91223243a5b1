/* Module images (fatbin, ELF cubin, PTX text) carry no length in the CUDA
 * API: the client works it out from the format to send the image, and the
 * server checks the same against what it received before the driver reads
 * it. */
#ifndef RM_IMAGE_H
#define RM_IMAGE_H

#include <stddef.h>

/* Bytes the image at p occupies, reading at most `avail` bytes of it;
 * 0 if that cannot be told within `avail` (a truncated header, text
 * without its NUL). The result may exceed avail for binary formats whose
 * header claims more (SIZE_MAX when a claimed end overflows): callers
 * compare. An ELF image reaches to the end of its header tables and of
 * every section's and segment's contents. */
size_t rm_image_size(const void *p, size_t avail);
/* The image a load call means: a fatbin wrapper (what nvcc puts in a
 * program and NVIDIA's cudart loads) stands for the fatbin it points to.
 * Client side only: the wrapper's pointer means nothing in another process,
 * so rm_image_size refuses wrappers (0). */
const void *rm_image_unwrap(const void *p);

#endif
