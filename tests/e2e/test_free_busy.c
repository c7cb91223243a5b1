/* e2e and GPU suite: memory freed while the device still works on it. A
 * long kernel and then a fill of a 64 MiB buffer are queued on a stream and
 * the buffer is freed at once: cuMemFree waits for that work (remora's
 * memory manager must too, before it unmaps: without it the fill faulted,
 * as PyTorch's empty_cache right after queued work did on the H200). Then
 * the memory is allocated again and used. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

enum { WORDS = 16 << 20 };

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    CUmodule mod;
    rm_test_load_kernels(&mod);
    CUfunction spin = rm_test_function(mod, "rm_spin"), fill = rm_test_function(mod, "rm_fill_u32");
    CUstream s;
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    for (int round = 0; round < 3; round++) {
        CUdeviceptr d;
        CK(cuMemAlloc(&d, (size_t)WORDS * 4));
        int n = 100000, words = WORDS;
        unsigned v = 0xfeed0000u + (unsigned)round;
        void *spin_args[] = {&n};
        CK(cuLaunchKernel(spin, 1, 1, 1, 32, 1, 1, 0, s, spin_args, NULL));
        void *fill_args[] = {&d, &v, &words};
        rm_launch_1d(fill, s, WORDS, fill_args);
        CK(cuMemFree(d));
        CK(cuStreamSynchronize(s));
    }
    CUdeviceptr d;
    CK(cuMemAlloc(&d, (size_t)WORDS * 4));
    unsigned v = 7, *host = malloc((size_t)WORDS * 4);
    int words = WORDS;
    RM_EXPECT(host != NULL, "malloc");
    void *fill_args[] = {&d, &v, &words};
    rm_launch_1d(fill, s, WORDS, fill_args);
    CK(cuMemcpyDtoH(host, d, (size_t)WORDS * 4));
    for (int i = 0; i < WORDS; i += 4099)
        RM_EXPECT(host[i] == v, "word %d: %#x after the frees", i, host[i]);
    CK(cuMemFree(d));
    free(host);
    printf("frees while busy: ok\n");
    CK(cuStreamDestroy(s));
    CK(cuModuleUnload(mod));
    rm_pass("free_busy");
}
