/* Multi-threaded host code: several host threads share the runtime's
 * context, each with its own stream, memory, kernels, copies and host
 * function, concurrently. */
#include <atomic>
#include <thread>
#include <vector>

#include "rt.h"

static std::atomic<int> callbacks{0};

static void CUDART_CB count_callback(void *) { callbacks++; }

static void worker(int id, int *ok)
{
    const int n = 1 << 16;
    cudaStream_t s;
    unsigned int *d, *h;
    RT_CHECK(cudaSetDevice(0));
    RT_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    RT_CHECK(cudaMalloc(&d, n * sizeof *d));
    RT_CHECK(cudaMallocHost(&h, n * sizeof *h));
    for (int round = 0; round < 20; round++) {
        unsigned int v = (unsigned int)(id * 1000 + round);
        rm_fill_u32<<<16, 128, 0, s>>>(d, v, n);
        RT_CHECK(cudaLaunchHostFunc(s, count_callback, nullptr));
        RT_CHECK(cudaMemcpyAsync(h, d, n * sizeof *h, cudaMemcpyDeviceToHost, s));
        RT_CHECK(cudaStreamSynchronize(s));
        if (h[0] != v || h[n - 1] != v)
            return;
    }
    RT_CHECK(cudaFreeHost(h));
    RT_CHECK(cudaFree(d));
    RT_CHECK(cudaStreamDestroy(s));
    *ok = 1;
}

int main()
{
    const int threads = 6;
    std::vector<int> ok(threads, 0);
    std::vector<std::thread> pool;
    RT_CHECK(cudaFree(0));
    for (int i = 0; i < threads; i++)
        pool.emplace_back(worker, i, &ok[i]);
    for (auto &t : pool)
        t.join();
    for (int i = 0; i < threads; i++)
        RT_EXPECT(ok[i]);
    RT_EXPECT(callbacks == threads * 20);
    printf("%d threads, 20 rounds each, %d host functions\n", threads, callbacks.load());
    printf("PASS rt_threads\n");
    return 0;
}
