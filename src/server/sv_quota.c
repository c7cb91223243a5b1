/* Handlers and helpers: the session's device-memory limit (quota.h). The
 * handlers that allocate charge through rm_sv_charge_*; here the client's
 * request for a lower limit, and the memory facts a limited session sees:
 * the limit as the device's total, what is left of it as free memory. */
#include "log.h"
#include "rm_handlers.h"

int rm_sv_current_device(rm_sv_t *sv)
{
    CUdevice dev = -1;
    if (!sv->b->cuCtxGetDevice || sv->b->cuCtxGetDevice(&dev) != CUDA_SUCCESS)
        return -1;
    return dev;
}

CUresult rm_sv_charge_take(rm_sv_t *sv, int dev, uint64_t bytes, const char *what, rm_sv_charge_t *t)
{
    *t = (rm_sv_charge_t){.dev = dev, .bytes = bytes};
    return rm_quota_take(&sv->s->quota, dev, bytes, what, &t->taken);
}

CUresult rm_sv_charge_failed(rm_sv_t *sv, const rm_sv_charge_t *t, CUresult r)
{
    if (r != CUDA_SUCCESS && t->taken)
        rm_quota_give(&sv->s->quota, t->dev, t->bytes);
    return r;
}

int rm_sv_charge_keep(rm_sv_t *sv, const rm_sv_charge_t *t, uint64_t key, uint64_t owner)
{
    if (!t->taken || rm_quota_keep(&sv->s->quota, t->dev, key, owner, t->bytes) == 0)
        return 0;
    rm_quota_give(&sv->s->quota, t->dev, t->bytes);
    return -1;
}

uint64_t rm_sv_device_total(rm_sv_t *sv, int dev, uint64_t real)
{
    uint64_t l = rm_quota_limit(&sv->s->quota, dev);
    return l && l < real ? l : real;
}

CUresult rm_sv_mem_get_info(rm_sv_t *sv, const rm_mem_get_info_req_t *in, rm_mem_get_info_rep_t *out)
{
    RM_SV_NEED(sv, cuMemGetInfo_v2);
    size_t free_bytes = 0, total = 0;
    CUresult r = sv->b->cuMemGetInfo_v2(&free_bytes, &total);
    if (r != CUDA_SUCCESS)
        return r;
    int dev = rm_sv_current_device(sv);
    uint64_t spare = dev >= 0 ? rm_mm_spare_bytes(&sv->s->mm, dev) : 0; /* the session's to take again */
    free_bytes = spare < total - free_bytes ? free_bytes + spare : total;
    out->total = rm_sv_device_total(sv, dev, total);
    out->free = free_bytes;
    if (out->total < total) { /* limited: what is left of the limit, as far as the GPU has it */
        uint64_t used = rm_quota_used(&sv->s->quota, dev);
        uint64_t left = used < out->total ? out->total - used : 0;
        out->free = left < free_bytes ? left : free_bytes;
    }
    return CUDA_SUCCESS;
}

CUresult rm_sv_mem_limit(rm_sv_t *sv, const rm_mem_limit_req_t *in, rm_mem_limit_rep_t *out)
{
    RM_SV_NEED(sv, cuDeviceGet);
    RM_SV_NEED(sv, cuDeviceTotalMem_v2);
    RM_SV_NEED(sv, cuDeviceGetCount);
    CUdevice dev;
    size_t real = 0;
    int ndev = 0;
    CUresult r = sv->b->cuDeviceGetCount(&ndev);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuDeviceGet(&dev, in->device);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuDeviceTotalMem_v2(&real, dev);
    if (r != CUDA_SUCCESS)
        return r;
    if (in->device >= RM_QUOTA_DEVICES) {
        RM_WARN_LIMITED("session %llu: no memory limit for GPU %d: limits cover GPUs 0-%d",
                        (unsigned long long)sv->s->id, in->device, RM_QUOTA_DEVICES - 1);
        return CUDA_ERROR_INVALID_DEVICE;
    }
    uint64_t l = rm_quota_request(&sv->s->quota, in->device, in->bytes);
    RM_INFO("session %llu: GPU %d memory limit %llu bytes (asked for %llu)", (unsigned long long)sv->s->id,
            in->device, (unsigned long long)l, (unsigned long long)in->bytes);
    rm_counters_set(&sv->s->counters->mem_limit, rm_quota_max_limit(&sv->s->quota, ndev));
    out->total_mem = rm_sv_device_total(sv, in->device, real);
    return CUDA_SUCCESS;
}
