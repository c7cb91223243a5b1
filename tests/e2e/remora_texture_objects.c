/* e2e (remora only): texture and surface objects the session did not make
 * are refused before they reach the driver (destroy, queries), a surface
 * needs an array made for load/store, an object over an array that is not
 * the session's is refused, and a launch given a bogus texture object fails
 * without harming the context. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUfunction tex_read;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CK(cuModuleGetFunction(&tex_read, mod, "rm_tex_read"));

    const CUtexObject bogus = 0x7777000;
    CUDA_RESOURCE_DESC res;
    CUDA_TEXTURE_DESC td;
    CK_EXPECT(cuTexObjectDestroy(bogus), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuSurfObjectDestroy(bogus), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuTexObjectGetResourceDesc(&res, bogus), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuTexObjectGetTextureDesc(&td, bogus), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuTexObjectCreate(NULL, &res, &td, NULL), CUDA_ERROR_INVALID_VALUE);

    CUarray plain;
    CUDA_ARRAY3D_DESCRIPTOR ad = {8, 8, 0, CU_AD_FORMAT_FLOAT, 1, 0};
    CK(cuArray3DCreate(&plain, &ad));
    memset(&res, 0, sizeof res);
    res.resType = CU_RESOURCE_TYPE_ARRAY;
    res.res.array.hArray = plain;
    CUsurfObject surf;
    CK_EXPECT(cuSurfObjectCreate(&surf, &res), CUDA_ERROR_INVALID_VALUE); /* no SURFACE_LDST */

    res.res.array.hArray = (CUarray)(uintptr_t)0x400000000123ull; /* not an array of this session */
    memset(&td, 0, sizeof td);
    CUtexObject tex;
    CK_EXPECT(cuTexObjectCreate(&tex, &res, &td, NULL), CUDA_ERROR_INVALID_HANDLE);

    /* a launch with an object that is none: its error, the context lives on */
    CUdeviceptr out;
    CK(cuMemAlloc(&out, 64 * sizeof(float)));
    int w = 8, n = 64;
    unsigned long long obj = bogus;
    void *params[] = {&obj, &out, &w, &n};
    CUresult r = cuLaunchKernel(tex_read, 1, 1, 1, 64, 1, 1, 0, NULL, params, NULL);
    if (r == CUDA_SUCCESS)
        r = cuCtxSynchronize();
    RM_EXPECT(r != CUDA_SUCCESS, "a launch with a bogus texture object fails (%s)", rm_err_name(r));
    res.res.array.hArray = plain;
    CK(cuTexObjectCreate(&tex, &res, &td, NULL));
    CK(cuTexObjectDestroy(tex));
    CK_EXPECT(cuTexObjectDestroy(tex), CUDA_ERROR_INVALID_VALUE); /* destroyed once only */
    CK(cuMemFree(out));
    CK(cuArrayDestroy(plain));
    rm_pass("remora_texture_objects");
    return 0;
}
