/* Client: VMM allocations shared as POSIX file descriptors
 * (cuMemExportToShareableHandle, cuMemImportFromShareableHandle). The fd
 * is the server's driver's own: it travels on the channel's Unix socket,
 * so it is real in this process and in any other process of the host it
 * is passed to, whose remora session then imports it into its own server
 * worker. Only over shm:// (a server on another host has no fd to give);
 * other handle types (fabric, Windows) are not supported. */
#include <cuda.h>
#include <stdint.h>

#include "export.h"
#include "fdpass.h"
#include "log.h"
#include "rm_stubs.h"

/* The channel for a shared fd, or NULL (*r says why). */
static rm_chan_t *fd_channel(CUmemAllocationHandleType type, const char *call, CUresult *r)
{
    if (type != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) {
        RM_WARN("%s: only POSIX file descriptors are supported (handle type %d)", call, (int)type);
        *r = CUDA_ERROR_NOT_SUPPORTED;
        return NULL;
    }
    rm_chan_t *ch = rm_chan_current(r);
    if (ch && !rm_cl_fd_channel(ch)) {
        RM_WARN("%s: file descriptors travel only over shm:// (the server is on another host)", call);
        *r = CUDA_ERROR_NOT_SUPPORTED;
        return NULL;
    }
    return ch;
}

CUresult CUDAAPI RM_IMPL(cuMemExportToShareableHandle)(void *shareable, CUmemGenericAllocationHandle handle,
                                                       CUmemAllocationHandleType type, unsigned long long flags)
{
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    rm_chan_t *ch = shareable ? fd_channel(type, "cuMemExportToShareableHandle", &r) : NULL;
    if (!ch)
        return r;
    rm_mem_export_fd_req_t in = {.handle = (uint64_t)handle, .flags = flags};
    rm_enc_mem_export_fd_req(rm_chan_begin(ch, RM_OP_MEM_EXPORT_FD), &in);
    rm_rbuf_t rb;
    int fd = -1;
    if ((r = rm_cl_call_receiving_fd(ch, &rb, &fd)) == CUDA_SUCCESS)
        *(int *)shareable = fd;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemImportFromShareableHandle)(CUmemGenericAllocationHandle *handle, void *os_handle,
                                                         CUmemAllocationHandleType type)
{
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    rm_chan_t *ch = handle ? fd_channel(type, "cuMemImportFromShareableHandle", &r) : NULL;
    if (!ch)
        return r;
    rm_mem_import_fd_req_t in = {0};
    rm_enc_mem_import_fd_req(rm_chan_begin(ch, RM_OP_MEM_IMPORT_FD), &in);
    rm_rbuf_t rb;
    rm_mem_import_fd_rep_t out;
    if ((r = rm_cl_call_sending_fd(ch, (int)(uintptr_t)os_handle, &rb)) != CUDA_SUCCESS)
        return r;
    if (rm_dec_mem_import_fd_rep(&rb, &out) != RM_OK)
        return rm_chan_bad_reply(ch, "mem_import_fd");
    *handle = (CUmemGenericAllocationHandle)out.handle;
    return CUDA_SUCCESS;
}
