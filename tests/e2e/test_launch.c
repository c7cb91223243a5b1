/* e2e: kernel launches — rm_vector_add through kernelParams and through the
 * `extra` packed buffer, rm_fill_u32, rm_scale_f32 through cuLaunchKernelEx,
 * 1000 queued launches then one sync, function attributes and parameter
 * layout, and the cuLibrary/cuKernel path. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = (1 << 20) + 7 }; /* odd, not a multiple of any block size */
static const size_t fbytes = (size_t)N * sizeof(float);

static CUmodule mod;
static CUstream stream;

static CUdeviceptr device_copy_of(const void *host, size_t bytes)
{
    CUdeviceptr d;
    CK(cuMemAlloc(&d, bytes));
    CK(cuMemcpyHtoD(d, host, bytes));
    return d;
}

/* Copy n floats back and compare with want[]. */
static void expect_device_floats(CUdeviceptr d, const float *want, size_t n, const char *what)
{
    float *got = malloc(n * sizeof(float));
    RM_EXPECT(got != NULL, "malloc");
    CK(cuMemcpyDtoH(got, d, n * sizeof(float)));
    rm_expect_bytes(got, want, n * sizeof(float), what);
    printf("%s checksum %016llx\n", what,
           (unsigned long long)rm_checksum(got, n * sizeof(float)));
    free(got);
}

static void check_vector_add(const float *a, const float *b, const float *sum)
{
    CUfunction f = rm_test_function(mod, "rm_vector_add");
    CUdeviceptr da = device_copy_of(a, fbytes), db = device_copy_of(b, fbytes), dc;
    int n = N;
    CK(cuMemAlloc(&dc, fbytes));

    CK(cuMemsetD32(dc, 0, N));
    void *params[] = {&da, &db, &dc, &n};
    rm_launch_1d(f, stream, N, params);
    CK(cuStreamSynchronize(stream));
    expect_device_floats(dc, sum, N, "vector_add_params");

    /* The same arguments packed by hand: three pointers, then the int. */
    unsigned char buf[28];
    size_t size = sizeof buf;
    memcpy(buf + 0, &da, 8);
    memcpy(buf + 8, &db, 8);
    memcpy(buf + 16, &dc, 8);
    memcpy(buf + 24, &n, 4);
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                     CU_LAUNCH_PARAM_END};
    CK(cuMemsetD32(dc, 0, N));
    CK(cuLaunchKernel(f, 64, 1, 1, 256, 1, 1, 0, stream, NULL, extra));
    CK(cuStreamSynchronize(stream));
    expect_device_floats(dc, sum, N, "vector_add_extra");

    CK(cuMemFree(da));
    CK(cuMemFree(db));
    CK(cuMemFree(dc));
}

/* Run rm_fill_u32 (from `f`) over a fresh buffer and verify every element. */
static void fill_and_check(CUfunction f, unsigned value, const char *what)
{
    CUdeviceptr d;
    unsigned *got = malloc((size_t)N * 4);
    int n = N;
    RM_EXPECT(got != NULL, "malloc");
    CK(cuMemAlloc(&d, (size_t)N * 4));
    void *params[] = {&d, &value, &n};
    rm_launch_1d(f, stream, N, params);
    CK(cuMemcpyDtoHAsync(got, d, (size_t)N * 4, stream));
    CK(cuStreamSynchronize(stream));
    for (size_t i = 0; i < N; i++)
        RM_EXPECT(got[i] == value, "%s: element %zu is %#x, want %#x", what, i, got[i], value);
    printf("%s ok\n", what);
    CK(cuMemFree(d));
    free(got);
}

