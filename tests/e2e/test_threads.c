/* e2e: many host threads — 8 threads share the primary context, each with its
 * own stream and buffers, copying and launching in a loop and verifying every
 * result. Through remora each thread gets its own channel; this checks that
 * they neither block nor mix each other's calls. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { THREADS = 8, ITERATIONS = 40 };

static CUcontext ctx;
static CUfunction vector_add, scale;

struct worker {
    int id;
    enum rm_host_kind host_kind; /* alternate pinned and pageable host memory */
    size_t n;                    /* elements, different per thread */
};

/* One iteration: c = (a + b) * 2 on the device, checked on the host. */
static void iterate(const struct worker *w, CUstream s, float *a, float *b, float *c,
                    CUdeviceptr *d, int iter)
{
    const size_t bytes = w->n * sizeof(float);
    int n = (int)w->n;
    float two = 2.0f;
    rm_fill_random_f32(a, w->n, (uint64_t)w->id * 1000 + (uint64_t)iter);
    rm_fill_random_f32(b, w->n, (uint64_t)w->id * 1000 + (uint64_t)iter + 500);
    CK(cuMemcpyHtoDAsync(d[0], a, bytes, s));
    CK(cuMemcpyHtoDAsync(d[1], b, bytes, s));
    void *add_params[] = {&d[0], &d[1], &d[2], &n};
    rm_launch_1d(vector_add, s, w->n, add_params);
    void *scale_params[] = {&d[2], &two, &n};
    rm_launch_1d(scale, s, w->n, scale_params);
    CK(cuMemcpyDtoHAsync(c, d[2], bytes, s));
    CK(cuStreamSynchronize(s));
    for (size_t i = 0; i < w->n; i++)
        RM_EXPECT(c[i] == (a[i] + b[i]) * 2.0f, "thread %d iteration %d element %zu: %f", w->id,
                  iter, i, c[i]);
}

static void *worker_main(void *arg)
{
    const struct worker *w = arg;
    const size_t bytes = w->n * sizeof(float);
    CUstream s;
    CUdeviceptr d[3];
    CK(cuCtxSetCurrent(ctx));
    CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    float *a = rm_host_alloc(w->host_kind, bytes), *b = rm_host_alloc(w->host_kind, bytes);
    float *c = rm_host_alloc(w->host_kind, bytes);
    for (int i = 0; i < 3; i++)
        CK(cuMemAlloc(&d[i], bytes));

    for (int iter = 0; iter < ITERATIONS; iter++)
        iterate(w, s, a, b, c, d, iter);

    for (int i = 0; i < 3; i++)
        CK(cuMemFree(d[i]));
    rm_host_free(w->host_kind, a);
    rm_host_free(w->host_kind, b);
    rm_host_free(w->host_kind, c);
    CK(cuStreamDestroy(s));
    return NULL;
}

int main(void)
{
    CUdevice dev;
    CUmodule mod;
    pthread_t tid[THREADS];
    struct worker w[THREADS];
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    vector_add = rm_test_function(mod, "rm_vector_add");
    scale = rm_test_function(mod, "rm_scale_f32");

    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].host_kind = i % 2 ? RM_HOST_PAGEABLE : RM_HOST_PINNED;
        w[i].n = (64u << 10) + (size_t)i * 1001;
        RM_EXPECT(pthread_create(&tid[i], NULL, worker_main, &w[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++)
        RM_EXPECT(pthread_join(tid[i], NULL) == 0, "pthread_join");

    printf("threads %d iterations %d ok\n", THREADS, ITERATIONS);
    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("threads");
    return 0;
}
