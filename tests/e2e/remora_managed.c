/* e2e (remora only): managed memory's emulation (src/client/managed.h) at
 * its edges, over both transports: CPU writes made just before a launch
 * (no synchronisation between them) or before a copy reach the device; a
 * kernel's writes reach the CPU at a synchronous copy; a host write while
 * the device works on other memory is not overwritten; managed memory as
 * the host side of a copy; bad arguments,
 * prefetch/advice on memory that is not managed, double frees. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

enum { N = 5000 };

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUdeviceptr m, plain, bad;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CUfunction fill = rm_test_function(mod, "rm_fill_u32");

    CK_EXPECT(cuMemAllocManaged(&bad, 0, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuMemAllocManaged(&bad, 64, CU_MEM_ATTACH_SINGLE), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuMemAllocManaged(NULL, 64, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_INVALID_VALUE);

    CK(cuMemAllocManaged(&m, N * 4, CU_MEM_ATTACH_GLOBAL));
    CK(cuMemAlloc(&plain, N * 4));
    unsigned *host = (unsigned *)(uintptr_t)m;
    unsigned back[N];

    /* a CPU write, then at once a copy from the managed memory */
    for (int i = 0; i < N; i++)
        host[i] = (unsigned)i * 3;
    CK(cuMemcpyDtoD(plain, m, N * 4));
    CK(cuMemcpyDtoH(back, plain, N * 4));
    RM_EXPECT(back[N - 1] == (N - 1) * 3u, "a CPU write is seen by the next copy");

    /* a CPU write, a kernel over part of it, a synchronous copy out: the
     * kernel's writes and the CPU's other bytes are both there */
    host[0] = 11;
    unsigned v = 9;
    int half = N / 2;
    void *params[] = {&(CUdeviceptr){m + half * 4}, &v, &half};
    rm_launch_1d(fill, NULL, (size_t)half, params);
    CK(cuMemcpyDtoH(back, m, N * 4));
    RM_EXPECT(back[0] == 11 && back[half - 1] == (half - 1) * 3u && back[half] == 9 && back[N - 1] == 9,
              "a launch right after a CPU write sees it");
    RM_EXPECT(host[N - 1] == 9 && host[0] == 11, "the CPU sees the kernel's writes after a synchronous copy");

    /* the CPU writes while the device works on other memory: its write wins */
    v = 5;
    void *other[] = {&plain, &v, &(int){N}};
    rm_launch_1d(fill, NULL, N, other);
    host[1] = 77;
    CK(cuCtxSynchronize());
    RM_EXPECT(host[1] == 77, "a CPU write during device work is kept");
    CK(cuMemcpyDtoH(back, m, 8));
    RM_EXPECT(back[1] == 77, "and reaches the device");

    /* managed memory as the host side of a copy: written here (through the
     * staging threads over shm), then copied to the device before the next
     * work */
    CK(cuMemcpyDtoH(host, plain, N * 4));
    RM_EXPECT(host[0] == 5 && host[N - 1] == 5, "a copy into managed memory as host memory");
    host[2] = 123;
    CK(cuMemcpyDtoD(plain, m, N * 4));
    CK(cuMemcpyDtoH(back, plain, N * 4));
    RM_EXPECT(back[0] == 5 && back[2] == 123 && back[N - 1] == 5, "which reaches the device");

    /* pointer attributes */
    unsigned is_managed = 0;
    CK(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, m + 100));
    RM_EXPECT(is_managed == 1, "IS_MANAGED inside a managed allocation");
    CK(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, plain));
    RM_EXPECT(is_managed == 0, "IS_MANAGED of device memory");

    /* hints on memory that is not managed, or past the allocation */
    CUmemLocation loc = {CU_MEM_LOCATION_TYPE_DEVICE, 0};
    CK_EXPECT(cuMemPrefetchAsync_v2(plain, 64, loc, 0, NULL), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuMemPrefetchAsync_v2(m, N * 4 + 1, loc, 0, NULL), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuMemAdvise_v2(plain, 64, CU_MEM_ADVISE_SET_READ_MOSTLY, loc), CUDA_ERROR_INVALID_VALUE);
    CK_EXPECT(cuMemPrefetchAsync_v2(m, 64, (CUmemLocation){CU_MEM_LOCATION_TYPE_DEVICE, 99}, 0, NULL),
        CUDA_ERROR_INVALID_DEVICE);
    CK_EXPECT(cuStreamAttachMemAsync(NULL, m + 4, 0, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_INVALID_VALUE);
    int rm = -1;
    CK_EXPECT(cuMemRangeGetAttribute(&rm, 4, CU_MEM_RANGE_ATTRIBUTE_READ_MOSTLY, plain, 64), CUDA_ERROR_INVALID_VALUE);

    /* frees: inside the allocation, twice */
    CK_EXPECT(cuMemFree(m + 4), CUDA_ERROR_INVALID_VALUE);
    CK(cuMemFree(m));
    CK_EXPECT(cuMemFree(m), CUDA_ERROR_INVALID_VALUE);
    CK(cuMemFree(plain));
    CK(cuCtxSynchronize());
    rm_pass("remora_managed");
    return 0;
}
