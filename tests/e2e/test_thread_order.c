/* e2e: calls from different host threads are ordered by issue time, as
 * CUDA orders them. Thread A queues async memsets on a stream and tells
 * thread B through host memory alone; B synchronizes that stream and reads
 * the buffer: it must see A's last value. A stays alive meanwhile (its work
 * is not flushed by its exit). Before A starts, a short-lived thread has
 * made an async call and exited (A may reuse its channel's slot), and many
 * idle threads that each made one async call stay alive (every one of them
 * must be covered). */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

enum { N = 1 << 18, MEMSETS = 64, ROUNDS = 20 };

static CUcontext ctx;
static CUstream stream;
static CUdeviceptr buf;
static int round_posted, round_checked; /* host-memory handshake */

enum { IDLERS = 80 };
static int idlers_done, release_idlers;

static void *one_async_call(void *arg)
{
    CK(cuCtxSetCurrent(ctx));
    CK(cuMemsetD32Async(buf, 7, 1, stream));
    if (arg) { /* an idler: stay alive until the end */
        __atomic_add_fetch(&idlers_done, 1, __ATOMIC_RELEASE);
        while (!__atomic_load_n(&release_idlers, __ATOMIC_ACQUIRE))
            usleep(1000);
    }
    return NULL;
}

static void *producer(void *arg)
{
    (void)arg;
    CK(cuCtxSetCurrent(ctx));
    for (int r = 1; r <= ROUNDS; r++) {
        for (unsigned i = 0; i < MEMSETS; i++)
            CK(cuMemsetD32Async(buf, (unsigned)r * 1000u + i, N, stream));
        __atomic_store_n(&round_posted, r, __ATOMIC_RELEASE);
        while (__atomic_load_n(&round_checked, __ATOMIC_ACQUIRE) != r)
            ; /* stay alive and quiet until B has looked */
    }
    return NULL;
}

int main(void)
{
    CUdevice dev;
    static unsigned host[N];
    rm_test_init(&dev, &ctx);
    CK(cuStreamCreate(&stream, 0));
    CK(cuMemAlloc(&buf, (size_t)N * 4));
    pthread_t t, idlers[IDLERS];
    RM_EXPECT(pthread_create(&t, NULL, one_async_call, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    for (int i = 0; i < IDLERS; i++)
        RM_EXPECT(pthread_create(&idlers[i], NULL, one_async_call, (void *)1) == 0, "pthread_create");
    while (__atomic_load_n(&idlers_done, __ATOMIC_ACQUIRE) != IDLERS)
        usleep(1000);
    RM_EXPECT(pthread_create(&t, NULL, producer, NULL) == 0, "pthread_create");
    for (int r = 1; r <= ROUNDS; r++) {
        while (__atomic_load_n(&round_posted, __ATOMIC_ACQUIRE) != r)
            ;
        CK(cuStreamSynchronize(stream));
        CK(cuMemcpyDtoH(host, buf, sizeof host));
        unsigned want = (unsigned)r * 1000u + MEMSETS - 1;
        RM_EXPECT(host[0] == want && host[N - 1] == want, "round %d: buffer reads %u/%u, want %u", r, host[0],
                  host[N - 1], want);
        __atomic_store_n(&round_checked, r, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
    __atomic_store_n(&release_idlers, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < IDLERS; i++)
        pthread_join(idlers[i], NULL);
    CK(cuMemFree(buf));
    CK(cuStreamDestroy(stream));
    printf("thread_order %d rounds ok\n", ROUNDS);
    rm_pass("thread_order");
    return 0;
}
