/* libnvidia-ml.so.1's path to the server: a remoted NVML call is its id,
 * its input values as bytes and the device's index, carried by remora's
 * libcuda.so.1 (remora_nvml_call, src/client/nvml_remote.c) on the calling
 * thread's channel to the GPU's server; the answer's bytes come back for
 * the generated entry point (gen/rm_nvml_calls.c) to decode and check. */
#ifndef RM_NVML_REMOTE_H
#define RM_NVML_REMOTE_H

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "rm_nvml.h"
#include "rm_ops.h" /* rm_rbuf_cstr */

#define RM_EXPORT __attribute__((visibility("default")))
#define RM_NVML_ARGS_MAX 256
#define RM_NVML_REPLY_MAX 4096

typedef struct {
    uint8_t data[RM_NVML_ARGS_MAX];
    uint32_t len;
} rm_nvml_args_t;

typedef struct {
    uint8_t data[RM_NVML_REPLY_MAX];
    rm_rbuf_t r; /* over data: the answer's bytes */
} rm_nvml_reply_t;

/* Append an input value (the generated calls stay far below the room). */
static inline void rm_nvml_arg(rm_nvml_args_t *a, const void *p, uint32_t n)
{
    if (a->len + n <= sizeof a->data) {
        memcpy(a->data + a->len, p, n);
        a->len += n;
    }
}

/* Run call fn on device (NULL: a system call). NVML's answer; rep->r holds
 * the answer's bytes. NVML_ERROR_UNINITIALIZED before nvmlInit,
 * INVALID_ARGUMENT for a handle that is not ours, UNKNOWN when the server
 * could not be reached (logged). */
nvmlReturn_t rm_nvml_remote(rm_nvml_fn fn, nvmlDevice_t device, const rm_nvml_args_t *a, rm_nvml_reply_t *rep);
/* An answer that does not decode as fn's: logged, NVML_ERROR_UNKNOWN. */
nvmlReturn_t rm_nvml_bad_reply(rm_nvml_fn fn);
/* An entry point remora does not implement: logged once, NOT_SUPPORTED. */
nvmlReturn_t rm_nvml_unsupported(const char *name, int *warned);

#endif
