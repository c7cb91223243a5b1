/* Handlers: making events (their flags kept for checkpoints: the driver
 * cannot tell them), destroying streams, events, graphs and pools (the
 * handle dies with them; claimed first, so two channels destroying one
 * handle at once reach the driver once). */
#include "rm_handlers.h"

static CUresult destroy(rm_sv_t *sv, rm_hkind kind, uint64_t id, CUresult (*fn)(void *), const char *name)
{
    void *p;
    if (!fn)
        return rm_sv_unsupported(name);
    if (rm_sv_handle_claim(sv, kind, id, &p) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    if ((uintptr_t)p <= 2)
        return rm_sv_handle_settle(sv, kind, id, CUDA_ERROR_INVALID_HANDLE);
    return rm_sv_handle_settle(sv, kind, id, fn(p));
}

CUresult rm_sv_event_create(rm_sv_t *sv, const rm_event_create_req_t *in, rm_event_create_rep_t *out)
{
    RM_SV_NEED(sv, cuEventCreate);
    CUevent e;
    CUresult r = sv->b->cuEventCreate(&e, in->flags);
    if (r != CUDA_SUCCESS)
        return r;
    if (!(out->event = rm_sv_handle_put(sv, RM_H_EVENT, e))) {
        sv->b->cuEventDestroy_v2(e);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    rm_sv_recipe(sv, out->event, in->flags, NULL, 0);
    return CUDA_SUCCESS;
}

CUresult rm_sv_stream_destroy(rm_sv_t *sv, const rm_stream_destroy_req_t *in, rm_stream_destroy_rep_t *out)
{
    return destroy(sv, RM_H_STREAM, in->stream, (CUresult(*)(void *))sv->b->cuStreamDestroy_v2,
                   "cuStreamDestroy_v2");
}

CUresult rm_sv_event_destroy(rm_sv_t *sv, const rm_event_destroy_req_t *in, rm_event_destroy_rep_t *out)
{
    return destroy(sv, RM_H_EVENT, in->event, (CUresult(*)(void *))sv->b->cuEventDestroy_v2, "cuEventDestroy_v2");
}

/* Its nodes die with it. */
CUresult rm_sv_graph_destroy(rm_sv_t *sv, const rm_graph_destroy_req_t *in, rm_graph_destroy_rep_t *out)
{
    CUresult r = destroy(sv, RM_H_GRAPH, in->graph, (CUresult(*)(void *))sv->b->cuGraphDestroy, "cuGraphDestroy");
    if (r == CUDA_SUCCESS)
        rm_sv_forget_owned(sv, in->graph);
    return r;
}

CUresult rm_sv_graph_exec_destroy(rm_sv_t *sv, const rm_graph_exec_destroy_req_t *in, rm_graph_exec_destroy_rep_t *out)
{
    return destroy(sv, RM_H_GEXEC, in->exec, (CUresult(*)(void *))sv->b->cuGraphExecDestroy, "cuGraphExecDestroy");
}

CUresult rm_sv_mem_pool_destroy(rm_sv_t *sv, const rm_mem_pool_destroy_req_t *in, rm_mem_pool_destroy_rep_t *out)
{
    return destroy(sv, RM_H_POOL, in->pool, (CUresult(*)(void *))sv->b->cuMemPoolDestroy, "cuMemPoolDestroy");
}

/* A capture that ends in failure takes its graph with it: a handle given
 * out for it (capture info) must not outlive it. */
CUresult rm_sv_stream_end_capture(rm_sv_t *sv, const rm_stream_end_capture_req_t *in, rm_stream_end_capture_rep_t *out)
{
    RM_SV_NEED(sv, cuStreamEndCapture);
    CUstream s;
    if (rm_sv_handle_get(sv, RM_H_STREAM, in->stream, (void **)&s) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
    CUgraph capturing = NULL, g = NULL;
    if (sv->b->cuStreamGetCaptureInfo_v3)
        sv->b->cuStreamGetCaptureInfo_v3(s, &st, NULL, &capturing, NULL, NULL, NULL);
    CUresult r = sv->b->cuStreamEndCapture(s, &g);
    if (r != CUDA_SUCCESS) {
        if (capturing)
            rm_handles_del_ptr(&sv->s->handles, RM_H_GRAPH, capturing);
        return r;
    }
    out->graph = rm_sv_handle_put(sv, RM_H_GRAPH, g);
    return out->graph ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

/* Status, id and graph of a capture; its open dependencies are not remoted. */
CUresult rm_sv_stream_get_capture_info(rm_sv_t *sv, const rm_stream_get_capture_info_req_t *in,
                                       rm_stream_get_capture_info_rep_t *out)
{
    RM_SV_NEED(sv, cuStreamGetCaptureInfo_v3);
    CUstream s;
    if (rm_sv_handle_get(sv, RM_H_STREAM, in->stream, (void **)&s) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
    cuuint64_t id = 0;
    CUgraph g = NULL;
    CUresult r = sv->b->cuStreamGetCaptureInfo_v3(s, &status, &id, &g, NULL, NULL, NULL);
    if (r != CUDA_SUCCESS)
        return r;
    out->status = (int32_t)status;
    out->id = id;
    out->graph = g ? rm_sv_handle_put(sv, RM_H_GRAPH, g) : 0;
    return g && !out->graph ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_SUCCESS;
}

CUresult rm_sv_thread_exchange_capture_mode(rm_sv_t *sv, const rm_thread_exchange_capture_mode_req_t *in,
                                            rm_thread_exchange_capture_mode_rep_t *out)
{
    RM_SV_NEED(sv, cuThreadExchangeStreamCaptureMode);
    CUstreamCaptureMode mode = (CUstreamCaptureMode)in->mode;
    CUresult r = sv->b->cuThreadExchangeStreamCaptureMode(&mode);
    out->previous = (int32_t)mode;
    return r;
}
