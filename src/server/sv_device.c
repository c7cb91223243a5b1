/* Handlers: initialisation, device facts, contexts. */
#include <string.h>

#include "rm_handlers.h"
#include "wire_types.h"

CUresult rm_sv_init(rm_sv_t *sv, const rm_init_req_t *in, rm_init_rep_t *out)
{
    RM_SV_NEED(sv, cuInit);
    RM_SV_NEED(sv, cuDriverGetVersion);
    RM_SV_NEED(sv, cuDeviceGetCount);
    CUresult r = sv->b->cuInit(in->flags);
    int v = 0, n = 0;
    if (r == CUDA_SUCCESS)
        r = sv->b->cuDriverGetVersion(&v);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuDeviceGetCount(&n);
    out->driver_version = (uint32_t)v;
    out->device_count = n;
    return r;
}

CUresult rm_sv_device_info(rm_sv_t *sv, const rm_device_info_req_t *in, rm_device_info_rep_t *out)
{
    RM_SV_NEED(sv, cuDeviceGet);
    RM_SV_NEED(sv, cuDeviceGetName);
    RM_SV_NEED(sv, cuDeviceGetUuid_v2);
    RM_SV_NEED(sv, cuDeviceTotalMem_v2);
    RM_SV_NEED(sv, cuDeviceGetAttribute);
    rm_device_info_t *d = rm_sv_scratch(sv, sizeof *d);
    if (!d)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memset(d, 0, sizeof *d);
    CUdevice dev;
    CUresult r = sv->b->cuDeviceGet(&dev, in->device);
    if (r != CUDA_SUCCESS)
        return r;
    CUuuid uuid;
    size_t mem = 0;
    if ((r = sv->b->cuDeviceGetName(d->name, sizeof d->name - 1, dev)) != CUDA_SUCCESS ||
        (r = sv->b->cuDeviceGetUuid_v2(&uuid, dev)) != CUDA_SUCCESS ||
        (r = sv->b->cuDeviceTotalMem_v2(&mem, dev)) != CUDA_SUCCESS)
        return r;
    memcpy(d->uuid, uuid.bytes, sizeof d->uuid);
    d->total_mem = rm_sv_device_total(sv, in->device, mem); /* a session's limit is its GPU's size */
    for (int a = 1; a < CU_DEVICE_ATTRIBUTE_MAX; a++) {
        int v = 0;
        /* attributes this driver does not know stay 0, as queries of them fail */
        if (sv->b->cuDeviceGetAttribute(&v, (CUdevice_attribute)a, dev) == CUDA_SUCCESS)
            d->attrs[a] = v;
    }
    out->info = d;
    out->info_len = sizeof *d;
    return CUDA_SUCCESS;
}

CUresult rm_sv_primary_ctx(rm_sv_t *sv, const rm_primary_ctx_req_t *in, rm_primary_ctx_rep_t *out)
{
    RM_SV_NEED(sv, cuDeviceGetCount);
    if (in->retain) {
        RM_SV_NEED(sv, cuDevicePrimaryCtxRetain);
    } else {
        RM_SV_NEED(sv, primary_ctx_handle);
    }
    int n = 0;
    if (sv->b->cuDeviceGetCount(&n) != CUDA_SUCCESS || in->device < 0 || in->device >= n)
        return CUDA_ERROR_INVALID_DEVICE; /* before the driver's private entry sees it */
    CUcontext ctx;
    CUresult r = in->retain ? sv->b->cuDevicePrimaryCtxRetain(&ctx, in->device)
                            : sv->b->primary_ctx_handle(&ctx, in->device);
    if (r != CUDA_SUCCESS)
        return r;
    out->pctx = rm_sv_handle_put(sv, RM_H_CTX, ctx);
    if (in->device >= 0 && in->device < 64)
        sv->s->primary[in->device] = out->pctx;
    return out->pctx ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

/* After a release or reset: if the primary context is gone, so is what it held. */
static void forget_if_inactive(rm_sv_t *sv, int device)
{
    unsigned flags;
    int active = 1;
    if (device < 0 || device >= 64 || !sv->b->cuDevicePrimaryCtxGetState ||
        sv->b->cuDevicePrimaryCtxGetState(device, &flags, &active) != CUDA_SUCCESS || active)
        return;
    rm_sv_forget_owned(sv, sv->s->primary[device]);
}

CUresult rm_sv_primary_ctx_release(rm_sv_t *sv, const rm_primary_ctx_release_req_t *in,
                                   rm_primary_ctx_release_rep_t *out)
{
    RM_SV_NEED(sv, cuDevicePrimaryCtxRelease_v2);
    CUresult r = sv->b->cuDevicePrimaryCtxRelease_v2(in->device);
    if (r == CUDA_SUCCESS)
        forget_if_inactive(sv, in->device); /* the last release destroyed it */
    return r;
}

CUresult rm_sv_primary_ctx_reset(rm_sv_t *sv, const rm_primary_ctx_reset_req_t *in,
                                 rm_primary_ctx_reset_rep_t *out)
{
    RM_SV_NEED(sv, cuDevicePrimaryCtxReset_v2);
    CUresult r = sv->b->cuDevicePrimaryCtxReset_v2(in->device);
    if (r == CUDA_SUCCESS)
        forget_if_inactive(sv, in->device); /* the reset destroyed it */
    return r;
}

CUresult rm_sv_ctx_set_current(rm_sv_t *sv, const rm_ctx_set_current_req_t *in, rm_ctx_set_current_rep_t *out)
{
    RM_SV_NEED(sv, cuCtxSetCurrent);
    CUcontext ctx;
    if (rm_sv_handle_get(sv, RM_H_CTX, in->ctx, (void **)&ctx) != 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    CUresult r = sv->b->cuCtxSetCurrent(ctx);
    if (r == CUDA_SUCCESS)
        rm_sv_set_ctx(sv, in->ctx); /* what this thread creates now belongs to it */
    return r;
}

CUresult rm_sv_ctx_create(rm_sv_t *sv, const rm_ctx_create_req_t *in, rm_ctx_create_rep_t *out)
{
    RM_SV_NEED(sv, cuCtxCreate_v4);
    CUcontext ctx;
    CUresult r = sv->b->cuCtxCreate_v4(&ctx, NULL, in->flags, in->device);
    if (r != CUDA_SUCCESS)
        return r;
    out->pctx = rm_sv_handle_put(sv, RM_H_CTX, ctx);
    rm_sv_set_ctx(sv, out->pctx); /* the driver made it current */
    return out->pctx ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult rm_sv_ctx_destroy(rm_sv_t *sv, const rm_ctx_destroy_req_t *in, rm_ctx_destroy_rep_t *out)
{
    RM_SV_NEED(sv, cuCtxDestroy_v2);
    CUcontext ctx;
    if (in->ctx == 0 || rm_sv_handle_claim(sv, RM_H_CTX, in->ctx, (void **)&ctx) != 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    CUresult r = sv->b->cuCtxDestroy_v2(ctx);
    if (r == CUDA_SUCCESS) {
        rm_sv_forget_owned(sv, in->ctx); /* its streams, events, modules, memory */
        if (sv->ctx == in->ctx)
            rm_sv_set_ctx(sv, 0);
    }
    return rm_sv_handle_settle(sv, RM_H_CTX, in->ctx, r);
}
