/* Handler of the nvml op (proto/cuda.spec) and the session's view of NVML's
 * answers (proto/nvml.spec's after= and answer= hooks): a session with a
 * memory limit sees the limit as the GPU's memory and its own use as the
 * memory used; the processes on a GPU are the session's client process,
 * never the server's workers or other sessions. */
#include <pthread.h>
#include <string.h>

#include "log.h"
#include "nvml_backend.h"
#include "rm_handlers.h"

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
static rm_nvml_api_t api;
static int api_state; /* 0 not loaded, 1 loaded, -1 failed (logged once) */

/* The worker's NVML, loaded on first use. NULL if it cannot be. */
static const rm_nvml_api_t *nvml_api(rm_sv_t *sv)
{
    pthread_mutex_lock(&api_lock);
    if (!api_state) {
        if (strcmp(sv->b->name, "fake") == 0)
            rm_nvml_fake_fill(&api);
        api_state = strcmp(sv->b->name, "fake") == 0 || rm_nvml_real_open(&api) == RM_OK ? 1 : -1;
    }
    int ok = api_state == 1;
    pthread_mutex_unlock(&api_lock);
    return ok ? &api : NULL;
}

/* NVML's handle of the server's GPU dev: the one at the driver's PCI bus id
 * (NVML and CUDA may number GPUs differently), else NVML's same index. */
static nvmlReturn_t nvml_device(rm_sv_t *sv, const rm_nvml_api_t *nv, int dev, nvmlDevice_t *d)
{
    char bus[32];
    if (sv->b->cuDeviceGetPCIBusId && nv->nvmlDeviceGetHandleByPciBusId_v2 &&
        sv->b->cuDeviceGetPCIBusId(bus, sizeof bus, dev) == CUDA_SUCCESS &&
        nv->nvmlDeviceGetHandleByPciBusId_v2(bus, d) == NVML_SUCCESS)
        return NVML_SUCCESS;
    return nv->nvmlDeviceGetHandleByIndex_v2((unsigned)dev, d);
}

CUresult rm_sv_nvml(rm_sv_t *sv, const rm_nvml_req_t *in, rm_nvml_rep_t *out)
{
    if (in->fn >= RM_NVML_COUNT) {
        RM_WARN_LIMITED("session %llu: unknown NVML call %u", (unsigned long long)sv->s->id, in->fn);
        out->ret = NVML_ERROR_FUNCTION_NOT_FOUND;
        return CUDA_SUCCESS;
    }
    const rm_nvml_api_t *nv = nvml_api(sv);
    if (!nv) {
        out->ret = NVML_ERROR_LIBRARY_NOT_FOUND;
        return CUDA_SUCCESS;
    }
    nvmlDevice_t d = NULL;
    nvmlReturn_t r = NVML_SUCCESS;
    if (rm_nvml_fn_info[in->fn].device)
        r = in->device < 0 ? NVML_ERROR_INVALID_ARGUMENT : nvml_device(sv, nv, in->device, &d);
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    if (r == NVML_SUCCESS) {
        rm_rbuf_t args;
        rm_rbuf_init(&args, in->args, in->args_len);
        r = rm_nvml_run(sv, nv, in->fn, in->device, d, &args, &w);
    }
    out->ret = (int32_t)r;
    void *p = w.len ? rm_sv_scratch(sv, w.len) : NULL;
    CUresult res = w.oom || (w.len && !p) ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_SUCCESS;
    if (res == CUDA_SUCCESS && w.len) {
        memcpy(p, w.data, w.len);
        out->result = p;
        out->result_len = (uint32_t)w.len;
    }
    rm_wbuf_free(&w);
    RM_DEBUG("session %llu: %s(GPU %d): %s", (unsigned long long)sv->s->id, rm_nvml_fn_info[in->fn].name,
             in->device, rm_nvml_error_string(r));
    return res;
}

/* The session's limit on dev (0: none) and the bytes it holds there. */
static uint64_t session_limit(rm_sv_t *sv, int dev, uint64_t *used)
{
    *used = rm_quota_used(&sv->s->quota, dev);
    return rm_quota_limit(&sv->s->quota, dev);
}

/* A limited session's view of a GPU of total bytes with free bytes free. */
static void limited_view(rm_sv_t *sv, int dev, unsigned long long *total, unsigned long long *free_b,
                         unsigned long long *used_b)
{
    uint64_t used, limit = session_limit(sv, dev, &used);
    if (!limit || limit >= *total)
        return;
    uint64_t left = used < limit ? limit - used : 0;
    *total = limit;
    *used_b = used;
    *free_b = left < *free_b ? left : *free_b;
}

void rm_sv_nvml_memory(rm_sv_t *sv, int dev, nvmlMemory_t *m) { limited_view(sv, dev, &m->total, &m->free, &m->used); }

void rm_sv_nvml_memory_v2(rm_sv_t *sv, int dev, nvmlMemory_v2_t *m)
{
    unsigned long long total = m->total;
    limited_view(sv, dev, &m->total, &m->free, &m->used);
    if (m->total != total)
        m->reserved = 0; /* the driver's reservation is outside the session's limit */
}

/* The session's client process as a process on dev: whether it is one
 * (it holds memory there or has retained the GPU's primary context) and
 * the memory it holds there (the whole session's without a limit: only
 * limited GPUs are accounted per GPU). */
static int session_process(rm_sv_t *sv, int dev, unsigned *pid, unsigned long long *mem)
{
    uint64_t used;
    if (session_limit(sv, dev, &used) == 0)
        used = rm_counters_get(&sv->s->counters->mem_bytes);
    int on = used > 0 || (dev >= 0 && dev < 64 && sv->s->primary[dev] != 0);
    *pid = sv->s->client_pid;
    *mem = used;
    return on;
}

/* NVML's list answer for n (0 or 1) processes, the one in p (size bytes,
 * the caller's struct version), given the room *count the caller has. */
static nvmlReturn_t answer_list(unsigned n, const void *p, size_t size, unsigned int *count, void *infos)
{
    if (*count < n) {
        *count = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (n)
        memcpy(infos, p, size);
    *count = n;
    return NVML_SUCCESS;
}

nvmlReturn_t rm_sv_nvml_processes(rm_sv_t *sv, int dev, unsigned int *count, nvmlProcessInfo_t *infos)
{
    nvmlProcessInfo_t p = {.gpuInstanceId = 0xFFFFFFFFu, .computeInstanceId = 0xFFFFFFFFu}; /* no MIG */
    unsigned n = (unsigned)session_process(sv, dev, &p.pid, &p.usedGpuMemory);
    return answer_list(n, &p, sizeof p, count, infos);
}

nvmlReturn_t rm_sv_nvml_processes_v1(rm_sv_t *sv, int dev, unsigned int *count, nvmlProcessInfo_v1_t *infos)
{
    nvmlProcessInfo_v1_t p = {0};
    unsigned n = (unsigned)session_process(sv, dev, &p.pid, &p.usedGpuMemory);
    return answer_list(n, &p, sizeof p, count, infos);
}

/* remora runs no graphics or MPS work. */
nvmlReturn_t rm_sv_nvml_no_processes(rm_sv_t *sv, int dev, unsigned int *count, nvmlProcessInfo_t *infos)
{
    *count = 0;
    return NVML_SUCCESS;
}

nvmlReturn_t rm_sv_nvml_no_processes_v1(rm_sv_t *sv, int dev, unsigned int *count, nvmlProcessInfo_v1_t *infos)
{
    *count = 0;
    return NVML_SUCCESS;
}
