/* Client: JIT options (cuModuleLoadDataEx, cuLinkCreate). Those that are
 * values go to the server's driver; those that are pointers into this
 * process are answered here: the log buffers are filled from the server's
 * logs, the wall time is left alone (the driver was measured not to write
 * it for a link, on driver 580); the global symbol tables, which would
 * make the driver read this process's memory, are not supported. */
#ifndef RM_CL_JIT_H
#define RM_CL_JIT_H

#include <cuda.h>
#include <stdint.h>

#include "buf.h"

typedef struct {
    rm_wbuf_t values; /* u32 option, u64 value: what the server's driver gets */
    char *log[2];     /* the caller's info and error log buffers */
    size_t log_size[2];
} rm_jit_t;

void rm_jit_init(rm_jit_t *j);
void rm_jit_free(rm_jit_t *j);
/* Take n options for call (named in warnings). */
CUresult rm_jit_take(rm_jit_t *j, unsigned n, const CUjit_option *opts, void *const *vals, const char *call);
/* Whether anything needs the server to see the options. */
int rm_jit_any(const rm_jit_t *j);
/* Copy the server's logs into the caller's buffers (truncated, NUL-terminated). */
void rm_jit_logs(const rm_jit_t *j, const void *info, uint32_t info_len, const void *error, uint32_t error_len);

#endif
