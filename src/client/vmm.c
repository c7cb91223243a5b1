/* Client: the virtual memory management API. Reserved address ranges are
 * reserved here too (uva.h), so host memory never lands in them; a mapped
 * range is device memory for unified addressing until it is unmapped. */
#include <cuda.h>
#include <stdint.h>

#include "export.h"
#include "memory.h"
#include "rm_stubs.h"
#include "uva.h"

static uint64_t handle_id(CUmemGenericAllocationHandle h) { return (uint64_t)h; }

CUresult CUDAAPI RM_IMPL(cuMemGetAllocationGranularity)(size_t *granularity, const CUmemAllocationProp *prop,
                                                        CUmemAllocationGranularity_flags option)
{
    if (!granularity || !prop)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_get_granularity_req_t in = {prop, sizeof *prop, (int32_t)option};
    rm_mem_get_granularity_rep_t out;
    CUresult r = rm_call_mem_get_granularity(&in, &out);
    if (r == CUDA_SUCCESS)
        *granularity = out.granularity;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemAddressReserve)(CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                              unsigned long long flags)
{
    if (!ptr || size == 0)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_address_reserve_req_t in = {size, alignment, addr, flags};
    rm_mem_address_reserve_rep_t out;
    CUresult r = rm_call_mem_address_reserve(&in, &out);
    if (r != CUDA_SUCCESS)
        return r;
    if (rm_devmem_reserve(out.ptr, size) != 0) {
        /* host memory of ours is there: refuse rather than alias */
        rm_mem_address_free_req_t fin = {out.ptr, size};
        rm_mem_address_free_rep_t fout;
        rm_call_mem_address_free(&fin, &fout);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *ptr = out.ptr;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuMemAddressFree)(CUdeviceptr ptr, size_t size)
{
    rm_mem_address_free_req_t in = {ptr, size};
    rm_mem_address_free_rep_t out;
    CUresult r = rm_call_mem_address_free(&in, &out);
    if (r == CUDA_SUCCESS)
        rm_uva_release(ptr, size);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemCreate)(CUmemGenericAllocationHandle *handle, size_t size,
                                      const CUmemAllocationProp *prop, unsigned long long flags)
{
    if (!handle || !prop)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_create_req_t in = {size, prop, sizeof *prop, flags};
    rm_mem_create_rep_t out;
    CUresult r = rm_call_mem_create(&in, &out);
    if (r == CUDA_SUCCESS)
        *handle = (CUmemGenericAllocationHandle)out.handle;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemRelease)(CUmemGenericAllocationHandle handle)
{
    rm_mem_release_req_t in = {handle_id(handle)};
    rm_mem_release_rep_t out;
    return rm_call_mem_release(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuMemMap)(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                                   unsigned long long flags)
{
    rm_mem_map_req_t in = {ptr, size, offset, handle_id(handle), flags};
    rm_mem_map_rep_t out;
    CUresult r = rm_call_mem_map(&in, &out);
    if (r == CUDA_SUCCESS)
        rm_devmem_track(ptr, size);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemUnmap)(CUdeviceptr ptr, size_t size)
{
    rm_mem_unmap_req_t in = {ptr, size};
    rm_mem_unmap_rep_t out;
    CUresult r = rm_call_mem_unmap(&in, &out);
    if (r == CUDA_SUCCESS)
        rm_devmem_untrack(ptr, size);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemSetAccess)(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc, size_t count)
{
    if (!desc || count == 0 || count > 64)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_set_access_req_t in = {ptr, size, desc, (uint32_t)(count * sizeof *desc)};
    rm_mem_set_access_rep_t out;
    return rm_call_mem_set_access(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuMemGetAccess)(unsigned long long *flags, const CUmemLocation *location, CUdeviceptr ptr)
{
    if (!flags || !location)
        return CUDA_ERROR_INVALID_VALUE;
    rm_mem_get_access_req_t in = {location, sizeof *location, ptr};
    rm_mem_get_access_rep_t out;
    CUresult r = rm_call_mem_get_access(&in, &out);
    if (r == CUDA_SUCCESS)
        *flags = out.flags;
    return r;
}
