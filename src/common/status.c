/* Status strings and the single rm_status -> CUresult mapping. */
#include "remora/status.h"
#include "status_cuda.h"

const char *rm_status_str(rm_status s)
{
    static const char *const names[] = {
#define RM_STATUS_STR(name, str) str,
        RM_STATUS_LIST(RM_STATUS_STR)
#undef RM_STATUS_STR
    };
    if ((unsigned)s >= RM_STATUS_COUNT)
        return "unknown status";
    return names[s];
}

CUresult rm_status_to_cuda(rm_status s)
{
    switch (s) {
    case RM_OK: return CUDA_SUCCESS;
    case RM_ERR_NOMEM: return CUDA_ERROR_OUT_OF_MEMORY;
    case RM_ERR_INVAL: return CUDA_ERROR_INVALID_VALUE;
    case RM_ERR_NOT_FOUND: return CUDA_ERROR_NOT_FOUND;
    case RM_ERR_NOT_SUPPORTED: return CUDA_ERROR_NOT_SUPPORTED;
    case RM_ERR_LIMIT: return CUDA_ERROR_OUT_OF_MEMORY;
    case RM_ERR_AUTH: return CUDA_ERROR_NOT_PERMITTED;
    case RM_ERR_VERSION: return CUDA_ERROR_NOT_SUPPORTED;
    case RM_ERR_ADDR: return CUDA_ERROR_INVALID_VALUE;
    case RM_ERR_TIMEOUT: return CUDA_ERROR_TIMEOUT; /* server silent past a deadline */
    case RM_ERR_IO:
    case RM_ERR_CLOSED: return CUDA_ERROR_DEVICE_UNAVAILABLE; /* server gone */
    default: return CUDA_ERROR_UNKNOWN;
    }
}
