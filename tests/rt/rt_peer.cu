/* Peer copies through the runtime: cudaDeviceCanAccessPeer,
 * cudaDeviceEnablePeerAccess / cudaDeviceDisablePeerAccess and their errors
 * (already enabled, not enabled), cudaMemcpyPeer, cudaMemcpyPeerAsync and
 * cudaMemcpy with cudaMemcpyDefault between devices 0 and 1, a kernel on
 * device 1 reading what device 0 wrote. With one device it says so and
 * passes. */
#include <stdint.h>

#include "rt.h"

enum { N = 1 << 18 };

static void expect_fill(const unsigned int *d, int dev, unsigned int v, const char *what)
{
    unsigned int *h = (unsigned int *)malloc(N * sizeof *h);
    RT_CHECK(cudaSetDevice(dev));
    RT_CHECK(cudaMemcpy(h, d, N * sizeof *h, cudaMemcpyDeviceToHost));
    for (int i = 0; i < N; i++)
        RT_EXPECT(h[i] == v);
    printf("%s: %u on device %d\n", what, v, dev);
    free(h);
}

int main()
{
    int n = 0, can01 = 0, can10 = 0;
    RT_CHECK(cudaGetDeviceCount(&n));
    if (n < 2) {
        printf("rt_peer: %d device, needs 2 to copy between\n", n);
        printf("PASS rt_peer\n");
        return 0;
    }
    RT_CHECK(cudaDeviceCanAccessPeer(&can01, 0, 1));
    RT_CHECK(cudaDeviceCanAccessPeer(&can10, 1, 0));
    printf("can access peer 0->1 %d, 1->0 %d\n", can01, can10);
    unsigned int *a, *b, *c;
    RT_CHECK(cudaSetDevice(0));
    RT_CHECK(cudaMalloc(&a, N * sizeof *a));
    RT_CHECK(cudaMalloc(&c, N * sizeof *c));
    RT_EXPECT(cudaDeviceDisablePeerAccess(1) == cudaErrorPeerAccessNotEnabled);
    if (can01) {
        RT_CHECK(cudaDeviceEnablePeerAccess(1, 0));
        RT_EXPECT(cudaDeviceEnablePeerAccess(1, 0) == cudaErrorPeerAccessAlreadyEnabled);
    }
    (void)cudaGetLastError(); /* the expected errors above are the last error, not sticky */
    RT_CHECK(cudaGetLastError());
    rm_fill_u32<<<64, 128>>>(a, 0xA0u, N);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaDeviceSynchronize());

    RT_CHECK(cudaSetDevice(1));
    RT_CHECK(cudaMalloc(&b, N * sizeof *b));
    if (can10)
        RT_CHECK(cudaDeviceEnablePeerAccess(0, 0));
    RT_CHECK(cudaMemcpyPeer(b, 1, a, 0, N * sizeof *a));
    expect_fill(b, 1, 0xA0u, "cudaMemcpyPeer 0->1");

    RT_CHECK(cudaSetDevice(1));
    rm_fill_u32<<<64, 128>>>(b, 0xB1u, N);
    RT_CHECK(cudaGetLastError());
    cudaStream_t s;
    RT_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    RT_CHECK(cudaDeviceSynchronize());
    RT_CHECK(cudaMemcpyPeerAsync(c, 0, b, 1, N * sizeof *b, s));
    RT_CHECK(cudaStreamSynchronize(s));
    expect_fill(c, 0, 0xB1u, "cudaMemcpyPeerAsync 1->0");

    RT_CHECK(cudaSetDevice(0));
    rm_fill_u32<<<64, 128>>>(a, 0xC0u, N);
    RT_CHECK(cudaDeviceSynchronize());
    RT_CHECK(cudaMemcpy(b, a, N * sizeof *a, cudaMemcpyDefault)); /* UVA: the runtime works out the devices */
    expect_fill(b, 1, 0xC0u, "cudaMemcpy default 0->1");

    cudaPointerAttributes attr;
    RT_CHECK(cudaPointerGetAttributes(&attr, b));
    RT_EXPECT(attr.type == cudaMemoryTypeDevice && attr.device == 1);
    RT_CHECK(cudaPointerGetAttributes(&attr, a));
    RT_EXPECT(attr.type == cudaMemoryTypeDevice && attr.device == 0);

    RT_CHECK(cudaSetDevice(1));
    RT_CHECK(cudaStreamDestroy(s));
    if (can10)
        RT_CHECK(cudaDeviceDisablePeerAccess(0));
    RT_CHECK(cudaFree(b));
    RT_CHECK(cudaSetDevice(0));
    if (can01)
        RT_CHECK(cudaDeviceDisablePeerAccess(1));
    RT_EXPECT(cudaDeviceDisablePeerAccess(1) == cudaErrorPeerAccessNotEnabled);
    RT_EXPECT(cudaGetLastError() == cudaErrorPeerAccessNotEnabled);
    RT_CHECK(cudaFree(a));
    RT_CHECK(cudaFree(c));
    printf("PASS rt_peer\n");
    return 0;
}
