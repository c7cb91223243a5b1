/* e2e: one client thread per device, all at once, each with its own context
 * on its device doing independent work (c = a + b, then a device-to-device
 * copy and a memset), its results checked. Threads start together (a
 * barrier) so their calls interleave on the server. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_DEVICES = 64, N = 262147, ROUNDS = 4 };

typedef struct {
    int ordinal;
    uint64_t sum; /* of the last round's c */
} job_t;

static pthread_barrier_t start;

static void *work(void *arg)
{
    job_t *job = arg;
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUdeviceptr d[4];
    const size_t bytes = N * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
    unsigned *m = malloc(bytes);
    int n = N;
    RM_EXPECT(a && b && c && m, "malloc");
    CK(cuDeviceGet(&dev, job->ordinal));
    CK(cuCtxCreate(&ctx, NULL, 0, dev));
    rm_test_load_kernels(&mod);
    CUfunction add = rm_test_function(mod, "rm_vector_add");
    for (int i = 0; i < 4; i++)
        CK(cuMemAlloc(&d[i], bytes));
    pthread_barrier_wait(&start);
    for (int r = 0; r < ROUNDS; r++) {
        rm_fill_random_f32(a, N, (uint64_t)(job->ordinal * 1000 + r) + 1);
        rm_fill_random_f32(b, N, (uint64_t)(job->ordinal * 1000 + r) + 501);
        CK(cuMemcpyHtoD(d[0], a, bytes));
        CK(cuMemcpyHtoD(d[1], b, bytes));
        void *params[] = {&d[0], &d[1], &d[2], &n};
        rm_launch_1d(add, NULL, N, params);
        CK(cuMemcpyDtoD(d[3], d[2], bytes));
        CK(cuMemcpyDtoH(c, d[3], bytes));
        for (size_t i = 0; i < N; i++)
            RM_EXPECT(c[i] == a[i] + b[i], "device %d round %d element %zu: %f", job->ordinal, r, i, c[i]);
        CK(cuMemsetD32(d[3], 0x1000u + (unsigned)job->ordinal, N));
        CK(cuMemcpyDtoH(m, d[3], bytes));
        for (size_t i = 0; i < N; i++)
            RM_EXPECT(m[i] == 0x1000u + (unsigned)job->ordinal, "device %d memset element %zu: %x", job->ordinal, i, m[i]);
        job->sum = rm_checksum(c, bytes);
    }
    CUcontext cur;
    CK(cuCtxGetCurrent(&cur));
    RM_EXPECT(cur == ctx, "device %d: another thread's context became current", job->ordinal);
    CUdevice cdev;
    CK(cuCtxGetDevice(&cdev));
    RM_EXPECT(cdev == dev, "device %d: context on device %d", job->ordinal, (int)cdev);
    for (int i = 0; i < 4; i++)
        CK(cuMemFree(d[i]));
    CK(cuModuleUnload(mod));
    CK(cuCtxDestroy(ctx));
    free(a);
    free(b);
    free(c);
    free(m);
    return NULL;
}

int main(void)
{
    int count = 0;
    pthread_t t[MAX_DEVICES];
    job_t job[MAX_DEVICES];
    CK(cuInit(0));
    CK(cuDeviceGetCount(&count));
    RM_EXPECT(count >= 1 && count <= MAX_DEVICES, "device count %d", count);
    printf("devices %d, one thread each\n", count);
    RM_EXPECT(pthread_barrier_init(&start, NULL, (unsigned)count) == 0, "barrier");
    for (int i = 0; i < count; i++) {
        job[i] = (job_t){.ordinal = i};
        RM_EXPECT(pthread_create(&t[i], NULL, work, &job[i]) == 0, "thread %d", i);
    }
    for (int i = 0; i < count; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < count; i++)
        printf("device %d thread checksum %016llx\n", i, (unsigned long long)job[i].sum);
    pthread_barrier_destroy(&start);
    rm_pass("multi_threads");
    return 0;
}
