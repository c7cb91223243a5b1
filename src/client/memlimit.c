/* Client: the device-memory limit the environment asks for (memlimit.h),
 * read as gpu_env.h reads every per-GPU limit. */
#include "memlimit.h"

#include "gpu_env.h"
#include "size.h"

static const rm_cl_gpu_limit_t mem_limit = {
    .remora = "REMORA_MEM_LIMIT",
    .tf = "TENSOR_FUSION_CUDA_MEM_LIMIT",
    .hami = "CUDA_DEVICE_MEMORY_LIMIT",
    .parse = rm_parse_size,
    .plain_is = "a memory size (bytes, or with K, M, G, T: 4GiB, 4g, 512m)",
    .tf_max = UINT64_MAX,
    .tf_is = "positive byte counts ({\"GPU-...\": 4294967296, \"1\": 1073741824})",
};

int rm_cl_mem_limit_wanted(int index, const uint8_t u[16], uint64_t *bytes)
{
    return rm_cl_gpu_limit_wanted(&mem_limit, index, u, bytes);
}
