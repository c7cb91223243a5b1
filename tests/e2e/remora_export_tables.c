/* e2e (remora only): the export tables libraries use beside cudart's.
 * cuBLAS's entries answer as the driver did (tools_tls [2] gives the current
 * context, cublas_interface [4] writes 1); an entry nobody has studied
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

    RM_EXPECT(table("00112233445566778899aabbccddeeff") == NULL, "a table for an unknown UUID");
    CK(cuDevicePrimaryCtxRelease(dev));
    printf("PASS export_tables\n");
    return 0;
}
