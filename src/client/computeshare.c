/* Client: the compute share the environment asks for (computeshare.h).
 * Every variable that is set is checked whole, also where a variable
 * before it decides: a typo is an error, never a silently larger share. */
#include "computeshare.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpu_env.h"
#include "log.h"

#define TF_VAR "TENSOR_FUSION_CUDA_UP_LIMIT"

/* A percentage variable: 0 and *out (0: unset, empty, 0 or 100: no share),
 * or -1 after saying why. */
static int env_percent(const char *name, uint32_t *out)
{
    const char *v = getenv(name);
    *out = 0;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end != v && !*end && !errno && n >= 0 && n <= 100) {
        *out = n < 100 ? (uint32_t)n : 0;
        return 0;
    }
    RM_ERROR("%s='%s' is not a percentage of the GPU's time (a whole number from 0 to 100)", name, v);
    return -1;
}

int rm_cl_compute_share_wanted(int index, const uint8_t u[16], uint32_t *percent)
{
    char uuid[40], hami_var[48];
    rm_cl_uuid_string(u, uuid);
    snprintf(hami_var, sizeof hami_var, "CUDA_DEVICE_SM_LIMIT_%d", index);
    uint32_t v[4] = {0};
    uint64_t tf_v = 0;
    const char *tf = getenv(TF_VAR);
    if (env_percent("REMORA_COMPUTE_SHARE", &v[0]) != 0 || env_percent(hami_var, &v[2]) != 0 ||
        env_percent("CUDA_DEVICE_SM_LIMIT", &v[3]) != 0)
        return -1;
    if (tf && *tf && rm_cl_gpu_json(tf, index, uuid, 100, &tf_v) != 0) {
        RM_ERROR("%s='%s' is not a JSON object of GPU UUIDs or indices to percentages from 1 to 100 "
                 "({\"GPU-...\": 30, \"1\": 70})", TF_VAR, tf);
        return -1;
    }
    v[1] = tf_v < 100 ? (uint32_t)tf_v : 0;
    *percent = 0;
    for (int i = 0; i < 4 && !*percent; i++)
        *percent = v[i];
    return 0;
}
