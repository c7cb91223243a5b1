/* The entry remora's libnvidia-ml.so.1 (src/nvml/) calls through: one NVML
 * call on the calling thread's channel to the server of the device (the
 * program's ordinal; -1 for system calls, which go to the first device's
 * server). Exported by name only for that library (libcuda.map). */
#include <string.h>

#include "export.h"
#include "rm_stubs.h"

RM_EXPORT int remora_nvml_call(unsigned fn, int device, const void *args, unsigned args_len, void *result,
                               unsigned cap, unsigned *result_len)
{
    rm_nvml_req_t in = {.device = device < 0 ? 0 : device, .fn = fn, .args = args, .args_len = args_len};
    rm_nvml_rep_t out;
    if (rm_call_nvml(&in, &out) != CUDA_SUCCESS || out.result_len > cap)
        return -1;
    if (out.result_len)
        memcpy(result, out.result, out.result_len);
    *result_len = out.result_len;
    return out.ret;
}
