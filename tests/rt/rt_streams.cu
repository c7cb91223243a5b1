/* Streams, events and host functions: a host function runs in stream order
 * (after the work before it, before the work after it), on another thread
 * than the caller; stream callbacks likewise. */
#include <pthread.h>

#include "rt.h"

struct step {
    float *host;     /* page-locked, read by the copy after the function */
    float value;     /* what the function writes there */
    int *order;      /* where each function records its turn */
    int *turn;
    pthread_t caller;
    int other_thread; /* set when the function ran off the caller's thread */
};

static void CUDART_CB write_value(void *p)
{
    step *s = (step *)p;
    s->host[0] = s->value;
    s->order[(*s->turn)++] = (int)s->value;
    s->other_thread = !pthread_equal(pthread_self(), s->caller);
}

static void CUDART_CB callback(cudaStream_t stream, cudaError_t status, void *p)
{
    int *hits = (int *)p;
    *hits += status == cudaSuccess ? 1 : 100;
}

int main()
{
    const int count = 1 << 16;
    cudaStream_t s1, s2;
    RT_CHECK(cudaStreamCreate(&s1));
    RT_CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
    cudaEvent_t start, stop, mid;
    RT_CHECK(cudaEventCreate(&start));
    RT_CHECK(cudaEventCreate(&stop));
    RT_CHECK(cudaEventCreateWithFlags(&mid, cudaEventDisableTiming));

    float *d, *host;
    RT_CHECK(cudaMalloc(&d, count * sizeof(float)));
    RT_CHECK(cudaMallocHost(&host, count * sizeof(float)));

    /* fill on s1, then a host function writes host[0], which the next copy
     * on the same stream must see */
    int order[8], turn = 0;
    step first = {host, 42.0f, order, &turn, pthread_self(), 0};
    step second = {host, 7.0f, order, &turn, pthread_self(), 0};
    RT_CHECK(cudaEventRecord(start, s1));
    rm_fill_u32<<<16, 256, 0, s1>>>((unsigned int *)d, 0u, count);
    RT_CHECK(cudaLaunchHostFunc(s1, write_value, &first));
    RT_CHECK(cudaMemcpyAsync(d, host, sizeof(float), cudaMemcpyHostToDevice, s1));
    rm_scale_f32<<<1, 32, 0, s1>>>(d, 2.0f, 1);
    RT_CHECK(cudaLaunchHostFunc(s1, write_value, &second));
    RT_CHECK(cudaEventRecord(stop, s1));
    RT_CHECK(cudaStreamSynchronize(s1));
    float got = 0;
    RT_CHECK(cudaMemcpy(&got, d, sizeof got, cudaMemcpyDeviceToHost));
    RT_EXPECT(got == 84.0f);
    RT_EXPECT(turn == 2 && order[0] == 42 && order[1] == 7);
    RT_EXPECT(host[0] == 7.0f);
    RT_EXPECT(first.other_thread && second.other_thread);
    printf("host functions: in order, copy saw %g\n", got);
    float ms = -1;
    RT_CHECK(cudaEventElapsedTime(&ms, start, stop));
    RT_EXPECT(ms >= 0);
    printf("# elapsed %.3f ms\n", ms);

    /* cross-stream: s2 waits for an event recorded on s1 */
    rm_fill_u32<<<16, 256, 0, s1>>>((unsigned int *)d, 5u, count);
    RT_CHECK(cudaEventRecord(mid, s1));
    RT_CHECK(cudaStreamWaitEvent(s2, mid, 0));
    unsigned int tail = 0;
    RT_CHECK(cudaMemcpyAsync(host, (unsigned int *)d + count - 1, 4, cudaMemcpyDeviceToHost, s2));
    RT_CHECK(cudaStreamSynchronize(s2));
    tail = *(unsigned int *)host;
    RT_EXPECT(tail == 5u);
    RT_CHECK(cudaEventSynchronize(mid));
    RT_EXPECT(cudaEventQuery(mid) == cudaSuccess);
    RT_EXPECT(cudaStreamQuery(s2) == cudaSuccess);

    /* stream callbacks, on the legacy default stream too */
    int hits = 0;
    RT_CHECK(cudaStreamAddCallback(s2, callback, &hits, 0));
    RT_CHECK(cudaStreamAddCallback(0, callback, &hits, 0));
    RT_CHECK(cudaDeviceSynchronize());
    RT_EXPECT(hits == 2);
    printf("callbacks: %d\n", hits);

    /* many host functions in a row keep their order */
    turn = 0;
    step steps[8];
    for (int i = 0; i < 8; i++) {
        steps[i] = (step){host, (float)i, order, &turn, pthread_self(), 0};
        RT_CHECK(cudaLaunchHostFunc(s2, write_value, &steps[i]));
    }
    RT_CHECK(cudaStreamSynchronize(s2));
    for (int i = 0; i < 8; i++)
        RT_EXPECT(order[i] == i);

    int prio_lo = 0, prio_hi = 0;
    RT_CHECK(cudaDeviceGetStreamPriorityRange(&prio_lo, &prio_hi));
    cudaStream_t sp;
    RT_CHECK(cudaStreamCreateWithPriority(&sp, cudaStreamDefault, prio_hi));
    int prio = 0;
    RT_CHECK(cudaStreamGetPriority(sp, &prio));
    RT_EXPECT(prio == prio_hi);
    RT_CHECK(cudaStreamDestroy(sp));

    RT_CHECK(cudaEventDestroy(start));
    RT_CHECK(cudaEventDestroy(stop));
    RT_CHECK(cudaEventDestroy(mid));
    RT_CHECK(cudaStreamDestroy(s1));
    RT_CHECK(cudaStreamDestroy(s2));
    RT_CHECK(cudaFreeHost(host));
    RT_CHECK(cudaFree(d));
    printf("PASS rt_streams\n");
    return 0;
}
