/* e2e: every device — one context per device (all alive at once), and on each
 * an allocation, a copy and a kernel, switching the current context between
 * them. Passes with one device; the fake run exposes two
 * (REMORA_FAKE_DEVICES=2, set by with_server.sh). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAX_DEVICES = 64, N = 100003 };

/* On the current context: load the kernels, c = a + b with data seeded by the
 * device ordinal, verified. */
static void add_on_current(int ordinal)
{
    CUmodule mod;
    CUdeviceptr d[3];
    const size_t bytes = N * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
    int n = N;
    RM_EXPECT(a && b && c, "malloc");
    rm_fill_random_f32(a, N, (uint64_t)ordinal + 1);
    rm_fill_random_f32(b, N, (uint64_t)ordinal + 101);

    rm_test_load_kernels(&mod);
    for (int i = 0; i < 3; i++)
        CK(cuMemAlloc(&d[i], bytes));
    CK(cuMemcpyHtoD(d[0], a, bytes));
    CK(cuMemcpyHtoD(d[1], b, bytes));
    void *params[] = {&d[0], &d[1], &d[2], &n};
    rm_launch_1d(rm_test_function(mod, "rm_vector_add"), NULL, N, params);
    CK(cuMemcpyDtoH(c, d[2], bytes));
    for (size_t i = 0; i < N; i++)
        RM_EXPECT(c[i] == a[i] + b[i], "device %d element %zu: %f", ordinal, i, c[i]);
    printf("device %d vector_add checksum %016llx\n", ordinal,
           (unsigned long long)rm_checksum(c, bytes));
    for (int i = 0; i < 3; i++)
        CK(cuMemFree(d[i]));
    CK(cuModuleUnload(mod));
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    int count = 0;
    CUcontext ctx[MAX_DEVICES];
    CK(cuInit(0));
    CK(cuDeviceGetCount(&count));
    RM_EXPECT(count >= 1 && count <= MAX_DEVICES, "device count %d", count);
    printf("devices %d\n", count);

    for (int i = 0; i < count; i++) {
        CUdevice dev;
        char name[256];
        CK(cuDeviceGet(&dev, i));
        CK(cuDeviceGetName(name, sizeof name, dev));
        printf("device %d %s\n", i, name);
        CK(cuCtxCreate(&ctx[i], NULL, 0, dev)); /* becomes current */
    }
    /* Contexts were pushed in order; walk them back, switching explicitly. */
    for (int i = count - 1; i >= 0; i--) {
        CUcontext current = NULL;
        CK(cuCtxSetCurrent(ctx[i]));
        CK(cuCtxGetCurrent(&current));
        RM_EXPECT(current == ctx[i], "context %d not current", i);
        add_on_current(i);
    }
    for (int i = 0; i < count; i++)
        CK(cuCtxDestroy(ctx[i]));
    rm_pass("multi_device");
    return 0;
}
