/* Client: the device-memory limit the environment asks for (memlimit.h).
 * Every variable that is set is checked whole, also where a variable
 * before it decides: a typo is an error, never a silently larger limit. */
#include "memlimit.h"

#include <stdio.h>
#include <stdlib.h>

#include "gpu_env.h"
#include "log.h"
#include "size.h"

#define TF_VAR "TENSOR_FUSION_CUDA_MEM_LIMIT"

/* A size variable: 0 and *out (0: unset or empty), or -1 after saying why. */
static int env_size(const char *name, uint64_t *out)
{
    const char *v = getenv(name);
    *out = 0;
    if (!v || !*v)
        return 0;
    if (rm_parse_size(v, out) == 0)
        return 0;
    RM_ERROR("%s='%s' is not a memory size (bytes, or with K, M, G, T: 4GiB, 4g, 512m)", name, v);
    return -1;
}

int rm_cl_mem_limit_wanted(int index, const uint8_t u[16], uint64_t *bytes)
{
    char uuid[40], hami_var[48];
    rm_cl_uuid_string(u, uuid);
    snprintf(hami_var, sizeof hami_var, "CUDA_DEVICE_MEMORY_LIMIT_%d", index);
    uint64_t v[4] = {0};
    const char *tf = getenv(TF_VAR);
    if (env_size("REMORA_MEM_LIMIT", &v[0]) != 0 || env_size(hami_var, &v[2]) != 0 ||
        env_size("CUDA_DEVICE_MEMORY_LIMIT", &v[3]) != 0)
        return -1;
    if (tf && *tf && rm_cl_gpu_json(tf, index, uuid, UINT64_MAX, &v[1]) != 0) {
        RM_ERROR("%s='%s' is not a JSON object of GPU UUIDs or indices to positive byte counts "
                 "({\"GPU-...\": 4294967296, \"1\": 1073741824})", TF_VAR, tf);
        return -1;
    }
    *bytes = 0;
    for (int i = 0; i < 4 && !*bytes; i++)
        *bytes = v[i];
    return 0;
}
