/* Client: IPC handles, stream memory operations and tensor maps, carried to
 * the server as they are (the driver's handles and maps are plain bytes). */
#include <cuda.h>
#include <string.h>

#include "chan.h"
#include "export.h"
#include "memory.h"
#include "rm_stubs.h"
#include "wire_types.h"

CUresult CUDAAPI RM_IMPL(cuIpcGetMemHandle)(CUipcMemHandle *handle, CUdeviceptr dptr)
{
    if (!handle)
        return CUDA_ERROR_INVALID_VALUE;
    rm_ipc_get_mem_handle_req_t in = {dptr};
    rm_ipc_get_mem_handle_rep_t out;
    CUresult r = rm_call_ipc_get_mem_handle(&in, &out);
    return rm_chan_reply_copy(r, handle, sizeof *handle, out.handle, out.handle_len);
}

CUresult CUDAAPI RM_IMPL(cuIpcOpenMemHandle_v2)(CUdeviceptr *dptr, CUipcMemHandle handle, unsigned int flags)
{
    if (!dptr)
        return CUDA_ERROR_INVALID_VALUE;
    rm_ipc_open_mem_handle_req_t in = {&handle, sizeof handle, flags};
    rm_ipc_open_mem_handle_rep_t out;
    CUresult r = rm_call_ipc_open_mem_handle(&in, &out);
    if (r == CUDA_SUCCESS) {
        rm_devmem_add(out.dptr, out.size);
        *dptr = out.dptr;
    }
    return r;
}

CUresult CUDAAPI RM_IMPL(cuIpcCloseMemHandle)(CUdeviceptr dptr)
{
    rm_ipc_close_mem_handle_req_t in = {dptr};
    rm_ipc_close_mem_handle_rep_t out;
    CUresult r = rm_call_ipc_close_mem_handle(&in, &out);
    if (r == CUDA_SUCCESS)
        rm_devmem_forget(dptr);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuIpcGetEventHandle)(CUipcEventHandle *handle, CUevent event)
{
    if (!handle)
        return CUDA_ERROR_INVALID_VALUE;
    rm_ipc_get_event_handle_req_t in = {(uint64_t)(uintptr_t)event};
    rm_ipc_get_event_handle_rep_t out;
    CUresult r = rm_call_ipc_get_event_handle(&in, &out);
    return rm_chan_reply_copy(r, handle, sizeof *handle, out.handle, out.handle_len);
}

CUresult CUDAAPI RM_IMPL(cuIpcOpenEventHandle)(CUevent *event, CUipcEventHandle handle)
{
    if (!event)
        return CUDA_ERROR_INVALID_VALUE;
    rm_ipc_open_event_handle_req_t in = {&handle, sizeof handle};
    rm_ipc_open_event_handle_rep_t out;
    CUresult r = rm_call_ipc_open_event_handle(&in, &out);
    if (r == CUDA_SUCCESS)
        *event = (CUevent)(uintptr_t)out.event;
    return r;
}

/* ---- stream memory operations ---- */

static CUresult write_value(CUstream s, CUdeviceptr addr, uint64_t value, unsigned flags, uint32_t bits)
{
    rm_stream_write_value_req_t in = {(uint64_t)(uintptr_t)s, addr, value, flags, bits};
    return rm_call_stream_write_value(&in);
}

static CUresult wait_value(CUstream s, CUdeviceptr addr, uint64_t value, unsigned flags, uint32_t bits)
{
    rm_stream_wait_value_req_t in = {(uint64_t)(uintptr_t)s, addr, value, flags, bits};
    return rm_call_stream_wait_value(&in);
}

CUresult CUDAAPI RM_IMPL(cuStreamWriteValue32_v2)(CUstream s, CUdeviceptr addr, cuuint32_t value, unsigned int flags)
{
    return write_value(s, addr, value, flags, 32);
}

CUresult CUDAAPI RM_IMPL(cuStreamWriteValue64_v2)(CUstream s, CUdeviceptr addr, cuuint64_t value, unsigned int flags)
{
    return write_value(s, addr, value, flags, 64);
}

CUresult CUDAAPI RM_IMPL(cuStreamWaitValue32_v2)(CUstream s, CUdeviceptr addr, cuuint32_t value, unsigned int flags)
{
    return wait_value(s, addr, value, flags, 32);
}

CUresult CUDAAPI RM_IMPL(cuStreamWaitValue64_v2)(CUstream s, CUdeviceptr addr, cuuint64_t value, unsigned int flags)
{
    return wait_value(s, addr, value, flags, 64);
}

/* ---- tensor maps ---- */

/* What every encoder shares: the tensor's type, shape and layout. */
static CUresult tensor_args(rm_tensor_map_args_t *a, uint32_t kind, CUtensorMapDataType type, cuuint32_t rank,
                            void *address, const cuuint64_t *dims, const cuuint64_t *strides,
                            const cuuint32_t *elem_strides, CUtensorMapInterleave interleave,
                            CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    if (!dims || !elem_strides || rank == 0 || rank > 5 || (rank > 1 && !strides))
        return CUDA_ERROR_INVALID_VALUE;
    *a = (rm_tensor_map_args_t){.kind = kind,
                                .data_type = type,
                                .rank = rank,
                                .interleave = interleave,
                                .swizzle = swizzle,
                                .l2_promotion = l2,
                                .oob_fill = oob,
                                .global_address = (uint64_t)(uintptr_t)address};
    memcpy(a->global_dim, dims, rank * sizeof *dims);
    if (rank > 1)
        memcpy(a->global_strides, strides, (rank - 1) * sizeof *strides);
    memcpy(a->element_strides, elem_strides, rank * sizeof *elem_strides);
    return CUDA_SUCCESS;
}