static void check_scale_launch_ex(const float *a)
{
    CUfunction f = rm_test_function(mod, "rm_scale_f32");
    CUdeviceptr d = device_copy_of(a, fbytes);
    float s = 0.5f, *want = malloc(fbytes);
    int n = N;
    RM_EXPECT(want != NULL, "malloc");
    for (size_t i = 0; i < N; i++)
        want[i] = a[i] * s;

    CUlaunchConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.gridDimX = 120; /* fewer threads than elements: the grid-stride loop covers the rest */
    cfg.gridDimY = cfg.gridDimZ = 1;
    cfg.blockDimX = 128;
    cfg.blockDimY = cfg.blockDimZ = 1;
    cfg.hStream = stream;
    void *params[] = {&d, &s, &n};
    CK(cuLaunchKernelEx(&cfg, f, params, NULL));
    CK(cuStreamSynchronize(stream));
    expect_device_floats(d, want, N, "scale_launch_ex");
    CK(cuMemFree(d));
    free(want);
}

/* c += a, 1000 times, queued without waiting; one sync at the end. A small n
 * keeps the fake backend's C kernels quick: this checks queueing, not math. */
static void check_many_async_launches(const float *a)
{
    enum { launches = 1000, n_small = 65537 };
    const size_t bytes = n_small * sizeof(float);
    CUfunction f = rm_test_function(mod, "rm_vector_add");
    CUdeviceptr da = device_copy_of(a, bytes), dc;
    float *want = malloc(bytes);
    int n = n_small;
    RM_EXPECT(want != NULL, "malloc");
    CK(cuMemAlloc(&dc, bytes));
    CK(cuMemsetD32Async(dc, 0, n_small, stream));
    void *params[] = {&da, &dc, &dc, &n};
    for (int i = 0; i < launches; i++)
        rm_launch_1d(f, stream, n_small, params);
    CK(cuStreamSynchronize(stream));
    for (size_t i = 0; i < n_small; i++)
        want[i] = a[i] * launches; /* exact: small integers */
    expect_device_floats(dc, want, n_small, "async_launches_1000");
    CK(cuMemFree(da));
    CK(cuMemFree(dc));
    free(want);
}

static void check_function_attributes(void)
{
    CUfunction f = rm_test_function(mod, "rm_vector_add");
    int max_threads = 0, regs = -1;
    CK(cuFuncGetAttribute(&max_threads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f));
    CK(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
    RM_EXPECT(max_threads >= 256, "max threads per block %d", max_threads);
    RM_EXPECT(regs >= 0, "registers %d", regs);
    printf("func_attr max_threads_per_block %d\n", max_threads);

    static const size_t want_off[] = {0, 8, 16, 24}, want_size[] = {8, 8, 8, 4};
    for (size_t i = 0; i < 4; i++) {
        size_t off = 99, size = 99;
        CK(cuFuncGetParamInfo(f, i, &off, &size));
        RM_EXPECT(off == want_off[i] && size == want_size[i], "param %zu at %zu size %zu", i,
                  off, size);
    }
    size_t off, size;
    CK_EXPECT(cuFuncGetParamInfo(f, 4, &off, &size), CUDA_ERROR_INVALID_VALUE);
    printf("param_info ok\n");
}

static void check_library_path(void)
{
    CUlibrary lib;
    CUkernel kernel;
    CUfunction f;
    CK(cuLibraryLoadData(&lib, rm_test_kernel_image(NULL), NULL, NULL, 0, NULL, NULL, 0));
    CK(cuLibraryGetKernel(&kernel, lib, "rm_fill_u32"));
    CK(cuKernelGetFunction(&f, kernel));
    fill_and_check(f, 0x5eed5eedu, "library_fill");
    CK(cuLibraryUnload(lib));
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));

    float *a = malloc(fbytes), *b = malloc(fbytes), *sum = malloc(fbytes);
    RM_EXPECT(a && b && sum, "malloc");
    rm_fill_random_f32(a, N, 1);
    rm_fill_random_f32(b, N, 2);
    for (size_t i = 0; i < N; i++)
        sum[i] = a[i] + b[i];

    check_vector_add(a, b, sum);
    fill_and_check(rm_test_function(mod, "rm_fill_u32"), 0xc0ffeeu, "fill_u32");
    check_scale_launch_ex(a);
    check_many_async_launches(a);
    check_function_attributes();
    check_library_path();

    free(a);
    free(b);
    free(sum);
    CK(cuStreamDestroy(stream));
    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("launch");
    return 0;
}
