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

/* A per-GPU limit read from four variables, the first that names a GPU
 * winning: remora's (every GPU), Tensor Fusion's JSON object, HAMi's for
 * GPU i (hami with "_<i>" after it), HAMi's for every GPU. */
typedef struct {
    const char *remora, *tf, *hami;
    /* A plain value (remora's, HAMi's): 0, or -1 if v is not one. */
    int (*parse)(const char *v, uint64_t *out);
    const char *plain_is; /* what a plain value is, for the error line */
    uint64_t tf_max;      /* tf's values are 1 to tf_max */
    const char *tf_is;    /* what tf's values are, for the error line */
    uint64_t no_limit;    /* a value that means none (0 if there is none) */
} rm_cl_gpu_limit_t;

/* The limit asked for GPU index (its UUID: u), 0 if none. Every variable
 * that is set is checked whole, also where one before it decides: a typo
 * is an error, never a silently larger limit. 0, or -1 after an error line
 * naming the variable whose value is not valid (*out untouched). */
int rm_cl_gpu_limit_wanted(const rm_cl_gpu_limit_t *l, int index, const uint8_t u[16], uint64_t *out);

#endif