/* The server's driver encodes it. */
static CUresult encode(CUtensorMap *map, const rm_tensor_map_args_t *a)
{
    rm_tensor_map_encode_req_t in = {a, sizeof *a};
    rm_tensor_map_encode_rep_t out;
    CUresult r = rm_call_tensor_map_encode(&in, &out);
    return rm_chan_reply_copy(r, map, sizeof *map, out.map, out.map_len);
}

CUresult CUDAAPI RM_IMPL(cuTensorMapEncodeTiled)(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank,
                                                 void *address, const cuuint64_t *dims, const cuuint64_t *strides,
                                                 const cuuint32_t *box, const cuuint32_t *elem_strides,
                                                 CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                                                 CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    rm_tensor_map_args_t a;
    CUresult r = map && box ? tensor_args(&a, RM_TMAP_TILED, type, rank, address, dims, strides, elem_strides,
                                          interleave, swizzle, l2, oob)
                            : CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    memcpy(a.box_dim, box, rank * sizeof *box);
    return encode(map, &a);
}

CUresult CUDAAPI RM_IMPL(cuTensorMapEncodeIm2col)(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank,
                                                  void *address, const cuuint64_t *dims, const cuuint64_t *strides,
                                                  const int *lower, const int *upper, cuuint32_t channels,
                                                  cuuint32_t pixels, const cuuint32_t *elem_strides,
                                                  CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                                                  CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    rm_tensor_map_args_t a;
    CUresult r = map && lower && upper && rank >= 3 ? tensor_args(&a, RM_TMAP_IM2COL, type, rank, address, dims,
                                                                  strides, elem_strides, interleave, swizzle, l2, oob)
                                                    : CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    memcpy(a.lower, lower, (rank - 2) * sizeof *lower);
    memcpy(a.upper, upper, (rank - 2) * sizeof *upper);
    a.channels_per_pixel = channels, a.pixels_per_column = pixels;
    return encode(map, &a);
}

CUresult CUDAAPI RM_IMPL(cuTensorMapEncodeIm2colWide)(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank,
                                                      void *address, const cuuint64_t *dims,
                                                      const cuuint64_t *strides, int lower_width, int upper_width,
                                                      cuuint32_t channels, cuuint32_t pixels,
                                                      const cuuint32_t *elem_strides,
                                                      CUtensorMapInterleave interleave,
                                                      CUtensorMapIm2ColWideMode mode, CUtensorMapSwizzle swizzle,
                                                      CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    rm_tensor_map_args_t a;
    CUresult r = map ? tensor_args(&a, RM_TMAP_IM2COL_WIDE, type, rank, address, dims, strides, elem_strides,
                                   interleave, swizzle, l2, oob)
                     : CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    a.lower[0] = lower_width, a.upper[0] = upper_width;
    a.channels_per_pixel = channels, a.pixels_per_column = pixels, a.wide_mode = mode;
    return encode(map, &a);
}

CUresult CUDAAPI RM_IMPL(cuTensorMapReplaceAddress)(CUtensorMap *map, void *address)
{
    if (!map)
        return CUDA_ERROR_INVALID_VALUE;
    rm_tensor_map_replace_address_req_t in = {map, sizeof *map, (uint64_t)(uintptr_t)address};
    rm_tensor_map_replace_address_rep_t out;
    CUresult r = rm_call_tensor_map_replace_address(&in, &out);
    return rm_chan_reply_copy(r, map, sizeof *map, out.map, out.map_len);
}

/* The older ABIs of the same calls: identical arguments, the same code. */
CUresult CUDAAPI RM_IMPL(cuIpcOpenMemHandle)(CUdeviceptr *p, CUipcMemHandle h, unsigned int flags)
{
    return cuIpcOpenMemHandle_v2(p, h, flags);
}

CUresult CUDAAPI RM_IMPL(cuStreamWriteValue32)(CUstream s, CUdeviceptr p, cuuint32_t v, unsigned int flags)
{
    return cuStreamWriteValue32_v2(s, p, v, flags);
}

CUresult CUDAAPI RM_IMPL(cuStreamWriteValue64)(CUstream s, CUdeviceptr p, cuuint64_t v, unsigned int flags)
{
    return cuStreamWriteValue64_v2(s, p, v, flags);
}

CUresult CUDAAPI RM_IMPL(cuStreamWaitValue32)(CUstream s, CUdeviceptr p, cuuint32_t v, unsigned int flags)
{
    return cuStreamWaitValue32_v2(s, p, v, flags);
}

CUresult CUDAAPI RM_IMPL(cuStreamWaitValue64)(CUstream s, CUdeviceptr p, cuuint64_t v, unsigned int flags)
{
    return cuStreamWaitValue64_v2(s, p, v, flags);
}
