/* Soak client: mixed driver-API work for a given time, every result checked.
 *
 *   soak_client SECONDS SEED
 *   soak_client --free-memory     (prints the device's free bytes, nothing else)
 *
 * Each round picks (from SEED, so a failure can be replayed) one of: a
 * vector add of random length on one of two streams with pageable or pinned
 * copies; a memset read back; a device-to-device copy; a short-lived thread
 * doing its own copy (a new channel); a stream and event created and
 * destroyed; the kernel module loaded and unloaded again. Allocations of
 * 4 B to 4 MiB are made and freed every round, so a leak anywhere shows in
 * the server's memory. Prints "PASS soak_client" and, on a '#' line, the
 * rounds and bytes it did; any wrong byte or failed call exits 1.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_N = 1 << 20, STREAMS = 2 };

typedef struct {
    CUcontext ctx;
    CUmodule mod;
    CUfunction add;
    CUstream streams[STREAMS];
    float *pinned_a, *pinned_b, *pinned_c;
    float *want;
    uint64_t rng, rounds, bytes;
} soak_t;

static uint64_t next(soak_t *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int random_length(soak_t *s)
{
    uint64_t big = next(s) & 1;
    return 1 + (int)(next(s) % (big ? MAX_N : 4096));
}

static void vector_add(soak_t *s)
{
    int n = random_length(s);
    size_t bytes = (size_t)n * sizeof(float);
    int pinned = (int)(next(s) & 1);
    CUstream st = s->streams[next(s) % STREAMS];
    float *a = pinned ? s->pinned_a : malloc(bytes), *b = pinned ? s->pinned_b : malloc(bytes),
          *c = pinned ? s->pinned_c : malloc(bytes);
    RM_EXPECT(a && b && c, "malloc");
    uint64_t seed = next(s);
    rm_fill_random_f32(a, (size_t)n, seed);
    rm_fill_random_f32(b, (size_t)n, seed + 1);
    for (int i = 0; i < n; i++)
        s->want[i] = a[i] + b[i];
    CUdeviceptr da, db, dc;
    CK(cuMemAlloc(&da, bytes));
    CK(cuMemAlloc(&db, bytes));
    CK(cuMemAlloc(&dc, bytes));
    CK(cuMemcpyHtoDAsync(da, a, bytes, st));
    CK(cuMemcpyHtoDAsync(db, b, bytes, st));
    void *params[] = {&da, &db, &dc, &n};
    rm_launch_1d(s->add, st, (size_t)n, params);
    CK(cuMemcpyDtoHAsync(c, dc, bytes, st));
    CK(cuStreamSynchronize(st));
    rm_expect_bytes(c, s->want, bytes, "vector_add");
    CK(cuMemFree(da));
    CK(cuMemFree(db));
    CK(cuMemFree(dc));
    if (!pinned)
        free(a), free(b), free(c);
    s->bytes += 3 * bytes;
}

static void memset_and_copy(soak_t *s)
{
    int n = random_length(s);
    size_t bytes = (size_t)n * 4;
    unsigned v = (unsigned)next(s);
    CUdeviceptr d1, d2;
    CK(cuMemAlloc(&d1, bytes));
    CK(cuMemAlloc(&d2, bytes));
    CK(cuMemsetD32(d1, v, (size_t)n));
    CK(cuMemcpyDtoD(d2, d1, bytes));
    unsigned *got = (unsigned *)s->pinned_c;
    CK(cuMemcpyDtoH(got, d2, bytes));
    for (int i = 0; i < n; i++)
        RM_EXPECT(got[i] == v, "memset/DtoD word %d: %#x, want %#x", i, got[i], v);
    CK(cuMemFree(d1));
    CK(cuMemFree(d2));
    s->bytes += 2 * bytes;
}

static void *thread_copy(void *p)
{
    soak_t *s = p;
    CK(cuCtxSetCurrent(s->ctx));
    enum { BYTES = 64 << 10 };
    unsigned char *in = malloc(BYTES), *out = malloc(BYTES);
    RM_EXPECT(in && out, "malloc");
    rm_fill_random(in, BYTES, s->rounds);
    CUdeviceptr d;
    CK(cuMemAlloc(&d, BYTES));
    CK(cuMemcpyHtoD(d, in, BYTES));
    CK(cuMemcpyDtoH(out, d, BYTES));
    rm_expect_bytes(out, in, BYTES, "thread copy");
    CK(cuMemFree(d));
    free(in);
    free(out);
    return NULL;
}

static void new_thread(soak_t *s)
{
    pthread_t t;
    RM_EXPECT(pthread_create(&t, NULL, thread_copy, s) == 0, "pthread_create");
    RM_EXPECT(pthread_join(t, NULL) == 0, "pthread_join");
}

static void stream_and_event(soak_t *s)
{
    CUstream st;
    CUevent ev;
    CK(cuStreamCreate(&st, CU_STREAM_NON_BLOCKING));
    CK(cuEventCreate(&ev, CU_EVENT_DEFAULT));
    CUdeviceptr d;
    CK(cuMemAlloc(&d, 4096));
    CK(cuMemsetD8Async(d, (unsigned char)s->rounds, 4096, st));
    CK(cuEventRecord(ev, st));
    CK(cuEventSynchronize(ev));
    CK(cuEventDestroy(ev));
    CK(cuStreamDestroy(st));
    CK(cuMemFree(d));
}

static void module_reload(soak_t *s)
{
    CUmodule m;
    rm_test_load_kernels(&m);
    (void)rm_test_function(m, "rm_fill_u32");
    CK(cuModuleUnload(m));
    (void)s;
}

static int print_free_memory(void)
{
    CUdevice dev;
    CUcontext ctx;
    size_t free_bytes, total;
    rm_test_init(&dev, &ctx);
    CK(cuMemGetInfo(&free_bytes, &total));
    printf("%zu\n", free_bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--free-memory") == 0)
        return print_free_memory();
    RM_EXPECT(argc == 3, "usage: soak_client SECONDS SEED | soak_client --free-memory");
    double seconds = atof(argv[1]);
    soak_t s = {.rng = strtoull(argv[2], NULL, 0)};
    CUdevice dev;
    rm_test_init(&dev, &s.ctx);
    rm_test_load_kernels(&s.mod);
    s.add = rm_test_function(s.mod, "rm_vector_add");
    for (int i = 0; i < STREAMS; i++)
        CK(cuStreamCreate(&s.streams[i], CU_STREAM_NON_BLOCKING));
    size_t max_bytes = (size_t)MAX_N * sizeof(float);
    CK(cuMemAllocHost((void **)&s.pinned_a, max_bytes));
    CK(cuMemAllocHost((void **)&s.pinned_b, max_bytes));
    CK(cuMemAllocHost((void **)&s.pinned_c, max_bytes));
    s.want = malloc(max_bytes);
    RM_EXPECT(s.want, "malloc");

    static void (*const work[])(soak_t *) = {vector_add, vector_add, vector_add, memset_and_copy, memset_and_copy,
                                             new_thread, stream_and_event, module_reload};
    double end = rm_now_us() + seconds * 1e6;
    do {
        work[next(&s) % (sizeof work / sizeof work[0])](&s);
        s.rounds++;
    } while (rm_now_us() < end);

    CK(cuCtxSynchronize());
    for (int i = 0; i < STREAMS; i++)
        CK(cuStreamDestroy(s.streams[i]));
    CK(cuMemFreeHost(s.pinned_a));
    CK(cuMemFreeHost(s.pinned_b));
    CK(cuMemFreeHost(s.pinned_c));
    CK(cuModuleUnload(s.mod));
    free(s.want);
    printf("# soak_client: %llu rounds, %llu bytes\n", (unsigned long long)s.rounds, (unsigned long long)s.bytes);
    rm_pass("soak_client");
    return 0;
}
