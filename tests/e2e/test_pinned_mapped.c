/* e2e: mapped and registered host memory — a kernel writes straight into
 * cuMemHostAlloc(DEVICEMAP) memory through its cuMemHostGetDevicePointer
 * address and the host reads the result after a sync; a page-aligned malloc'd
 * buffer registered with cuMemHostRegister serves as copy source and target. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = (1 << 20) + 13, REGISTERED_BYTES = 4 << 20 };

static void check_mapped_write(CUmodule mod, CUstream s)
{
    unsigned *host = NULL, value = 0x600dcafeu;
    CUdeviceptr mapped = 0;
    int n = N;
    CK(cuMemHostAlloc((void **)&host, (size_t)N * 4, CU_MEMHOSTALLOC_DEVICEMAP));
    memset(host, 0, (size_t)N * 4);
    const char *server = getenv("REMORA_SERVER");
    CUresult r = cuMemHostGetDevicePointer(&mapped, host, 0);
    int remote = server && (strncmp(server, "tcp://", 6) == 0 || strncmp(server, "tls://", 6) == 0 ||
                            strncmp(server, "ucx://", 6) == 0);
    if (r == CUDA_ERROR_NOT_SUPPORTED && remote) {
        /* remora over TCP (or TLS, UCX): host memory cannot be visible to a remote GPU */
        printf("mapped_write not available over %.3s (CUDA_ERROR_NOT_SUPPORTED)\n", server);
        CK(cuMemFreeHost(host));
        return;
    }
    CK(r);
    /* unified addressing: the device sees the memory at the host pointer */
    RM_EXPECT(mapped == (CUdeviceptr)(uintptr_t)host, "device pointer %#llx for host memory at %p",
              (unsigned long long)mapped, (void *)host);

    void *params[] = {&mapped, &value, &n};
    rm_launch_1d(rm_test_function(mod, "rm_fill_u32"), s, N, params);
    CK(cuStreamSynchronize(s));
    for (size_t i = 0; i < N; i++)
        RM_EXPECT(host[i] == value, "mapped element %zu is %#x", i, host[i]);
    /* the host pointer itself as a device address: memset, then a copy out */
    CK(cuMemsetD32Async((CUdeviceptr)(uintptr_t)host, 0x5a5a5a5au, 8, s));
    CK(cuStreamSynchronize(s));
    RM_EXPECT(host[0] == 0x5a5a5a5au && host[7] == 0x5a5a5a5au && host[8] == value,
              "memset through the host pointer: %#x %#x %#x", host[0], host[7], host[8]);
    CK(cuMemFreeHost(host));
    printf("mapped_write %d elements ok\n", N);
}

static void check_registered_copy(CUstream s)
{
    unsigned char *buf = NULL, *want = malloc(REGISTERED_BYTES);
    CUdeviceptr d;
    RM_EXPECT(want != NULL && posix_memalign((void **)&buf, 4096, REGISTERED_BYTES) == 0,
              "allocation");
    rm_fill_random(buf, REGISTERED_BYTES, 4242);
    memcpy(want, buf, REGISTERED_BYTES);
    CK(cuMemHostRegister(buf, REGISTERED_BYTES, CU_MEMHOSTREGISTER_PORTABLE));
    CK(cuMemAlloc(&d, REGISTERED_BYTES));

    CK(cuMemcpyHtoD(d, buf, REGISTERED_BYTES));
    memset(buf, 0, REGISTERED_BYTES);
    CK(cuMemcpyDtoHAsync(buf, d, REGISTERED_BYTES, s));
    CK(cuStreamSynchronize(s));
    rm_expect_bytes(buf, want, REGISTERED_BYTES, "registered buffer round trip");
    printf("registered checksum %016llx\n",
           (unsigned long long)rm_checksum(buf, REGISTERED_BYTES));

    CK(cuMemFree(d));
    CK(cuMemHostUnregister(buf));
    free(buf);
    free(want);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUstream s;
    int can_map = 0;
    rm_test_init(&dev, &ctx);
    CK(cuDeviceGetAttribute(&can_map, CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY, dev));
    RM_EXPECT(can_map, "device cannot map host memory");
    rm_test_load_kernels(&mod);
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    check_mapped_write(mod, s);
    check_registered_copy(s);
    CK(cuStreamDestroy(s));
    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("pinned_mapped");
    return 0;
}
