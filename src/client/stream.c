/* Client: destroying streams and events (the rest of the stream and event
 * calls are generated from the spec). */
#include <stdint.h>

#include "export.h"
#include "rm_stubs.h"

RM_EXPORT CUresult CUDAAPI cuStreamDestroy_v2(CUstream s)
{
    rm_stream_destroy_req_t in = {(uint64_t)(uintptr_t)s};
    rm_stream_destroy_rep_t out;
    return rm_call_stream_destroy(&in, &out);
}

RM_EXPORT CUresult CUDAAPI cuEventDestroy_v2(CUevent e)
{
    rm_event_destroy_req_t in = {(uint64_t)(uintptr_t)e};
    rm_event_destroy_rep_t out;
    return rm_call_event_destroy(&in, &out);
}

/* The pre-12.8 ABI (cudart asks for it as well as _v2): the same call. */
#undef cuEventElapsedTime
RM_EXPORT CUresult CUDAAPI cuEventElapsedTime(float *ms, CUevent start, CUevent end)
{
    return cuEventElapsedTime_v2(ms, start, end);
}
