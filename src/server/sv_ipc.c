/* Handlers: IPC handles between processes, stream memory operations and
 * tensor maps. An opened IPC allocation is the session's memory (copies
 * into it are checked like any other) until it is closed. */
#include <string.h>

#include "log.h"
#include "rm_handlers.h"
#include "wire_types.h"

CUresult rm_sv_ipc_get_mem_handle(rm_sv_t *sv, const rm_ipc_get_mem_handle_req_t *in, rm_ipc_get_mem_handle_rep_t *out)
{
    RM_SV_NEED(sv, cuIpcGetMemHandle);
    CUresult r = rm_sv_check_range(sv, in->dptr, 1, "IPC memory");
    rm_mm_info_t a;
    if (r == CUDA_SUCCESS && rm_mm_find(&sv->s->mm, in->dptr, &a) == 0 && a.vmm) {
        RM_WARN_LIMITED("session %llu: cuIpcGetMemHandle of %#llx: the memory manager mapped it (VMM), and the "
                        "driver gives IPC handles only for plain cuMemAlloc memory; run remora-server with "
                        "--alloc plain for programs that use CUDA IPC (their memory is then not checkpointable)",
                        (unsigned long long)sv->s->id, (unsigned long long)in->dptr);
        r = CUDA_ERROR_NOT_SUPPORTED;
    }
    CUipcMemHandle *h = rm_sv_scratch(sv, sizeof *h);
    if (r == CUDA_SUCCESS && !h)
        r = CUDA_ERROR_OUT_OF_MEMORY;
    if (r == CUDA_SUCCESS)
        r = sv->b->cuIpcGetMemHandle(h, in->dptr);
    out->handle = h;
    out->handle_len = sizeof *h;
    return r;
}

CUresult rm_sv_ipc_open_mem_handle(rm_sv_t *sv, const rm_ipc_open_mem_handle_req_t *in,
                                   rm_ipc_open_mem_handle_rep_t *out)
{
    RM_SV_NEED(sv, cuIpcOpenMemHandle_v2);
    RM_SV_NEED(sv, cuMemGetAddressRange_v2);
    CUipcMemHandle h;
    if (in->handle_len != sizeof h)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&h, in->handle, sizeof h);
    CUdeviceptr p;
    CUresult r = sv->b->cuIpcOpenMemHandle_v2(&p, h, in->flags);
    if (r != CUDA_SUCCESS)
        return r;
    CUdeviceptr base;
    size_t size = 0;
    if ((r = sv->b->cuMemGetAddressRange_v2(&base, &size, p)) != CUDA_SUCCESS ||
        rm_ranges_add(&sv->s->ranges, p, size - (p - base), sv->ctx) != 0) {
        sv->b->cuIpcCloseMemHandle(p);
        return r != CUDA_SUCCESS ? r : CUDA_ERROR_OUT_OF_MEMORY;
    }
    out->dptr = p;
    out->size = size - (p - base);
    return CUDA_SUCCESS;
}

CUresult rm_sv_ipc_close_mem_handle(rm_sv_t *sv, const rm_ipc_close_mem_handle_req_t *in,
                                    rm_ipc_close_mem_handle_rep_t *out)
{
    RM_SV_NEED(sv, cuIpcCloseMemHandle);
    CUresult r = sv->b->cuIpcCloseMemHandle(in->dptr);
    if (r == CUDA_SUCCESS)
        rm_ranges_del(&sv->s->ranges, in->dptr, NULL);
    return r;
}

