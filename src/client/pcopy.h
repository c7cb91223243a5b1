/* Host-to-host copies of large buffers split across a few helper threads:
 * staging pageable memory through shared segments is bound by memcpy
 * bandwidth, which one core cannot bring to the GPU's. */
#ifndef RM_PCOPY_H
#define RM_PCOPY_H

#include <stddef.h>

void rm_pcopy(void *dst, const void *src, size_t n);

#endif
