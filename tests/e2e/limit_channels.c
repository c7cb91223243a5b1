/* e2e (remora only, server started with --max-channels=4): a session may
 * open at most that many channels (one per client thread using CUDA). With
 * the main thread's and six more threads' calls in flight together, three
 * threads get their channel and three are refused with a clear error; the
 * main thread's session goes on. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>

enum { THREADS = 6 };

static CUcontext ctx;
static pthread_barrier_t all_called;
static CUresult results[THREADS];

static void *worker(void *arg)
{
    CUresult *r = arg;
    CUdeviceptr d = 0;
    if ((*r = cuCtxSetCurrent(ctx)) == CUDA_SUCCESS && (*r = cuMemAlloc(&d, 256)) == CUDA_SUCCESS)
        *r = cuMemFree(d);
    pthread_barrier_wait(&all_called); /* every channel stays open until each thread has called */
    return NULL;
}

int main(void)
{
    CUdevice dev;
    rm_test_init(&dev, &ctx);
    pthread_barrier_init(&all_called, NULL, THREADS);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        RM_EXPECT(pthread_create(&t[i], NULL, worker, &results[i]) == 0, "pthread_create");
    int ok = 0, refused = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += results[i] == CUDA_SUCCESS;
        refused += results[i] != CUDA_SUCCESS;
    }
    RM_EXPECT(ok == 3 && refused == 3, "%d threads served, %d refused (want 3 and 3)", ok, refused);
    CUdeviceptr d;
    CK(cuMemAlloc(&d, 256)); /* the main thread's channel still works */
    CK(cuMemFree(d));
    printf("PASS limit_channels\n");
    return 0;
}
