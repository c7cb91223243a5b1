/* A program that keeps writing its device memory, for the migration pause:
 * ALLOCS allocations of MIB MiB each, of which it rewrites PERCENT percent
 * of the bytes per second (one allocation at a time, x <- 0.75 x, in
 * turn, each write synchronised and paced to the rate) for SECONDS
 * seconds. Once its memory is filled it writes READY_FILE, so that a test
 * can migrate it while it writes. At the end it checks every allocation
 * against the values computed on the host (each element scaled as often
 * as its allocation was written) and prints the longest gap between two
 * of its writes (the pause it felt) as a '#' line.
 *   client_writer ALLOCS MIB PERCENT SECONDS [READY_FILE] */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void check(CUdeviceptr d, size_t n, uint64_t seed, int writes, float *host, float *want)
{
    CK(cuMemcpyDtoH(host, d, n * sizeof *host));
    rm_fill_random_f32(want, n, seed);
    for (size_t k = 0; k < n; k++) {
        float v = want[k];
        for (int w = 0; w < writes; w++)
            v *= 0.75f;
        RM_EXPECT(host[k] == v, "allocation %llu, element %zu: %g, expected %g", (unsigned long long)seed, k,
                  (double)host[k], (double)v);
    }
}

int main(int argc, char **argv)
{
    RM_EXPECT(argc == 5 || argc == 6, "usage: client_writer ALLOCS MIB PERCENT SECONDS [READY_FILE]");
    int allocs = atoi(argv[1]), mib = atoi(argv[2]), percent = atoi(argv[3]), seconds = atoi(argv[4]);
    RM_EXPECT(allocs > 0 && allocs <= 4096 && mib > 0 && percent > 0 && seconds > 0, "bad arguments");
    int n = mib << 18; /* floats */
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CUfunction scale = rm_test_function(mod, "rm_scale_f32");
    CUdeviceptr *d = calloc((size_t)allocs, sizeof *d);
    int *writes = calloc((size_t)allocs, sizeof *writes);
    float *host = malloc((size_t)n * sizeof *host), *want = malloc((size_t)n * sizeof *want);
    RM_EXPECT(d && writes && host && want, "malloc");
    for (int i = 0; i < allocs; i++) {
        CK(cuMemAlloc(&d[i], (size_t)n * sizeof *host));
        rm_fill_random_f32(host, (size_t)n, (uint64_t)i + 1);
        CK(cuMemcpyHtoD(d[i], host, (size_t)n * sizeof *host));
    }
    CK(cuCtxSynchronize());
    if (argc == 6) {
        FILE *f = fopen(argv[5], "w");
        RM_EXPECT(f && fprintf(f, "%d\n", (int)getpid()) > 0 && fclose(f) == 0, "cannot write %s", argv[5]);
    }
    /* allocations written per second: percent of them */
    double per_s = allocs * percent / 100.0, interval_us = 1e6 / per_s, start = rm_now_us(), last = start, gap = 0;
    long total = (long)(per_s * seconds + 0.5);
    float s = 0.75f;
    for (long j = 0; j < total; j++) {
        int i = (int)(j % allocs);
        void *p[] = {&d[i], &s, &n};
        rm_launch_1d(scale, NULL, (size_t)n, p);
        CK(cuCtxSynchronize());
        writes[i]++;
        double now = rm_now_us(), next = start + (double)(j + 1) * interval_us;
        gap = now - last > gap ? now - last : gap;
        if (next > now)
            usleep((useconds_t)(next - now));
        last = rm_now_us(); /* the next gap counts from the end of this wait */
    }
    for (int i = 0; i < allocs; i++)
        check(d[i], (size_t)n, (uint64_t)i + 1, writes[i], host, want);
    printf("client_writer: %d x %d MiB, %ld writes (%d%% of the memory a second for %d s)\n", allocs, mib, total,
           percent, seconds);
    printf("# longest gap between two writes: %.1f ms\n", gap / 1e3);
    for (int i = 0; i < allocs; i++)
        CK(cuMemFree(d[i]));
    free(d);
    free(writes);
    free(host);
    free(want);
    rm_pass("client_writer");
    return 0;
}
