/* Handlers: the virtual memory management API. The structs (allocation
 * properties, access descriptors, locations) travel as blobs of their exact
 * size, with their Windows-only pointer required to be 0. A mapped range
 * becomes the session's memory (copies into it are checked like any other)
 * until it is unmapped. */
#include <string.h>

#include <unistd.h>

#include "log.h"
#include "rm_handlers.h"

/* An allocation property struct from the wire. */
static CUresult read_prop(const void *blob, uint32_t len, CUmemAllocationProp *prop)
{
    if (len != sizeof *prop)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(prop, blob, sizeof *prop);
    return prop->win32HandleMetaData ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

CUresult rm_sv_mem_get_granularity(rm_sv_t *sv, const rm_mem_get_granularity_req_t *in,
                                   rm_mem_get_granularity_rep_t *out)
{
    RM_SV_NEED(sv, cuMemGetAllocationGranularity);
    CUmemAllocationProp prop;
    CUresult r = read_prop(in->prop, in->prop_len, &prop);
    size_t g = 0;
    if (r == CUDA_SUCCESS)
        r = sv->b->cuMemGetAllocationGranularity(&g, &prop, (CUmemAllocationGranularity_flags)in->option);
    out->granularity = g;
    return r;
}

CUresult rm_sv_mem_address_reserve(rm_sv_t *sv, const rm_mem_address_reserve_req_t *in,
                                   rm_mem_address_reserve_rep_t *out)
{
    RM_SV_NEED(sv, cuMemAddressReserve);
    CUdeviceptr p = 0;
    CUresult r = sv->b->cuMemAddressReserve(&p, in->size, in->alignment, in->addr, in->flags);
    out->ptr = p;
    return r;
}

CUresult rm_sv_mem_address_free(rm_sv_t *sv, const rm_mem_address_free_req_t *in, rm_mem_address_free_rep_t *out)
{
    RM_SV_NEED(sv, cuMemAddressFree);
    return sv->b->cuMemAddressFree(in->ptr, in->size);
}

/* A handle the driver gave (r its answer) as a session handle in *id;
 * released again if it cannot be one. */
static CUresult memh_out(rm_sv_t *sv, CUresult r, CUmemGenericAllocationHandle h, uint64_t *id)
{
    if (r != CUDA_SUCCESS)
        return r;
    if (!(*id = rm_sv_handle_put(sv, RM_H_MEMH, (void *)(uintptr_t)h))) {
        if (sv->b->cuMemRelease)
            sv->b->cuMemRelease(h);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    return CUDA_SUCCESS;
}

/* Physical memory: charged to its GPU from here until its handle is
 * released (mappings of it add nothing). */
CUresult rm_sv_mem_create(rm_sv_t *sv, const rm_mem_create_req_t *in, rm_mem_create_rep_t *out)
{
    RM_SV_NEED(sv, cuMemCreate);
    CUmemAllocationProp prop;
    rm_sv_charge_t t;
    CUresult r = read_prop(in->prop, in->prop_len, &prop);
    if (r == CUDA_SUCCESS)
        r = rm_sv_charge_take(sv, prop.location.type == CU_MEM_LOCATION_TYPE_DEVICE ? prop.location.id : -1,
                              in->size, "cuMemCreate", &t);
    if (r != CUDA_SUCCESS)
        return r;
    CUmemGenericAllocationHandle h = 0;
    r = sv->b->cuMemCreate(&h, in->size, &prop, in->flags);
    r = rm_sv_charge_failed(sv, &t, memh_out(sv, r, h, &out->handle));
    if (r == CUDA_SUCCESS && rm_sv_charge_keep(sv, &t, RM_QUOTA_HANDLE(out->handle), 0) != 0) {
        rm_handles_del(&sv->s->handles, RM_H_MEMH, out->handle);
        sv->b->cuMemRelease(h);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    return r;
}

CUresult rm_sv_mem_export_fd(rm_sv_t *sv, const rm_mem_export_fd_req_t *in, rm_mem_export_fd_rep_t *out)
{
    RM_SV_NEED(sv, cuMemExportToShareableHandle);
    void *h;
    if (rm_sv_handle_get(sv, RM_H_MEMH, in->handle, &h) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!rm_sv_can_send_fd(sv)) {
        RM_WARN("session %llu: a file descriptor cannot travel over this transport", (unsigned long long)sv->s->id);
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    int fd = -1;
    CUresult r = sv->b->cuMemExportToShareableHandle(&fd, (CUmemGenericAllocationHandle)(uintptr_t)h,
                                                     CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, in->flags);
    if (r != CUDA_SUCCESS)
        return r;
    int sent = rm_sv_send_fd(sv, fd); /* before the reply: the client takes it after */
    close(fd);
    return sent == 0 ? CUDA_SUCCESS : CUDA_ERROR_OPERATING_SYSTEM;
}

CUresult rm_sv_mem_import_fd(rm_sv_t *sv, const rm_mem_import_fd_req_t *in, rm_mem_import_fd_rep_t *out)
{
    int fd = rm_sv_receive_fd(sv); /* taken first, whatever happens next */
    if (fd < 0) {
        RM_WARN("session %llu: mem_import_fd without a file descriptor (only over shm://)",
                (unsigned long long)sv->s->id);
        return CUDA_ERROR_INVALID_VALUE;
    }
    CUmemGenericAllocationHandle h = 0;
    CUresult r = sv->b->cuMemImportFromShareableHandle
                     ? sv->b->cuMemImportFromShareableHandle(&h, (void *)(uintptr_t)fd,
                                                             CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR)
                     : rm_sv_unsupported("cuMemImportFromShareableHandle");
    close(fd);
    return memh_out(sv, r, h, &out->handle);
}

CUresult rm_sv_mem_retain_allocation_handle(rm_sv_t *sv, const rm_mem_retain_allocation_handle_req_t *in,
                                            rm_mem_retain_allocation_handle_rep_t *out)
{
    RM_SV_NEED(sv, cuMemRetainAllocationHandle);
    CUresult r = rm_sv_check_range(sv, in->ptr, 1, "cuMemRetainAllocationHandle address");
    CUmemGenericAllocationHandle h = 0;
    if (r == CUDA_SUCCESS)
        r = sv->b->cuMemRetainAllocationHandle(&h, (void *)(uintptr_t)in->ptr);
    return memh_out(sv, r, h, &out->handle); /* an id of its own: each retain is released once */
}

CUresult rm_sv_mem_release(rm_sv_t *sv, const rm_mem_release_req_t *in, rm_mem_release_rep_t *out)
{
    RM_SV_NEED(sv, cuMemRelease);
    void *h;
    if (rm_sv_handle_claim(sv, RM_H_MEMH, in->handle, &h) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuMemRelease((CUmemGenericAllocationHandle)(uintptr_t)h);
    if (r == CUDA_SUCCESS)
        rm_quota_release(&sv->s->quota, RM_QUOTA_HANDLE(in->handle));
    return rm_sv_handle_settle(sv, RM_H_MEMH, in->handle, r);
}

CUresult rm_sv_mem_map(rm_sv_t *sv, const rm_mem_map_req_t *in, rm_mem_map_rep_t *out)
{
    RM_SV_NEED(sv, cuMemMap);
    void *h;
    if (rm_sv_handle_get(sv, RM_H_MEMH, in->handle, &h) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = sv->b->cuMemMap(in->ptr, in->size, in->offset, (CUmemGenericAllocationHandle)(uintptr_t)h, in->flags);
    if (r != CUDA_SUCCESS)
        return r;
    if (rm_ranges_add(&sv->s->ranges, in->ptr, in->size, sv->ctx) != 0) {
        sv->b->cuMemUnmap(in->ptr, in->size);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    return CUDA_SUCCESS;
}

CUresult rm_sv_mem_unmap(rm_sv_t *sv, const rm_mem_unmap_req_t *in, rm_mem_unmap_rep_t *out)
{
    RM_SV_NEED(sv, cuMemUnmap);
    CUresult r = sv->b->cuMemUnmap(in->ptr, in->size);
    if (r != CUDA_SUCCESS)
        return r;
    /* the mappings that started inside the range (they are granule aligned) */
    rm_range_t m;
    for (uint64_t p = in->ptr; p < in->ptr + in->size;)
        if (rm_ranges_find(&sv->s->ranges, p, &m) == 0 && m.base >= in->ptr) {
            rm_ranges_del(&sv->s->ranges, m.base, NULL);
            p = m.base + m.size;
        } else {
            p += (uint64_t)2 << 20;
        }
    return CUDA_SUCCESS;
}

CUresult rm_sv_mem_set_access(rm_sv_t *sv, const rm_mem_set_access_req_t *in, rm_mem_set_access_rep_t *out)
{
    RM_SV_NEED(sv, cuMemSetAccess);
    size_t count = in->desc_len / sizeof(CUmemAccessDesc);
    if (in->desc_len % sizeof(CUmemAccessDesc) || count == 0 || count > 64)
        return CUDA_ERROR_INVALID_VALUE;
    CUmemAccessDesc desc[64];
    memcpy(desc, in->desc, in->desc_len);
    return sv->b->cuMemSetAccess(in->ptr, in->size, desc, count);
}

CUresult rm_sv_mem_get_access(rm_sv_t *sv, const rm_mem_get_access_req_t *in, rm_mem_get_access_rep_t *out)
{
    RM_SV_NEED(sv, cuMemGetAccess);
    CUmemLocation loc;
    if (in->location_len != sizeof loc)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(&loc, in->location, sizeof loc);
    unsigned long long flags = 0;
    CUresult r = sv->b->cuMemGetAccess(&flags, &loc, in->ptr);
    out->flags = flags;
    return r;
}
