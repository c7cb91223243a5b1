/* Client: graph nodes on the wire. */
#ifndef RM_CL_GRAPH_H
#define RM_CL_GRAPH_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

#include "wire_types.h"

/* The u64 handles of n nodes (n <= RM_MAX_GNODES; nodes may be NULL only
 * when n is 0) into ids; CUDA_ERROR_INVALID_VALUE otherwise. */
CUresult rm_cl_gnodes(const CUgraphNode *nodes, size_t n, uint64_t *ids);

#endif
