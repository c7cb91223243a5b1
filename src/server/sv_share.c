/* Handlers and helpers: the session's compute share (pace.h). The client's
 * request for a lower share, and the launches it paces: kernels
 * (cuLaunchKernel, cuLaunchKernelEx: sv_module.c) and graphs. Work captured
 * into a graph is not measured when captured: its graph's launches are. */
#include "log.h"
#include "rm_handlers.h"

void rm_sv_pace_begin(rm_sv_t *sv, uint64_t stream_id, CUstream s, rm_pace_ticket_t *t)
{
    *t = (rm_pace_ticket_t){0};
    rm_pace_t *p = &sv->s->pace;
    if (!p->table)
        return; /* a server without workers (tests) */
    int dev = rm_sv_current_device(sv);
    if (!rm_pace_active(p, dev) || rm_sv_capturing(sv, stream_id))
        return;
    rm_pace_begin(p, dev, s, t);
}

void rm_sv_pace_end(rm_sv_t *sv, CUstream s, rm_pace_ticket_t *t, CUresult r)
{
    rm_pace_end(&sv->s->pace, s, t, r);
}

CUresult rm_sv_graph_launch(rm_sv_t *sv, const rm_graph_launch_req_t *in, rm_graph_launch_rep_t *out)
{
    (void)out;
    RM_SV_NEED(sv, cuGraphLaunch);
    CUgraphExec e;
    CUstream s;
    if (rm_sv_handle_get(sv, RM_H_GEXEC, in->exec, (void **)&e) != 0 ||
        rm_sv_handle_get(sv, RM_H_STREAM, in->stream, (void **)&s) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    rm_pace_ticket_t t;
    rm_sv_pace_begin(sv, in->stream, s, &t);
    CUresult r = sv->b->cuGraphLaunch(e, s);
    rm_sv_pace_end(sv, s, &t, r);
    return r;
}

CUresult rm_sv_compute_share(rm_sv_t *sv, const rm_compute_share_req_t *in, rm_compute_share_rep_t *out)
{
    RM_SV_NEED(sv, cuDeviceGetCount);
    int ndev = 0;
    CUresult r = sv->b->cuDeviceGetCount(&ndev);
    if (r != CUDA_SUCCESS)
        return r;
    if (in->device < 0 || in->device >= ndev)
        return CUDA_ERROR_INVALID_DEVICE;
    if (in->device >= RM_SHARE_DEVICES) {
        RM_WARN_LIMITED("session %llu: no compute share for GPU %d: shares cover GPUs 0-%d",
                        (unsigned long long)sv->s->id, in->device, RM_SHARE_DEVICES - 1);
        return CUDA_ERROR_INVALID_DEVICE;
    }
    if (in->percent > 100)
        return CUDA_ERROR_INVALID_VALUE;
    out->share = rm_pace_request(&sv->s->pace, in->device, in->percent);
    RM_INFO("session %llu: GPU %d compute share %u%% (asked for %u%%; 0: none)", (unsigned long long)sv->s->id,
            in->device, out->share, in->percent);
    rm_counters_set(&sv->s->counters->compute_share, rm_pace_max_share(&sv->s->pace, ndev));
    return CUDA_SUCCESS;
}
