/* Server: JIT options (sv_jit.h). */
#include <string.h>

#include "buf.h"
#include "sv_jit.h"

enum { RECORD = 12 }; /* u32 option, u64 value */

CUresult rm_sv_jit_options(const void *blob, uint32_t len, rm_sv_jit_t *j)
{
    if (len % RECORD || len / RECORD > RM_JIT_MAX_OPTIONS - 4)
        return CUDA_ERROR_INVALID_VALUE;
    memset(j->logs, 0, sizeof j->logs);
    const CUjit_option own[] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER,
                                CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *const own_vals[] = {j->logs[0], (void *)(uintptr_t)(RM_JIT_LOG_BYTES - 1), j->logs[1],
                              (void *)(uintptr_t)(RM_JIT_LOG_BYTES - 1)};
    memcpy(j->opts, own, sizeof own);
    memcpy(j->vals, own_vals, sizeof own_vals);
    j->n = 4;
    rm_rbuf_t r;
    rm_rbuf_init(&r, blob, len);
    while (r.left) {
        uint32_t o = rm_rbuf_u32(&r);
        uint64_t v = rm_rbuf_u64(&r);
        if (o >= CU_JIT_NUM_OPTIONS || o == CU_JIT_INFO_LOG_BUFFER || o == CU_JIT_ERROR_LOG_BUFFER ||
            o == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES || o == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES ||
            o == CU_JIT_WALL_TIME || o == CU_JIT_GLOBAL_SYMBOL_NAMES || o == CU_JIT_GLOBAL_SYMBOL_ADDRESSES)
            return CUDA_ERROR_INVALID_VALUE;
        j->opts[j->n] = (CUjit_option)o, j->vals[j->n] = (void *)(uintptr_t)v, j->n++;
    }
    return CUDA_SUCCESS;
}

CUresult rm_sv_jit_reply(rm_sv_t *sv, const rm_sv_jit_t *j, const void *extra, size_t extra_len,
                         const void **info, uint32_t *info_len, const void **error, uint32_t *error_len,
                         const void **extra_out)
{
    char *p = rm_sv_scratch(sv, sizeof j->logs + extra_len);
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(p, j->logs, sizeof j->logs);
    if (extra_len)
        memcpy(p + sizeof j->logs, extra, extra_len);
    *info = p, *info_len = (uint32_t)strnlen(p, RM_JIT_LOG_BYTES);
    *error = p + RM_JIT_LOG_BYTES, *error_len = (uint32_t)strnlen(p + RM_JIT_LOG_BYTES, RM_JIT_LOG_BYTES);
    if (extra_out)
        *extra_out = p + sizeof j->logs;
    return CUDA_SUCCESS;
}
