/* Client: the stream and event calls that are not generated from the spec:
 * destroying, the v1 elapsed-time ABI, capture info. */
#include <stdint.h>

#include "export.h"
#include "rm_stubs.h"

CUresult CUDAAPI RM_IMPL(cuStreamDestroy_v2)(CUstream s)
{
    rm_stream_destroy_req_t in = {(uint64_t)(uintptr_t)s};
    rm_stream_destroy_rep_t out;
    return rm_call_stream_destroy(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuEventDestroy_v2)(CUevent e)
{
    rm_event_destroy_req_t in = {(uint64_t)(uintptr_t)e};
    rm_event_destroy_rep_t out;
    return rm_call_event_destroy(&in, &out);
}

/* The pre-12.8 ABI (cudart asks for it as well as _v2): the same call. */
CUresult CUDAAPI RM_IMPL(cuEventElapsedTime)(float *ms, CUevent start, CUevent end)
{
    return cuEventElapsedTime_v2(ms, start, end);
}

/* Status, id and graph of a capture. Its open dependencies (graph nodes)
 * are not remoted yet: reported as none. */
CUresult CUDAAPI RM_IMPL(cuStreamGetCaptureInfo_v3)(CUstream s, CUstreamCaptureStatus *status, cuuint64_t *id,
                                                    CUgraph *graph, const CUgraphNode **deps,
                                                    const CUgraphEdgeData **edges, size_t *ndeps)
{
    rm_stream_get_capture_info_req_t in = {.stream = (uint64_t)(uintptr_t)s};
    rm_stream_get_capture_info_rep_t out;
    CUresult r = rm_call_stream_get_capture_info(&in, &out);
    if (r != CUDA_SUCCESS)
        return r;
    if (status)
        *status = (CUstreamCaptureStatus)out.status;
    if (id)
        *id = out.id;
    if (graph)
        *graph = (CUgraph)(uintptr_t)out.graph;
    if (deps)
        *deps = NULL;
    if (edges)
        *edges = NULL;
    if (ndeps)
        *ndeps = 0;
    return CUDA_SUCCESS;
}

/* remora has no green contexts: a stream belongs to a plain context. */
CUresult CUDAAPI RM_IMPL(cuStreamGetCtx_v2)(CUstream s, CUcontext *ctx, CUgreenCtx *green)
{
    if (!ctx || !green)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = cuStreamGetCtx(s, ctx);
    if (r == CUDA_SUCCESS)
        *green = NULL;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuThreadExchangeStreamCaptureMode)(CUstreamCaptureMode *mode)
{
    if (!mode)
        return CUDA_ERROR_INVALID_VALUE;
    rm_thread_exchange_capture_mode_req_t in = {.mode = (int32_t)*mode};
    rm_thread_exchange_capture_mode_rep_t out;
    CUresult r = rm_call_thread_exchange_capture_mode(&in, &out);
    if (r == CUDA_SUCCESS)
        *mode = (CUstreamCaptureMode)out.previous;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuStreamGetCaptureInfo_v2)(CUstream s, CUstreamCaptureStatus *status, cuuint64_t *id,
                                                    CUgraph *graph, const CUgraphNode **deps, size_t *ndeps)
{
    return cuStreamGetCaptureInfo_v3(s, status, id, graph, deps, NULL, ndeps);
}
