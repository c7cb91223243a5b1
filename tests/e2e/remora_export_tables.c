/* e2e (remora only): the export tables libraries use beside cudart's.
 * cuBLAS's entries answer as the driver did (tools_tls [2] gives the current
 * context, cublas_interface [4] writes 1); cuFFT's cufft_interface [7]
 * visits a module's functions until the visitor takes one; an entry nobody has studied
 * refuses with CUDA_ERROR_NOT_SUPPORTED every time it is called; an unknown
 * UUID gets no table. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef CUresult (*entry_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

static const void *const *table(const char *hex)
{
    CUuuid id;
    for (int i = 0; i < 16; i++) {
        unsigned byte = 0;
        sscanf(hex + 2 * i, "%2x", &byte);
        id.bytes[i] = (char)byte;
    }
    const void *t = NULL;
    CUresult r = cuGetExportTable(&t, &id);
    return r == CUDA_SUCCESS ? (const void *const *)t : NULL;
}

static CUresult call(const void *const *t, int index, uint64_t a0, uint64_t a1, uint64_t a2)
{
    return ((entry_fn)(uintptr_t)t[index])(a0, a1, a2, 0, 0, 0);
}

/* cufft_interface [7]'s visitor: takes the function named *arg. */
static int visited;
static int take_named(void **out, CUfunction f, const char *name, uint64_t zero1, uint64_t zero2, void *arg)
{
    visited++;
    if (zero1 || zero2)
        return 0;
    if (strcmp(name, (const char *)arg) == 0)
        *out = f;
    return 0xa;
}

typedef int (*find_fn)(CUcontext, CUmodule, void *, void **, void *, uint64_t);

static void cufft_find_function(CUcontext ctx)
{
    const void *const *fft = table("6e163fbeb958444d835ce182aff1991e");
    RM_EXPECT(fft != NULL, "no cufft_interface table");
    find_fn find = (find_fn)(uintptr_t)fft[7];
    CUmodule mod;
    rm_test_load_kernels(&mod);
    void *out = NULL;
    int r = find(ctx, mod, (void *)take_named, &out, (void *)"rm_add_counter", 0);
    RM_EXPECT(r == 1 && out != NULL && visited >= 1, "cufft_interface [7] answered %d, out %p", r, out);
    void *args[] = {&(int){1}};
    CK(cuLaunchKernel((CUfunction)out, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL));
    CK(cuCtxSynchronize());
    out = NULL;
    r = find(ctx, mod, (void *)take_named, &out, (void *)"no_such_kernel", 0);
    RM_EXPECT(r == CUDA_ERROR_NOT_FOUND && out == NULL, "a visitor that took nothing: %d", r);
    RM_EXPECT(find(ctx, mod, NULL, &out, NULL, 0) == CUDA_ERROR_INVALID_VALUE, "a null visitor");
    CK(cuModuleUnload(mod));
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx, current = NULL, got = (CUcontext)(uintptr_t)1;
    rm_test_init(&dev, &ctx);
    CK(cuCtxGetCurrent(&current));

    const void *const *tls = table("42d85a8123f6cb478298f6e78a3aecdc");
    RM_EXPECT(tls != NULL, "no tools_tls table");
    CK(call(tls, 2, (uintptr_t)&got, 0, 0));
    RM_EXPECT(got == current && got != NULL, "tools_tls [2] gave %p, current is %p", (void *)got, (void *)current);
    RM_EXPECT(call(tls, 2, 0, 0, 0) == CUDA_ERROR_INVALID_VALUE, "tools_tls [2] took a null output");

    const void *const *blas = table("21318c60971432488ca641ff7324c8f2");
    uint64_t usable = 0;
    RM_EXPECT(blas != NULL, "no cublas_interface table");
    CK(call(blas, 4, (uintptr_t)got, (uintptr_t)&usable, UINT64_MAX));
    RM_EXPECT(usable == 1, "cublas_interface [4] wrote %llu", (unsigned long long)usable);

    const void *const *torch = table("69a28e9f24498b47b030c5da330ea4e9");
    RM_EXPECT(torch != NULL, "no pytorch_interface table");
    for (int i = 0; i < 3; i++) /* warned once, refused every time */
        RM_EXPECT(call(torch, 24, 0, 0x81, 0x7fffffff) == CUDA_ERROR_NOT_SUPPORTED,
                  "unstudied entry did not refuse");

    cufft_find_function(current);

    RM_EXPECT(table("00112233445566778899aabbccddeeff") == NULL, "a table for an unknown UUID");
    CK(cuDevicePrimaryCtxRelease(dev));
    printf("PASS export_tables\n");
    return 0;
}