CUresult rm_sv_ipc_get_event_handle(rm_sv_t *sv, const rm_ipc_get_event_handle_req_t *in,
                                    rm_ipc_get_event_handle_rep_t *out)
{
    RM_SV_NEED(sv, cuIpcGetEventHandle);
    CUevent e;
    if (rm_sv_handle_get(sv, RM_H_EVENT, in->event, (void **)&e) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUipcEventHandle *h = rm_sv_scratch(sv, sizeof *h);
    if (!h)
        return CUDA_ERROR_OUT_OF_MEMORY;
    out->handle = h;
    out->handle_len = sizeof *h;
    return sv->b->cuIpcGetEventHandle(h, e);
}

CUresult rm_sv_ipc_open_event_handle(rm_sv_t *sv, const rm_ipc_open_event_handle_req_t *in,
                                     rm_ipc_open_event_handle_rep_t *out)
{
    RM_SV_NEED(sv, cuIpcOpenEventHandle);
    CUipcEventHandle h;
    if (in->handle_len != sizeof h)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&h, in->handle, sizeof h);
    CUevent e;
    CUresult r = sv->b->cuIpcOpenEventHandle(&e, h);
    if (r != CUDA_SUCCESS)
        return r;
    out->event = rm_sv_handle_put(sv, RM_H_EVENT, e);
    return out->event ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

/* The address must be memory of the session (device, or mapped host). */
static CUresult stream_value(rm_sv_t *sv, uint64_t stream_id, uint64_t addr, uint32_t bits, CUstream *s)
{
    if (bits != 32 && bits != 64)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = rm_sv_check_range(sv, addr, bits / 8, "stream memory operation");
    if (r == CUDA_SUCCESS && rm_sv_handle_get(sv, RM_H_STREAM, stream_id, (void **)s) != 0)
        r = CUDA_ERROR_INVALID_HANDLE;
    return r;
}

CUresult rm_sv_stream_write_value(rm_sv_t *sv, const rm_stream_write_value_req_t *in,
                                  rm_stream_write_value_rep_t *out)
{
    RM_SV_NEED(sv, cuStreamWriteValue32_v2);
    RM_SV_NEED(sv, cuStreamWriteValue64_v2);
    CUstream s;
    CUresult r = stream_value(sv, in->stream, in->addr, in->bits, &s);
    if (r != CUDA_SUCCESS)
        return r;
    return in->bits == 32 ? sv->b->cuStreamWriteValue32_v2(s, in->addr, (cuuint32_t)in->value, in->flags)
                          : sv->b->cuStreamWriteValue64_v2(s, in->addr, in->value, in->flags);
}

CUresult rm_sv_stream_wait_value(rm_sv_t *sv, const rm_stream_wait_value_req_t *in, rm_stream_wait_value_rep_t *out)
{
    RM_SV_NEED(sv, cuStreamWaitValue32_v2);
    RM_SV_NEED(sv, cuStreamWaitValue64_v2);
    CUstream s;
    CUresult r = stream_value(sv, in->stream, in->addr, in->bits, &s);
    if (r != CUDA_SUCCESS)
        return r;
    return in->bits == 32 ? sv->b->cuStreamWaitValue32_v2(s, in->addr, (cuuint32_t)in->value, in->flags)
                          : sv->b->cuStreamWaitValue64_v2(s, in->addr, in->value, in->flags);
}

/* The reply's copy of a tensor map. */
static CUresult map_out(rm_sv_t *sv, const CUtensorMap *map, const void **data, uint32_t *len)
{
    void *copy = rm_sv_scratch(sv, sizeof *map);
    if (!copy)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(copy, map, sizeof *map);
    *data = copy;
    *len = sizeof *map;
    return CUDA_SUCCESS;
}

static CUresult encode(rm_sv_t *sv, const rm_tensor_map_args_t *a, CUtensorMap *map)
{
    CUtensorMapDataType type = (CUtensorMapDataType)a->data_type;
    void *address = (void *)(uintptr_t)a->global_address;
    CUtensorMapInterleave interleave = (CUtensorMapInterleave)a->interleave;
    CUtensorMapSwizzle swizzle = (CUtensorMapSwizzle)a->swizzle;
    CUtensorMapL2promotion l2 = (CUtensorMapL2promotion)a->l2_promotion;
    CUtensorMapFloatOOBfill oob = (CUtensorMapFloatOOBfill)a->oob_fill;
    switch (a->kind) {
    case RM_TMAP_TILED:
        RM_SV_NEED(sv, cuTensorMapEncodeTiled);
        return sv->b->cuTensorMapEncodeTiled(map, type, a->rank, address, a->global_dim, a->global_strides,
                                             a->box_dim, a->element_strides, interleave, swizzle, l2, oob);
    case RM_TMAP_IM2COL:
        RM_SV_NEED(sv, cuTensorMapEncodeIm2col);
        return sv->b->cuTensorMapEncodeIm2col(map, type, a->rank, address, a->global_dim, a->global_strides,
                                              a->lower, a->upper, a->channels_per_pixel, a->pixels_per_column,
                                              a->element_strides, interleave, swizzle, l2, oob);
    case RM_TMAP_IM2COL_WIDE:
        RM_SV_NEED(sv, cuTensorMapEncodeIm2colWide);
        return sv->b->cuTensorMapEncodeIm2colWide(map, type, a->rank, address, a->global_dim, a->global_strides,
                                                  a->lower[0], a->upper[0], a->channels_per_pixel,
                                                  a->pixels_per_column, a->element_strides, interleave,
                                                  (CUtensorMapIm2ColWideMode)a->wide_mode, swizzle, l2, oob);
    default: return CUDA_ERROR_INVALID_VALUE;
    }
}

CUresult rm_sv_tensor_map_encode(rm_sv_t *sv, const rm_tensor_map_encode_req_t *in, rm_tensor_map_encode_rep_t *out)
{
    rm_tensor_map_args_t a;
    if (in->args_len != sizeof a)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&a, in->args, sizeof a);
    if (a.rank == 0 || a.rank > 5)
        return CUDA_ERROR_INVALID_VALUE;
    CUtensorMap map; /* aligned as the driver wants it */
    CUresult r = encode(sv, &a, &map);
    return r == CUDA_SUCCESS ? map_out(sv, &map, &out->map, &out->map_len) : r;
}

CUresult rm_sv_tensor_map_replace_address(rm_sv_t *sv, const rm_tensor_map_replace_address_req_t *in,
                                          rm_tensor_map_replace_address_rep_t *out)
{
    RM_SV_NEED(sv, cuTensorMapReplaceAddress);
    CUtensorMap map;
    if (in->old_len != sizeof map)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&map, in->old, sizeof map);
    CUresult r = sv->b->cuTensorMapReplaceAddress(&map, (void *)(uintptr_t)in->address);
    return r == CUDA_SUCCESS ? map_out(sv, &map, &out->map, &out->map_len) : r;
}
