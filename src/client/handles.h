/* Client-side function objects: CUfunction and CUkernel point at one of
 * these, which caches what a launch needs (the server's id and the
 * parameter layout) so that launching costs no round trip. */
#ifndef RM_CL_HANDLES_H
#define RM_CL_HANDLES_H

#include <stdint.h>

#include "remora/protocol.h"
#include "wire_types.h"

#define RM_FUNC_MAGIC 0x72656d6f72612066ull /* "remora f" */

typedef struct rm_cl_func {
    uint64_t magic;
    /* Server function handles by server (REMORA_SERVER's list): a module
     * function has one, on its module's server (home); a library kernel
     * gets one on each server it is used on, in the context current there
     * when it is first used (libraries live on every server: module.c). */
    uint64_t ids[RM_MAX_SERVERS];
    int home;
    int library;
    uint64_t owner;   /* module or library it came from; freed with it */
    rm_func_layout_t *layout;
    char *name;              /* as looked up (cuFuncGetName answers it) */
    struct rm_cl_func *next; /* all live function objects */
} rm_cl_func_t;

/* The server id of a CUfunction/CUkernel, 0 if it is not one of ours: a
 * module function's; a library kernel's on the current context's server
 * (got here, in the context now current, at its first use there). */
uint64_t rm_cl_func_id(const void *f);

/* The function object behind a CUfunction or CUkernel, NULL if not ours. */
rm_cl_func_t *rm_cl_func_of(const void *h);
/* Pack kernelParams (or take the `extra` buffer) into one buffer of cap
 * bytes, by f's layout: what a launch or a kernel node sends. */
CUresult rm_cl_pack_params(const rm_cl_func_t *f, void **params, void **extra, void *buf, size_t cap, const void **data,
                      size_t *len);

#endif
