/* What a bulk copy costs the client: `bench_copy_cost h2d|d2h [COUNT]`
 * copies 64 MiB of pageable memory COUNT times (default 16) after two
 * warm-up copies, and prints the bandwidth and this process's CPU time
 * (user + system, all threads: the striping helpers too) per GB moved.
 * bench/copy_cost runs it over tcp:// and tls:// beside the server's CPU
 * time and both sides' system calls. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { BYTES = 64 << 20 };

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    int h2d = argc > 1 && strcmp(argv[1], "h2d") == 0, count = argc > 2 ? atoi(argv[2]) : 16;
    if (argc < 2 || (!h2d && strcmp(argv[1], "d2h") != 0) || count < 1) {
        fprintf(stderr, "usage: bench_copy_cost h2d|d2h [COUNT]\n");
        return 2;
    }
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, BYTES));
    void *host = rm_host_alloc(RM_HOST_PAGEABLE, BYTES);
    rm_fill_random(host, BYTES, 1);
    double t0 = 0, c0 = 0;
    for (int i = -2; i < count; i++) {
        if (i == 0)
            t0 = rm_now_us(), c0 = cpu_s();
        CK(h2d ? cuMemcpyHtoD(d, host, BYTES) : cuMemcpyDtoH(host, d, BYTES));
    }
    double us = rm_now_us() - t0, cpu = cpu_s() - c0, gb = (double)BYTES * count / 1e9;
    printf("copy_%s_64MiB %.3f GB/s\n", argv[1], gb / us * 1e6);
    printf("client_cpu_%s %.3f s/GB\n", argv[1], cpu / gb);
    rm_host_free(RM_HOST_PAGEABLE, host);
    CK(cuMemFree(d));
    CK(cuDevicePrimaryCtxRelease(dev));
    return 0;
}
