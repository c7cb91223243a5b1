/* GPU: a 256 Mi-element vector add (3 GiB of device memory) — large pageable
 * copies in both directions and one big kernel, verified element by element.
 * Timings (copies, kernel by events) go on '#' lines; stdout otherwise holds
 * only the checksum, identical natively and through remora. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

static const size_t n = (size_t)256 << 20;

static float *host_floats(uint64_t seed)
{
    float *p = malloc(n * sizeof(float));
    RM_EXPECT(p != NULL, "malloc %zu floats", n);
    rm_fill_random_f32(p, n, seed);
    return p;
}

static void print_rate(const char *what, size_t bytes, double us)
{
    printf("# %-12s %8.2f ms %7.2f GB/s\n", what, us / 1e3, (double)bytes / us / 1e3);
}

int main(void)
{
    const size_t bytes = n * sizeof(float);
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUdeviceptr d[3];
    CUevent start, stop;
    int count = (int)n;
    float kernel_ms = 0.0f;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CK(cuEventCreate(&start, CU_EVENT_DEFAULT));
    CK(cuEventCreate(&stop, CU_EVENT_DEFAULT));
    float *a = host_floats(1), *b = host_floats(2), *c = host_floats(3);
    for (int i = 0; i < 3; i++)
        CK(cuMemAlloc(&d[i], bytes));

    double t0 = rm_now_us();
    CK(cuMemcpyHtoD(d[0], a, bytes));
    CK(cuMemcpyHtoD(d[1], b, bytes));
    double t1 = rm_now_us();
    void *params[] = {&d[0], &d[1], &d[2], &count};
    CK(cuEventRecord(start, NULL));
    CK(cuLaunchKernel(rm_test_function(mod, "rm_vector_add"), 132 * 16, 1, 1, 256, 1, 1, 0,
                      NULL, params, NULL));
    CK(cuEventRecord(stop, NULL));
    CK(cuEventSynchronize(stop));
    CK(cuEventElapsedTime(&kernel_ms, start, stop));
    double t2 = rm_now_us();
    CK(cuMemcpyDtoH(c, d[2], bytes));
    double t3 = rm_now_us();

    for (size_t i = 0; i < n; i++)
        RM_EXPECT(c[i] == a[i] + b[i], "element %zu: %f + %f gave %f", i, a[i], b[i], c[i]);
    printf("vector_add %zu elements checksum %016llx\n", n,
           (unsigned long long)rm_checksum(c, bytes));
    print_rate("H2D 2x1GiB", 2 * bytes, t1 - t0);
    print_rate("kernel", 3 * bytes, kernel_ms * 1e3);
    print_rate("D2H 1GiB", bytes, t3 - t2);

    for (int i = 0; i < 3; i++)
        CK(cuMemFree(d[i]));
    free(a);
    free(b);
    free(c);
    CK(cuEventDestroy(start));
    CK(cuEventDestroy(stop));
    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("vector_add_large");
    return 0;
}
