/* Client: JIT options (jit.h). */
#include <string.h>

#include "jit.h"
#include "log.h"

enum { INFO, ERROR };

void rm_jit_init(rm_jit_t *j)
{
    memset(j, 0, sizeof *j);
    rm_wbuf_init(&j->values);
}

void rm_jit_free(rm_jit_t *j) { rm_wbuf_free(&j->values); }

static CUresult take(rm_jit_t *j, CUjit_option o, void *v, const char *call)
{
    switch (o) {
    case CU_JIT_INFO_LOG_BUFFER: j->log[INFO] = v; return CUDA_SUCCESS;
    case CU_JIT_ERROR_LOG_BUFFER: j->log[ERROR] = v; return CUDA_SUCCESS;
    case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES: j->log_size[INFO] = (uintptr_t)v; return CUDA_SUCCESS;
    case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES: j->log_size[ERROR] = (uintptr_t)v; return CUDA_SUCCESS;
    case CU_JIT_WALL_TIME: return CUDA_SUCCESS;
    case CU_JIT_GLOBAL_SYMBOL_NAMES:
    case CU_JIT_GLOBAL_SYMBOL_ADDRESSES:
    case CU_JIT_GLOBAL_SYMBOL_COUNT:
        RM_WARN("%s: global symbol tables (JIT option %d) are not supported", call, (int)o);
        return CUDA_ERROR_NOT_SUPPORTED;
    default:
        if ((unsigned)o >= CU_JIT_NUM_OPTIONS)
            return CUDA_ERROR_INVALID_VALUE;
        rm_wbuf_u32(&j->values, (uint32_t)o);
        rm_wbuf_u64(&j->values, (uint64_t)(uintptr_t)v);
        return CUDA_SUCCESS;
    }
}

CUresult rm_jit_take(rm_jit_t *j, unsigned n, const CUjit_option *opts, void *const *vals, const char *call)
{
    if (n && (!opts || !vals))
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_SUCCESS;
    for (unsigned i = 0; i < n && r == CUDA_SUCCESS; i++)
        r = take(j, opts[i], vals[i], call);
    return r;
}

int rm_jit_any(const rm_jit_t *j)
{
    return j->values.len || (j->log[INFO] && j->log_size[INFO]) || (j->log[ERROR] && j->log_size[ERROR]);
}

static void fill(char *buf, size_t size, const void *text, uint32_t len)
{
    if (!buf || size == 0)
        return;
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
}

void rm_jit_logs(const rm_jit_t *j, const void *info, uint32_t info_len, const void *error, uint32_t error_len)
{
    fill(j->log[INFO], j->log_size[INFO], info, info_len);
    fill(j->log[ERROR], j->log_size[ERROR], error, error_len);
}
