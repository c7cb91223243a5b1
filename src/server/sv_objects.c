/* Handlers: destroying streams and events (the handle dies with them). */
#include "rm_handlers.h"

static CUresult destroy(rm_sv_t *sv, rm_hkind kind, uint64_t id, CUresult (*fn)(void *), const char *name)
{
    void *p;
    if (!fn)
        return rm_sv_unsupported(name);
    if (rm_sv_handle_get(sv, kind, id, &p) != 0 || (uintptr_t)p <= 2)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = fn(p);
    if (r == CUDA_SUCCESS)
        rm_handles_del(&sv->s->handles, kind, id);
    return r;
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
