/* e2e: module globals — cuModuleGetGlobal for rm_counter and rm_table, write
 * rm_table from the host and sum it with rm_table_sum, bump rm_counter with
 * rm_add_counter N times and read it back. */
#include "testutil.h"

#include <stdio.h>

static CUdeviceptr global(CUmodule mod, const char *name, size_t want_size)
{
    CUdeviceptr p = 0;
    size_t size = 0;
    CK(cuModuleGetGlobal(&p, &size, mod, name));
    RM_EXPECT(p != 0 && size == want_size, "%s at %#llx size %zu, want size %zu", name,
              (unsigned long long)p, size, want_size);
    return p;
}

static void check_table_sum(CUmodule mod, CUstream s)
{
    float table[256], sum = 0.0f, got = -1.0f;
    CUdeviceptr dtable = global(mod, "rm_table", sizeof table), out;
    rm_fill_random_f32(table, 256, 99);
    for (int i = 0; i < 256; i++)
        sum += table[i];

    CK(cuMemcpyHtoD(dtable, table, sizeof table));
    CK(cuMemAlloc(&out, sizeof(float)));
    void *params[] = {&out};
    CK(cuLaunchKernel(rm_test_function(mod, "rm_table_sum"), 1, 1, 1, 32, 1, 1, 0, s, params,
                      NULL));
    CK(cuMemcpyDtoHAsync(&got, out, sizeof got, s));
    CK(cuStreamSynchronize(s));
    RM_EXPECT(got == sum, "rm_table_sum gave %f, want %f", got, sum);
    printf("table_sum %.1f\n", got);
    CK(cuMemFree(out));
}

static void check_counter(CUmodule mod, CUstream s)
{
    enum { launches = 500 };
    CUdeviceptr counter = global(mod, "rm_counter", sizeof(int));
    CUfunction add = rm_test_function(mod, "rm_add_counter");
    int got = -1, want = 0, start = 7;
    CK(cuMemcpyHtoD(counter, &start, sizeof start));
    for (int i = 1; i <= launches; i++) {
        void *params[] = {&i};
        /* Several blocks and threads: the kernel still adds once per launch. */
        CK(cuLaunchKernel(add, 3, 1, 1, 64, 1, 1, 0, s, params, NULL));
        want += i;
    }
    CK(cuStreamSynchronize(s));
    CK(cuMemcpyDtoH(&got, counter, sizeof got));
    RM_EXPECT(got == start + want, "rm_counter is %d, want %d", got, start + want);
    printf("counter %d\n", got);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUstream s;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    check_table_sum(mod, s);
    check_counter(mod, s);
    CK(cuStreamDestroy(s));
    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("globals");
    return 0;
}
