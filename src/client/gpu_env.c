/* Client: per-GPU values of limit variables (gpu_env.h). */
#include "gpu_env.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

void rm_cl_uuid_string(const uint8_t u[16], char out[40])
{
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
             u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static const char *skip_space(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* A JSON string without escapes at p (after its quote): its bounds. */
static const char *json_string(const char *p, const char **start, size_t *len)
{
    const char *end = strchr(p, '"');
    if (!end || memchr(p, '\\', (size_t)(end - p)))
        return NULL;
    *start = p;
    *len = (size_t)(end - p);
    return end + 1;
}

/* Whether a key names this GPU: its index, or its UUID with or without the
 * "GPU-" nvidia-smi puts before it, in any case. */
static int key_names(const char *k, size_t n, int index, const char *uuid)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%d", index);
    if (n == strlen(idx) && memcmp(k, idx, n) == 0)
        return 1;
    if (n > 4 && strncasecmp(k, "GPU-", 4) == 0)
        k += 4, n -= 4;
    return n == strlen(uuid) && strncasecmp(k, uuid, n) == 0;
}

int rm_cl_gpu_json(const char *json, int index, const char *uuid, uint64_t max, uint64_t *out)
{
    uint64_t by_index = 0, by_uuid = 0;
    const char *p = skip_space(json);
    if (*p++ != '{')
        return -1;
    p = skip_space(p);
    while (*p != '}') {
        const char *k;
        size_t n;
        if (*p != '"' || !(p = json_string(p + 1, &k, &n)) || *(p = skip_space(p)) != ':')
            return -1;
        p = skip_space(p + 1);
        char *end;
        errno = 0;
        unsigned long long v = isdigit((unsigned char)*p) ? strtoull(p, &end, 10) : 0;
        if (!isdigit((unsigned char)*p) || errno || v == 0 || v > max)
            return -1;
        p = skip_space(end);
        if (key_names(k, n, index, uuid))
            *(isdigit((unsigned char)*k) && n < 8 ? &by_index : &by_uuid) = v;
        if (*p == ',')
            p = skip_space(p + 1);
        else if (*p != '}')
            return -1;
    }
    if (*skip_space(p + 1))
        return -1;
    *out = by_uuid ? by_uuid : by_index;
    return 0;
}

/* A plain variable: 0 and *out (0: unset or empty), or -1 after saying why. */
static int plain(const rm_cl_gpu_limit_t *l, const char *name, uint64_t *out)
{
    const char *v = getenv(name);
    *out = 0;
    if (!v || !*v)
        return 0;
    if (l->parse(v, out) == 0) {
        if (*out == l->no_limit)
            *out = 0;
        return 0;
    }
    RM_ERROR("%s='%s' is not %s", name, v, l->plain_is);
    return -1;
}

int rm_cl_gpu_limit_wanted(const rm_cl_gpu_limit_t *l, int index, const uint8_t u[16], uint64_t *out)
{
    char uuid[40], hami_i[64];
    rm_cl_uuid_string(u, uuid);
    snprintf(hami_i, sizeof hami_i, "%s_%d", l->hami, index);
    uint64_t v[4] = {0};
    const char *tf = getenv(l->tf);
    if (plain(l, l->remora, &v[0]) != 0 || plain(l, hami_i, &v[2]) != 0 || plain(l, l->hami, &v[3]) != 0)
        return -1;
    if (tf && *tf && rm_cl_gpu_json(tf, index, uuid, l->tf_max, &v[1]) != 0) {
        RM_ERROR("%s='%s' is not a JSON object of GPU UUIDs or indices to %s", l->tf, tf, l->tf_is);
        return -1;
    }
    if (v[1] == l->no_limit)
        v[1] = 0;
    *out = 0;
    for (int i = 0; i < 4 && !*out; i++)
        *out = v[i];
    return 0;
}
