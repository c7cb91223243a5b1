/* Handler: the JIT linker. The client sends a link's options and inputs in
 * one request; the driver links them here and the image goes back with
 * the linker's logs. The link's status travels in the reply, so that the
 * logs come back also when linking failed. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "rm_handlers.h"
#include "sv_jit.h"

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
    rm_sv_jit_t *j = malloc(sizeof *j);
    if (!j)
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUresult res = rm_sv_jit_options(in->options, in->options_len, j);
    CUlinkState st;
    if (res == CUDA_SUCCESS && (res = sv->b->cuLinkCreate_v2(j->n, j->opts, j->vals, &st)) == CUDA_SUCCESS) {
        void *image = NULL;
        size_t size = 0;
        if ((res = link_inputs(sv, st, in->inputs, in->inputs_len)) == CUDA_SUCCESS)
            res = sv->b->cuLinkComplete(st, &image, &size);
        if (res == CUDA_SUCCESS && size > RM_MAX_MSG / 2)
            res = CUDA_ERROR_OUT_OF_MEMORY;
        /* the image lives until the link is destroyed: copied first */
        const void *copy = NULL;
        CUresult sent = rm_sv_jit_reply(sv, j, image, res == CUDA_SUCCESS ? size : 0, &out->info_log,
                                        &out->info_log_len, &out->error_log, &out->error_log_len, &copy);
        sv->b->cuLinkDestroy(st);
        out->status = (int32_t)res;
        if (res == CUDA_SUCCESS)
            out->image = copy, out->image_len = (uint32_t)size;
        res = sent;
    }
    free(j);
    return res;
}
