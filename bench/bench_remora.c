/* Benchmark: the costs remora adds, measured with whichever libcuda.so.1 this
 * process loaded (native driver or remora's client; bench/run runs it both
 * ways and compares). Prints one "metric value unit" line per measurement;
 * lines starting with '#' are context. Medians throughout; every sync happens
 * outside the timed region unless the metric includes it.
 *
 *   bench_remora [--quick] [--copies | --launches] [--compressible]
 *       --quick: few repetitions, for a smoke test; --copies: the copies only;
 *       --launches: the launches only; --compressible: copy text-like bytes
 *       (for REMORA_COMPRESS), not random ones */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quick, compressible;
static CUfunction null_kernel;

static int reps(int full) { return quick ? (full > 10 ? full / 100 + 3 : 3) : full; }

static void report(const char *metric, double value, const char *unit)
{
    printf("%s %.3f %s\n", metric, value, unit);
    fflush(stdout);
}

static void bench_attribute_query(CUdevice dev)
{
    const int calls = quick ? 10000 : 1000000;
    int v, sum = 0;
    double t0 = rm_now_us();
    for (int i = 0; i < calls; i++) {
        CK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
        sum += v;
    }
    double us = rm_now_us() - t0;
    RM_EXPECT(sum > 0, "attribute sum");
    report("device_get_attribute", us * 1e3 / calls, "ns");
}

static void launch_null(void)
{
    CK(cuLaunchKernel(null_kernel, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
}

/* Host cost of queuing a launch: time a batch of launches, sync untimed. */
static void bench_async_launch(void)
{
    enum { batch = 1000 };
    const int batches = reps(200);
    double *per_launch = malloc(sizeof(double) * (size_t)batches);
    RM_EXPECT(per_launch != NULL, "malloc");
    for (int i = 0; i < batch; i++) /* warm-up */
        launch_null();
    CK(cuCtxSynchronize());
    for (int b = 0; b < batches; b++) {
        double t0 = rm_now_us();
        for (int i = 0; i < batch; i++)
            launch_null();
        per_launch[b] = (rm_now_us() - t0) / batch;
        CK(cuCtxSynchronize());
    }
    report("launch_async_host", rm_median(per_launch, (size_t)batches), "us");
    free(per_launch);
}

static void bench_launch_sync(void)
{
    const int n = reps(20000);
    double *t = malloc(sizeof(double) * (size_t)n);
    RM_EXPECT(t != NULL, "malloc");
    for (int i = 0; i < 100; i++) {
        launch_null();
        CK(cuCtxSynchronize());
    }
    for (int i = 0; i < n; i++) {
        double t0 = rm_now_us();
        launch_null();
        CK(cuCtxSynchronize());
        t[i] = rm_now_us() - t0;
    }
    report("launch_sync", rm_median(t, (size_t)n), "us");
    free(t);
}

/* A new thread's first call: through remora each thread has a connection
 * of its own, so this is the set-up of one (dial, handshake; over tls://
 * the TLS handshakes of the hello and of the stream), the cost a new
 * session pays too, besides its worker. */
static CUcontext bench_ctx;

static void *first_call(void *unused)
{
    (void)unused;
    CK(cuCtxSetCurrent(bench_ctx));
    CK(cuCtxSynchronize());
    return NULL;
}

static void bench_thread_first_call(void)
{
    const int n = reps(200);
    double *t = malloc(sizeof(double) * (size_t)n);
    RM_EXPECT(t != NULL, "malloc");
    CK(cuCtxGetCurrent(&bench_ctx));
    for (int i = 0; i < n; i++) {
        pthread_t th;
        double t0 = rm_now_us();
        RM_EXPECT(pthread_create(&th, NULL, first_call, NULL) == 0, "pthread_create");
        pthread_join(th, NULL);
        t[i] = rm_now_us() - t0;
    }
    report("thread_first_call", rm_median(t, (size_t)n), "us");
    free(t);
}

/* cuMemAlloc + cuMemFree of one size (through remora: the memory manager's
 * sub-allocation up to 1 MiB, whole granules above). */
static void bench_alloc_free(size_t bytes, const char *metric)
{
    const int n = reps(200);
    double *t = malloc(sizeof(double) * (size_t)n);
    RM_EXPECT(t != NULL, "malloc");
    for (int i = 0; i < n; i++) {
        CUdeviceptr d;
        double t0 = rm_now_us();
        CK(cuMemAlloc(&d, bytes));
        CK(cuMemFree(d));
        t[i] = rm_now_us() - t0;
    }
    report(metric, rm_median(t, (size_t)n), "us");
    free(t);
}

/* Text-like bytes: words, with a changing byte every 64 (lz4 shrinks them
 * about 4:1 or more). */
static void fill_compressible(uint8_t *p, size_t n)
{
    static const char words[] = "remora carries every CUDA call to a GPU far away ";
    for (size_t i = 0; i < n; i++)
        p[i] = i % 64 == 0 ? (uint8_t)(i >> 6) : (uint8_t)words[i % (sizeof words - 1)];
}

/* Median time of one synchronous copy of `bytes` in direction h2d or d2h. */
static double copy_median_us(CUdeviceptr d, void *host, size_t bytes, int h2d, int n)
{
    double *t = malloc(sizeof(double) * (size_t)n);
    RM_EXPECT(t != NULL, "malloc");
    for (int i = -2; i < n; i++) { /* two warm-up copies */
        double t0 = rm_now_us();
        if (h2d)
            CK(cuMemcpyHtoD(d, host, bytes));
        else
            CK(cuMemcpyDtoH(host, d, bytes));
        if (i >= 0)
            t[i] = rm_now_us() - t0;
    }
    double median = rm_median(t, (size_t)n);
    free(t);
    return median;
}

static void bench_memcpy(void)
{
    static const struct {
        size_t bytes;
        const char *label;
        int reps;
    } sizes[] = {{8, "8B", 2000}, {1 << 20, "1MiB", 300}, {64 << 20, "64MiB", 50}};
    static const enum rm_host_kind kinds[] = {RM_HOST_PINNED, RM_HOST_PAGEABLE};
    const size_t max_bytes = 64 << 20;
    CUdeviceptr d;
    CK(cuMemAlloc(&d, max_bytes));
    for (size_t k = 0; k < 2; k++) {
        void *host = rm_host_alloc(kinds[k], max_bytes); /* pageable: pre-touched */
        if (compressible)
            fill_compressible(host, max_bytes);
        else
            rm_fill_random(host, max_bytes, 1);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (int h2d = 1; h2d >= 0; h2d--) {
                char metric[64];
                double us = copy_median_us(d, host, sizes[s].bytes, h2d, reps(sizes[s].reps));
                snprintf(metric, sizeof metric, "memcpy_%s_%s_%s", h2d ? "h2d" : "d2h",
                         rm_host_kind_name(kinds[k]), sizes[s].label);
                if (sizes[s].bytes < 4096)
                    report(metric, us, "us");
                else
                    report(metric, (double)sizes[s].bytes / us / 1e3, "GB/s");
            }
        }
        rm_host_free(kinds[k], host);
    }
    CK(cuMemFree(d));
}

/* Which libcuda this process mapped, from /proc/self/maps. */
static void print_libcuda_path(void)
{
    char line[1024];
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        const char *path = strchr(line, '/');
        if (path && strstr(path, "/libcuda.so")) {
            printf("# libcuda %s", path);
            break;
        }
    }
    if (maps)
        fclose(maps);
}

