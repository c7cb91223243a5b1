/* Client: the compute share the environment asks for (computeshare.h),
 * read as gpu_env.h reads every per-GPU limit. */
#include "computeshare.h"

#include <errno.h>
#include <stdlib.h>

#include "gpu_env.h"

/* A whole number from 0 to 100: 0, or -1. */
static int parse_percent(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end || errno || n < 0 || n > 100)
        return -1;
    *out = (uint64_t)n;
    return 0;
}

static const rm_cl_gpu_limit_t compute_share = {
    .remora = "REMORA_COMPUTE_SHARE",
    .tf = "TENSOR_FUSION_CUDA_UP_LIMIT",
    .hami = "CUDA_DEVICE_SM_LIMIT",
    .parse = parse_percent,
    .plain_is = "a percentage of the GPU's time (a whole number from 0 to 100)",
    .tf_max = 100,
    .tf_is = "percentages from 1 to 100 ({\"GPU-...\": 30, \"1\": 70})",
    .no_limit = 100,
};

int rm_cl_compute_share_wanted(int index, const uint8_t u[16], uint32_t *percent)
{
    uint64_t v;
    if (rm_cl_gpu_limit_wanted(&compute_share, index, u, &v) != 0)
        return -1;
    *percent = (uint32_t)v;
    return 0;
}
