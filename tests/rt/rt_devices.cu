/* Every device through the runtime: cudaSetDevice to each, its properties,
 * an allocation, a kernel and a copy; then one host thread per device at
 * once. One device natively on the GPU machine; two on the fake backend;
 * the devices of several servers in the multi-server e2e test. */
#include <pthread.h>
#include <stdint.h>

#include "rt.h"

enum { N = 1 << 16 };

static void fill_and_check(int dev, unsigned int v)
{
    unsigned int *d, *h = (unsigned int *)malloc(N * sizeof *h);
    RT_CHECK(cudaSetDevice(dev));
    RT_CHECK(cudaMalloc(&d, N * sizeof *d));
    rm_fill_u32<<<32, 128>>>(d, v, N);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaMemcpy(h, d, N * sizeof *h, cudaMemcpyDeviceToHost));
    for (int i = 0; i < N; i++)
        RT_EXPECT(h[i] == v);
    RT_CHECK(cudaFree(d));
    free(h);
}

static void *thread_main(void *arg)
{
    int dev = (int)(intptr_t)arg;
    for (int round = 0; round < 4; round++)
        fill_and_check(dev, (unsigned int)(dev * 100 + round));
    return NULL;
}

int main()
{
    int n = 0;
    RT_CHECK(cudaGetDeviceCount(&n));
    RT_EXPECT(n >= 1 && n <= 16);
    printf("devices: %d\n", n);
    for (int dev = 0; dev < n; dev++) {
        cudaDeviceProp prop;
        RT_CHECK(cudaGetDeviceProperties(&prop, dev));
        printf("device %d: %s, cc %d.%d\n", dev, prop.name, prop.major, prop.minor);
        fill_and_check(dev, 7u + (unsigned int)dev);
        int current = -1;
        RT_CHECK(cudaGetDevice(&current));
        RT_EXPECT(current == dev);
        for (int peer = 0; peer < n; peer++) {
            int can = -1;
            if (peer != dev)
                RT_CHECK(cudaDeviceCanAccessPeer(&can, dev, peer));
            if (peer != dev)
                printf("# device %d can access device %d: %d\n", dev, peer, can);
        }
    }
    printf("every device filled from one thread\n");
    pthread_t t[16];
    for (int dev = 0; dev < n; dev++)
        RT_EXPECT(pthread_create(&t[dev], NULL, thread_main, (void *)(intptr_t)dev) == 0);
    for (int dev = 0; dev < n; dev++)
        pthread_join(t[dev], NULL);
    printf("every device filled from a thread each\n");
    printf("PASS rt_devices\n");
    return 0;
}
