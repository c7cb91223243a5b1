/* Shared by the runtime-API programs that compile kernels at run time with
 * NVRTC (rt_nvrtc.cu, rt_link.cu). */
#ifndef RM_RT_NVRTC_H
#define RM_RT_NVRTC_H

#include <nvrtc.h>

#include "rt.h"

#define NVRTC_CHECK(call)                                                                          \
    do {                                                                                           \
        nvrtcResult nv_err_ = (call);                                                              \
        if (nv_err_ != NVRTC_SUCCESS) {                                                            \
            printf("FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, nvrtcGetErrorString(nv_err_)); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* The PTX of source compiled with opts (malloc'd, NUL-terminated; *size
 * counts the NUL). */
static inline char *rt_compile_ptx(const char *source, const char *name, int nopts, const char *const *opts,
                                   size_t *size)
{
    nvrtcProgram prog;
    NVRTC_CHECK(nvrtcCreateProgram(&prog, source, name, 0, NULL, NULL));
    NVRTC_CHECK(nvrtcCompileProgram(prog, nopts, opts));
    NVRTC_CHECK(nvrtcGetPTXSize(prog, size));
    char *ptx = (char *)malloc(*size);
    NVRTC_CHECK(nvrtcGetPTX(prog, ptx));
    NVRTC_CHECK(nvrtcDestroyProgram(&prog));
    return ptx;
}

#endif
