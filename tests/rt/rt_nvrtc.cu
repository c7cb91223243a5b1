/* A kernel compiled at run time with NVRTC (to PTX, in the client) and
 * loaded with the driver API: the server's driver compiles the PTX for its
 * GPU. The kernel is the suite's rm_scale_f32, by its C name. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt_nvrtc.h"

static const char source[] = "extern \"C\" __global__ void rm_scale_f32(float *x, float s, int n)\n"
                             "{\n"
                             "    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)\n"
                             "        x[i] *= s;\n"
                             "}\n";

int main()
{
    const char *opts[] = {"--gpu-architecture=compute_90"};
    size_t ptx_size = 0;
    char *ptx = rt_compile_ptx(source, "scale.cu", 1, opts, &ptx_size);
    RT_EXPECT(strstr(ptx, ".entry rm_scale_f32") != NULL);
    printf("nvrtc: %s PTX\n", ptx_size > 0 ? "compiled" : "no");
    /* A comment unique to this run keeps the driver's JIT cache from
     * answering (a cache hit compiles nothing and leaves the info log empty,
     * so the log would depend on which run came first). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char *unique = (char *)malloc(ptx_size + 64);
    snprintf(unique, ptx_size + 64, "// rt_nvrtc run %d-%ld.%09ld\n%s", (int)getpid(), (long)ts.tv_sec,
             ts.tv_nsec, ptx);

    RT_CHECK(cudaFree(0)); /* the runtime's primary context is current */
    CUmodule mod;
    CUfunction f;
    char info[1024] = "", error[1024] = "";
    CUjit_option jopts[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                            CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_LOG_VERBOSE};
    void *jvals[] = {(void *)(uintptr_t)3, info, (void *)sizeof info, error, (void *)sizeof error, (void *)1};
    CU_CHECK(cuModuleLoadDataEx(&mod, unique, 6, jopts, jvals));
    RT_EXPECT(error[0] == '\0');
    RT_EXPECT(info[0] != '\0' && memchr(info, '\0', sizeof info) != NULL);
    printf("JIT info log written, error log empty\n");
    printf("# JIT info log: %.*s\n", (int)strcspn(info, "\n"), info);
    CU_CHECK(cuModuleGetFunction(&f, mod, "rm_scale_f32"));
    const int n = 10000;
    float *x, *h = (float *)malloc(n * sizeof(float));
    for (int i = 0; i < n; i++)
        h[i] = (float)i;
    RT_CHECK(cudaMalloc(&x, n * sizeof(float)));
    RT_CHECK(cudaMemcpy(x, h, n * sizeof(float), cudaMemcpyHostToDevice));
    float s = 0.5f;
    int count = n;
    void *params[] = {&x, &s, &count};
    CU_CHECK(cuLaunchKernel(f, 16, 1, 1, 128, 1, 1, 0, NULL, params, NULL));
    RT_CHECK(cudaMemcpy(h, x, n * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        RT_EXPECT(h[i] == 0.5f * (float)i);
    printf("run-time compiled kernel: x[9999] = %g\n", h[n - 1]);
    CU_CHECK(cuModuleUnload(mod));
    RT_CHECK(cudaFree(x));
    free(h);
    free(ptx);
    free(unique);
    printf("PASS rt_nvrtc\n");
    return 0;
}
