/* e2e and GPU suite: device memory exhausted. Allocates chunks of 1/64 of
 * the device's memory until cuMemAlloc answers CUDA_ERROR_OUT_OF_MEMORY;
 * with the device full, copies and a kernel on memory allocated before
 * still work; once everything is freed the free memory comes back (within
 * 64 MiB) and a chunk can be allocated again. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAX_CHUNKS = 128 };

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    CUmodule mod;
    rm_test_load_kernels(&mod);
    CUfunction fill = rm_test_function(mod, "rm_fill_u32");
    size_t free0, total;
    CK(cuMemGetInfo(&free0, &total));
    size_t chunk = total / 64;

    static CUdeviceptr chunks[MAX_CHUNKS];
    int n = 0;
    CUresult r = CUDA_SUCCESS;
    while (n < MAX_CHUNKS && (r = cuMemAlloc(&chunks[n], chunk)) == CUDA_SUCCESS)
        n++;
    RM_EXPECT(r == CUDA_ERROR_OUT_OF_MEMORY, "allocation %d of %zu bytes: %s, want CUDA_ERROR_OUT_OF_MEMORY", n,
              chunk, rm_err_name(r));
    RM_EXPECT(n >= 32, "only %d chunks of 1/64 of the memory fit", n);
    printf("allocations until full: out of memory after at least 32 chunks\n");
    printf("# %d chunks of %zu bytes\n", n, chunk);

    /* the device is full: what was allocated still works */
    enum { WORDS = 1 << 16 };
    static unsigned host[WORDS];
    unsigned v = 0x5eed;
    int words = WORDS;
    void *params[] = {&chunks[0], &v, &words};
    rm_launch_1d(fill, NULL, WORDS, params);
    CK(cuCtxSynchronize());
    CK(cuMemcpyDtoH(host, chunks[0], sizeof host));
    for (int i = 0; i < WORDS; i++)
        RM_EXPECT(host[i] == v, "word %d after a kernel on a full device: %#x", i, host[i]);
    CK(cuMemcpyDtoD(chunks[n - 1], chunks[0], sizeof host));
    CK(cuMemcpyDtoH(host, chunks[n - 1], sizeof host));
    RM_EXPECT(host[WORDS - 1] == v, "copy on a full device");
    printf("kernel and copies on a full device: ok\n");

    for (int i = 0; i < n; i++)
        CK(cuMemFree(chunks[i]));
    size_t free1;
    CK(cuMemGetInfo(&free1, &total));
    RM_EXPECT(free1 + (64u << 20) >= free0, "free memory %zu after freeing, %zu before", free1, free0);
    CK(cuMemAlloc(&chunks[0], chunk));
    CK(cuMemFree(chunks[0]));
    printf("memory back after freeing: ok\n");
    CK(cuModuleUnload(mod));
    rm_pass("memory_exhausted");
}
