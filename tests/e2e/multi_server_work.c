/* e2e (tests/e2e/multi_server.sh): several servers in REMORA_SERVER. Their
 * GPUs form one list of devices, in order; each call goes to the server of
 * the context, stream, event or device it names. Checks: the device count,
 * work on every device (from one thread, switching contexts, and from one
 * thread per device at once), streams and events used while another
 * server's context is current, device addresses that name one allocation,
 * peer access between servers (none), host functions on the second server's
 * streams, and page-locked memory used with a server it was not made for.
 * argv[1]: the number of devices expected. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEVICES = 16, N = 65537 };

static CUcontext ctx[MAX_DEVICES];

/* On device i's context (made current here): c = a + b, verified. */
static void add_on(int i, CUstream s)
{
    CUmodule mod;
    CUdeviceptr d[3];
    const size_t bytes = N * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
    int n = N;
    RM_EXPECT(a && b && c, "malloc");
    CK(cuCtxSetCurrent(ctx[i]));
    rm_fill_random_f32(a, N, (uint64_t)i + 1);
    rm_fill_random_f32(b, N, (uint64_t)i + 101);
    rm_test_load_kernels(&mod);
    for (int k = 0; k < 3; k++)
        CK(cuMemAlloc(&d[k], bytes));
    CK(cuMemcpyHtoDAsync(d[0], a, bytes, s));
    CK(cuMemcpyHtoDAsync(d[1], b, bytes, s));
    void *params[] = {&d[0], &d[1], &d[2], &n};
    rm_launch_1d(rm_test_function(mod, "rm_vector_add"), s, N, params);
    CK(cuMemcpyDtoHAsync(c, d[2], bytes, s));
    CK(cuStreamSynchronize(s));
    for (size_t k = 0; k < N; k++)
        RM_EXPECT(c[k] == a[k] + b[k], "device %d element %zu: %f", i, k, c[k]);
    for (int k = 0; k < 3; k++)
        CK(cuMemFree(d[k]));
    CK(cuModuleUnload(mod));
    free(a);
    free(b);
    free(c);
}

static void *thread_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    add_on(i, NULL);
    return NULL;
}

static void set_flag(void *p) { __atomic_store_n((int *)p, 1, __ATOMIC_RELEASE); }

int main(int argc, char **argv)
{
    int want = argc > 1 ? atoi(argv[1]) : 0, count = 0;
    CK(cuInit(0));
    CK(cuDeviceGetCount(&count));
    RM_EXPECT(count == want && count <= MAX_DEVICES, "%d devices, expected %d", count, want);
    printf("devices %d\n", count);

    CUstream stream[MAX_DEVICES];
    CUevent event[MAX_DEVICES];
    CUdeviceptr keep[MAX_DEVICES];
    const size_t keep_bytes = 1 << 20;
    for (int i = 0; i < count; i++) {
        CK(cuDevicePrimaryCtxRetain(&ctx[i], i));
        CK(cuCtxSetCurrent(ctx[i]));
        CK(cuStreamCreate(&stream[i], CU_STREAM_NON_BLOCKING));
        CK(cuEventCreate(&event[i], 0));
        CK(cuMemAlloc(&keep[i], keep_bytes));
        CK(cuMemsetD8(keep[i], (unsigned char)(i + 1), keep_bytes));
        CUdevice dev = -1;
        CK(cuCtxGetDevice(&dev));
        RM_EXPECT(dev == i, "context %d is on device %d", i, dev);
        CK(cuStreamGetDevice(stream[i], &dev));
        RM_EXPECT(dev == i, "stream of device %d says device %d", i, dev);
    }
    /* One address, one allocation: the servers' ranges do not overlap here. */
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            RM_EXPECT(keep[i] + keep_bytes <= keep[j] || keep[j] + keep_bytes <= keep[i],
                      "devices %d and %d share addresses", i, j);
    printf("device addresses distinct\n");

    for (int i = count - 1; i >= 0; i--)
        add_on(i, stream[i]);
    printf("work on every device from one thread\n");

    pthread_t t[MAX_DEVICES];
    for (int i = 0; i < count; i++)
        RM_EXPECT(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i) == 0, "pthread_create");
    for (int i = 0; i < count; i++)
        pthread_join(t[i], NULL);
    printf("work on every device from a thread each\n");

    /* Streams, events and memory contents of every server while the first
     * device's context is current. */
    CK(cuCtxSetCurrent(ctx[0]));
    for (int i = 0; i < count; i++) {
        CK(cuEventRecord(event[i], stream[i]));
        CK(cuEventSynchronize(event[i]));
        CK(cuStreamSynchronize(stream[i]));
        CK_EXPECT(cuStreamQuery(stream[i]), CUDA_SUCCESS);
    }
    printf("streams and events of every server from one context\n");

    int can = -1;
    CK(cuDeviceCanAccessPeer(&can, 0, count - 1));
    RM_EXPECT(can == 0, "devices of different servers are peers (%d)", can);

    int flag = 0;
    CK(cuLaunchHostFunc(stream[count - 1], set_flag, &flag));
    CK(cuStreamSynchronize(stream[count - 1]));
    RM_EXPECT(__atomic_load_n(&flag, __ATOMIC_ACQUIRE) == 1, "host function on the last device did not run");
    printf("host function on the last server's stream\n");

    /* Page-locked memory made with the first server's context current,
     * used with the last server's device. */
    unsigned char *pinned;
    CK(cuMemAllocHost((void **)&pinned, keep_bytes));
    CK(cuCtxSetCurrent(ctx[count - 1]));
    CK(cuMemcpyDtoH(pinned, keep[count - 1], keep_bytes));
    for (size_t k = 0; k < keep_bytes; k++)
        RM_EXPECT(pinned[k] == (unsigned char)count, "pinned byte %zu: %u", k, pinned[k]);
    memset(pinned, 0x5a, keep_bytes);
    CK(cuMemcpyHtoDAsync(keep[count - 1], pinned, keep_bytes, stream[count - 1]));
    CK(cuStreamSynchronize(stream[count - 1]));
    memset(pinned, 0, keep_bytes);
    CK(cuMemcpyDtoH(pinned, keep[count - 1], keep_bytes));
    RM_EXPECT(pinned[0] == 0x5a && pinned[keep_bytes - 1] == 0x5a, "pinned round trip");
    CK(cuMemFreeHost(pinned));
    printf("page-locked memory of one server used with another\n");

    for (int i = 0; i < count; i++) {
        CK(cuCtxSetCurrent(ctx[i]));
        CK(cuMemFree(keep[i]));
        CK(cuEventDestroy(event[i]));
        CK(cuStreamDestroy(stream[i]));
        CK(cuDevicePrimaryCtxRelease(i));
    }
    rm_pass("multi_server");
    return 0;
}
