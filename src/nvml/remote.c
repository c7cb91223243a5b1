/* libnvidia-ml.so.1: carrying a call (remote.h) and error strings. */
#include "remote.h"

#include "devices.h"
#include "log.h"

nvmlReturn_t rm_nvml_remote(rm_nvml_fn fn, nvmlDevice_t device, const rm_nvml_args_t *a, rm_nvml_reply_t *rep)
{
    rm_rbuf_init(&rep->r, rep->data, 0);
    rm_nvml_call_fn call = rm_nvml_link();
    if (!call)
        return NVML_ERROR_UNINITIALIZED;
    int index = -1;
    if (rm_nvml_fn_info[fn].device && rm_nvml_device_index(device, &index) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    unsigned len = 0;
    int r = call(fn, index, a->data, a->len, rep->data, sizeof rep->data, &len);
    if (r < 0) {
        RM_WARN_LIMITED("nvml: %s: the remora server did not answer", rm_nvml_fn_info[fn].name);
        return NVML_ERROR_UNKNOWN;
    }
    rm_rbuf_init(&rep->r, rep->data, len);
    return (nvmlReturn_t)r;
}

nvmlReturn_t rm_nvml_bad_reply(rm_nvml_fn fn)
{
    RM_WARN_LIMITED("nvml: %s: the server's answer does not decode", rm_nvml_fn_info[fn].name);
    return NVML_ERROR_UNKNOWN;
}

nvmlReturn_t rm_nvml_unsupported(const char *name, int *warned)
{
    if (!__atomic_exchange_n(warned, 1, __ATOMIC_RELAXED))
        RM_WARN("nvml: %s is not supported by remora (NVML_ERROR_NOT_SUPPORTED)", name);
    return NVML_ERROR_NOT_SUPPORTED;
}

RM_EXPORT const char *nvmlErrorString(nvmlReturn_t result) { return rm_nvml_error_string(result); }
