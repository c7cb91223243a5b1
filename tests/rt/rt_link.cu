/* The JIT linker: two pieces of relocatable device code compiled at run
 * time with NVRTC, one calling a function of the other, linked with
 * cuLink* (one from memory, one from a file) into an image that is then
 * loaded and run. The kernel is the suite's rm_scale_f32, by its C name. */
#include <string.h>
#include <unistd.h>

#include "rt_nvrtc.h"

static const char caller[] = "__device__ float rm_twice(float v);\n"
                             "extern \"C\" __global__ void rm_scale_f32(float *x, float s, int n)\n"
                             "{\n"
                             "    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)\n"
                             "        x[i] = rm_twice(x[i]) * s * 0.5f;\n"
                             "}\n";
static const char callee[] = "__device__ float rm_twice(float v) { return 2.0f * v; }\n";

/* Relocatable PTX of source (malloc'd, NUL-terminated; *size counts the NUL). */
static char *compile(const char *source, const char *name, size_t *size)
{
    const char *opts[] = {"--gpu-architecture=compute_90", "--relocatable-device-code=true"};
    return rt_compile_ptx(source, name, 2, opts, size);
}

int main()
{
    size_t caller_size, callee_size;
    char *caller_ptx = compile(caller, "caller.cu", &caller_size);
    char *callee_ptx = compile(callee, "callee.cu", &callee_size);
    char path[] = "/tmp/rt_link_XXXXXX";
    int fd = mkstemp(path);
    RT_EXPECT(fd >= 0 && write(fd, callee_ptx, callee_size - 1) == (ssize_t)(callee_size - 1));
    close(fd);

    RT_CHECK(cudaFree(0)); /* the runtime's primary context is current */
    char info[4096] = "", error[4096] = "";
    float wall = -1.0f;
    CUjit_option opts[] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER,
                           CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_WALL_TIME};
    void *vals[] = {info, (void *)sizeof info, error, (void *)sizeof error, (void *)(uintptr_t)3, &wall};
    CUlinkState link;
    CU_CHECK(cuLinkCreate(6, opts, vals, &link));
    CU_CHECK(cuLinkAddData(link, CU_JIT_INPUT_PTX, caller_ptx, caller_size, "caller.ptx", 0, NULL, NULL));
    CU_CHECK(cuLinkAddFile(link, CU_JIT_INPUT_PTX, path, 0, NULL, NULL));
    RT_EXPECT(cuLinkAddFile(link, CU_JIT_INPUT_PTX, "/nonexistent/x.ptx", 0, NULL, NULL) == CUDA_ERROR_FILE_NOT_FOUND);
    void *image = NULL;
    size_t image_size = 0;
    CU_CHECK(cuLinkComplete(link, &image, &image_size));
    RT_EXPECT(image && image_size > 0);
    printf("linked: an image\n");
    printf("# wall time %g ms, error log [%s], info log [%s]\n", wall, error, info);

    CUmodule mod;
    CUfunction f;
    CU_CHECK(cuModuleLoadData(&mod, image));
    CU_CHECK(cuLinkDestroy(link)); /* the module has its own copy */
    CU_CHECK(cuModuleGetFunction(&f, mod, "rm_scale_f32"));
    const int n = 4096;
    float *x, *h = (float *)malloc(n * sizeof(float));
    for (int i = 0; i < n; i++)
        h[i] = (float)i;
    RT_CHECK(cudaMalloc(&x, n * sizeof(float)));
    RT_CHECK(cudaMemcpy(x, h, n * sizeof(float), cudaMemcpyHostToDevice));
    float s = 3.0f;
    int count = n;
    void *params[] = {&x, &s, &count};
    CU_CHECK(cuLaunchKernel(f, 8, 1, 1, 128, 1, 1, 0, NULL, params, NULL));
    RT_CHECK(cudaMemcpy(h, x, n * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        RT_EXPECT(h[i] == 3.0f * (float)i);
    printf("linked kernel: x[4095] = %g\n", h[n - 1]);

    CU_CHECK(cuModuleUnload(mod));
    RT_CHECK(cudaFree(x));
    unlink(path);
    free(h);
    free(caller_ptx);
    free(callee_ptx);
    printf("PASS rt_link\n");
    return 0;
}
