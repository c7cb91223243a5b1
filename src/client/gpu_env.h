/* Client: the per-GPU values limit variables hold (memlimit.h,
 * computeshare.h): Tensor Fusion's JSON objects keyed by GPU UUID or index,
 * and GPU UUIDs as those keys spell them. */
#ifndef RM_CL_GPU_ENV_H
#define RM_CL_GPU_ENV_H

#include <stdint.h>

/* u as nvidia-smi prints it after "GPU-": 36 characters and a NUL. */
void rm_cl_uuid_string(const uint8_t u[16], char out[40]);
/* json is {"KEY": N, ...}, each N a whole number from 1 to max, each KEY a
 * GPU's UUID (with or without "GPU-", any case) or index: *out is the entry
 * for GPU index whose UUID is uuid (a UUID's over an index's), 0 if none.
 * 0, or -1 if json is not such an object. */
int rm_cl_gpu_json(const char *json, int index, const char *uuid, uint64_t max, uint64_t *out);

#endif
