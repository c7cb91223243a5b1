/* Server: JIT options from a client (u32 option, u64 value each), with
 * log buffers of the server's own in front, and the logs for the reply. */
#ifndef RM_SV_JIT_H
#define RM_SV_JIT_H

#include <cuda.h>
#include <stdint.h>

#include "sv.h"

#define RM_JIT_MAX_OPTIONS 32
#define RM_JIT_LOG_BYTES 16384

typedef struct {
    CUjit_option opts[RM_JIT_MAX_OPTIONS];
    void *vals[RM_JIT_MAX_OPTIONS];
    unsigned n;
    char logs[2][RM_JIT_LOG_BYTES]; /* info, error */
} rm_sv_jit_t;

/* CUDA_ERROR_INVALID_VALUE for a malformed list or an option that is a
 * pointer (those stay in the client). */
CUresult rm_sv_jit_options(const void *blob, uint32_t len, rm_sv_jit_t *j);
/* The logs and `extra` bytes (a linked image; may be 0) in the channel's
 * scratch, for the reply; *extra_out points at the copy. */
CUresult rm_sv_jit_reply(rm_sv_t *sv, const rm_sv_jit_t *j, const void *extra, size_t extra_len,
                         const void **info, uint32_t *info_len, const void **error, uint32_t *error_len,
                         const void **extra_out);

#endif
