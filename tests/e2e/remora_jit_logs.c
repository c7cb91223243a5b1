/* e2e (remora only): JIT options cross to the server's driver and its logs
 * come back into the caller's buffers, for cuModuleLoadDataEx and for the
 * linker (the fake backend writes one line to an info log it is given);
 * options that would make the driver read this process's memory are
 * refused; without options that need the server, cuModuleLoadDataEx is
 * cuModuleLoadData. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    size_t size = 0;
    const void *image = rm_test_kernel_image(&size);

    char info[256] = "", error[256] = "";
    CUjit_option opts[] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER,
                           CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_OPTIMIZATION_LEVEL};
    void *vals[] = {info, (void *)sizeof info, error, (void *)sizeof error, (void *)(uintptr_t)2};
    CUmodule mod;
    CK(cuModuleLoadDataEx(&mod, image, 5, opts, vals));
    RM_EXPECT(strstr(info, "module loaded") != NULL, "info log [%s]", info);
    RM_EXPECT(error[0] == '\0', "error log [%s]", error);
    CUfunction f;
    CK(cuModuleGetFunction(&f, mod, "rm_null"));
    CK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
    CK(cuCtxSynchronize());
    CK(cuModuleUnload(mod));

    /* a log buffer of one byte gets the terminating NUL only */
    char tiny[1] = {'x'};
    void *tiny_vals[] = {tiny, (void *)sizeof tiny};
    CK(cuModuleLoadDataEx(&mod, image, 2, opts, tiny_vals));
    RM_EXPECT(tiny[0] == '\0', "a one-byte log holds %#x", tiny[0]);
    CK(cuModuleUnload(mod));

    CUjit_option symbols[] = {CU_JIT_GLOBAL_SYMBOL_COUNT};
    void *count[] = {(void *)(uintptr_t)1};
    CK_EXPECT(cuModuleLoadDataEx(&mod, image, 1, symbols, count), CUDA_ERROR_NOT_SUPPORTED);
    CK_EXPECT(cuModuleLoadDataEx(&mod, image, 1, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    CK(cuModuleLoadDataEx(&mod, image, 0, NULL, NULL)); /* no options: cuModuleLoadData */
    CK(cuModuleUnload(mod));

    /* the linker's log */
    memset(info, 0, sizeof info);
    CUlinkState link;
    CK(cuLinkCreate(4, opts, vals, &link));
    CK(cuLinkAddData(link, CU_JIT_INPUT_CUBIN, (void *)image, size, "kernels", 0, NULL, NULL));
    void *linked = NULL;
    size_t linked_size = 0;
    CK(cuLinkComplete(link, &linked, &linked_size));
    RM_EXPECT(strstr(info, "link made") != NULL && linked_size > 0, "link info log [%s]", info);
    CK(cuLinkDestroy(link));
    CK_EXPECT(cuLinkCreate(1, symbols, count, &link), CUDA_ERROR_NOT_SUPPORTED);
    printf("PASS remora_jit_logs\n");
    return 0;
}