static void print_context(CUdevice dev)
{
    char name[256];
    int version = 0;
    CK(cuDeviceGetName(name, sizeof name, dev));
    CK(cuDriverGetVersion(&version));
    printf("# device %s, driver API %d\n", name, version);
    print_libcuda_path();
    const char *server = getenv("REMORA_SERVER");
    printf("# remora server %s\n", server && *server ? server : "(none: native)");
}

int main(int argc, char **argv)
{
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    int copies_only = 0, launches_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--copies") == 0)
            copies_only = 1;
        else if (strcmp(argv[i], "--launches") == 0)
            launches_only = 1;
        else if (strcmp(argv[i], "--compressible") == 0)
            compressible = 1;
        else {
            fprintf(stderr, "usage: bench_remora [--quick] [--copies | --launches] [--compressible]\n");
            return 2;
        }
    }
    if (copies_only && launches_only) {
        fprintf(stderr, "bench_remora: --copies and --launches exclude each other\n");
        return 2;
    }
    rm_test_init(&dev, &ctx);
    print_context(dev);
    rm_test_load_kernels(&mod);
    null_kernel = rm_test_function(mod, "rm_null");

    if (!copies_only) {
        if (!launches_only)
            bench_attribute_query(dev);
        bench_async_launch();
        bench_launch_sync();
    }
    if (!copies_only && !launches_only) {
        bench_thread_first_call();
        bench_alloc_free(4 << 10, "alloc_free_4KiB");
        bench_alloc_free(1 << 20, "alloc_free_1MiB");
        bench_alloc_free(64 << 20, "alloc_free_64MiB");
    }
    if (!launches_only)
        bench_memcpy();

    CK(cuModuleUnload(mod));
    CK(cuDevicePrimaryCtxRelease(dev));
    return 0;
}
