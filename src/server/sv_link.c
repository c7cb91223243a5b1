/* Handler: the JIT linker. The client sends a link's options and inputs in
 * one request; the driver links them here and the image goes back with
 * the linker's logs. The link's status travels in the reply, so that the
 * logs come back also when linking failed. */
#include <string.h>

#include "buf.h"
#include "log.h"
#include "rm_handlers.h"

#define MAX_OPTIONS 32
#define LOG_BYTES 16384

static CUresult link_inputs(rm_sv_t *sv, CUlinkState st, const void *inputs, uint32_t len)
{
    rm_rbuf_t r;
    rm_rbuf_init(&r, inputs, len);
    CUresult res = CUDA_SUCCESS;
    while (r.left && res == CUDA_SUCCESS) {
        uint32_t type = rm_rbuf_u32(&r), name_len, size;
        const char *name = rm_rbuf_bytes(&r, &name_len);
        const void *data = rm_rbuf_bytes(&r, &size);
        if (r.bad || !name_len || name[name_len - 1] != '\0' || !size)
            return CUDA_ERROR_INVALID_VALUE;
        res = sv->b->cuLinkAddData_v2(st, (CUjitInputType)type, (void *)data, size, name, 0, NULL, NULL);
    }
    return res;
}

CUresult rm_sv_link(rm_sv_t *sv, const rm_link_req_t *in, rm_link_rep_t *out)
{
    RM_SV_NEED(sv, cuLinkCreate_v2);
    RM_SV_NEED(sv, cuLinkAddData_v2);
    RM_SV_NEED(sv, cuLinkComplete);
    RM_SV_NEED(sv, cuLinkDestroy);
    enum { RECORD = 12 }; /* u32 option, u64 value */
    if (in->options_len % RECORD || in->options_len / RECORD > MAX_OPTIONS - 4)
        return CUDA_ERROR_INVALID_VALUE;
    char *logs = rm_sv_scratch(sv, 2 * LOG_BYTES);
    if (!logs)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memset(logs, 0, 2 * LOG_BYTES);
    CUjit_option opts[MAX_OPTIONS] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                                      CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *vals[MAX_OPTIONS] = {logs, (void *)(uintptr_t)(LOG_BYTES - 1), logs + LOG_BYTES,
                               (void *)(uintptr_t)(LOG_BYTES - 1)};
    unsigned n = 4;
    rm_rbuf_t r;
    rm_rbuf_init(&r, in->options, in->options_len);
    while (r.left) {
        uint32_t o = rm_rbuf_u32(&r);
        uint64_t v = rm_rbuf_u64(&r);
        if (o >= CU_JIT_NUM_OPTIONS || o == CU_JIT_INFO_LOG_BUFFER || o == CU_JIT_ERROR_LOG_BUFFER ||
            o == CU_JIT_WALL_TIME || o == CU_JIT_GLOBAL_SYMBOL_NAMES || o == CU_JIT_GLOBAL_SYMBOL_ADDRESSES)
            return CUDA_ERROR_INVALID_VALUE; /* options that are pointers stay in the client */
        opts[n] = (CUjit_option)o, vals[n] = (void *)(uintptr_t)v, n++;
    }
    CUlinkState st;
    CUresult res = sv->b->cuLinkCreate_v2(n, opts, vals, &st);
    if (res != CUDA_SUCCESS)
        return res;
    void *image = NULL;
    size_t size = 0;
    if ((res = link_inputs(sv, st, in->inputs, in->inputs_len)) == CUDA_SUCCESS)
        res = sv->b->cuLinkComplete(st, &image, &size);
    /* the image lives until the link is destroyed: send it first */
    if (res == CUDA_SUCCESS && size > RM_MAX_MSG / 2)
        res = CUDA_ERROR_OUT_OF_MEMORY;
    void *copy = res == CUDA_SUCCESS ? rm_sv_scratch(sv, 2 * LOG_BYTES + size) : NULL;
    if (res == CUDA_SUCCESS && !copy)
        res = CUDA_ERROR_OUT_OF_MEMORY;
    logs = copy ? copy : logs; /* the scratch may have moved */
    if (copy)
        memcpy((char *)copy + 2 * LOG_BYTES, image, size);
    sv->b->cuLinkDestroy(st);
    out->status = (int32_t)res;
    out->info_log = logs, out->info_log_len = (uint32_t)strnlen(logs, LOG_BYTES);
    out->error_log = logs + LOG_BYTES, out->error_log_len = (uint32_t)strnlen(logs + LOG_BYTES, LOG_BYTES);
    if (res == CUDA_SUCCESS)
        out->image = (char *)copy + 2 * LOG_BYTES, out->image_len = (uint32_t)size;
    return CUDA_SUCCESS;
}
