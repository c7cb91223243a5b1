/* Unit test of the backends, no GPU needed. Drives the fake backend's table
 * directly, as a session worker does: configuration, device queries,
 * contexts, memory, copies and memsets (1D, 2D, async, out of range), host
 * registration, pointer attributes, modules, libraries, every built-in
 * kernel through kernelParams and through extra, streams, events, several
 * devices and several threads. Then checks that the real loader fails
 * cleanly where there is no driver and refuses what is not the driver.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define EXPECT(call, want)                                                                         \
    do {                                                                                           \
        CUresult got_ = (call);                                                                    \
        if (got_ != (want)) {                                                                      \
            fprintf(stderr, "%s:%d: %s returned %d, expected %s (%d)\n", __FILE__, __LINE__,       \
                    #call, (int)got_, #want, (int)(want));                                         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define OK(call) EXPECT(call, CUDA_SUCCESS)

#define MB (1024u * 1024u)
#define FAKE_MEM_MB 64

static rm_backend_t B;
static CUcontext ctx0; /* device 0's primary context, current on the main thread */
static CUmodule mod;   /* a module loaded in ctx0 */
static const char image[] = "not a fatbin: the fake does not parse images";

static CUdeviceptr dalloc(size_t n)
{
    CUdeviceptr d;
    OK(B.cuMemAlloc_v2(&d, n));
    return d;
}

static CUfunction func(CUmodule m, const char *name)
{
    CUfunction f;
    OK(B.cuModuleGetFunction(&f, m, name));
    return f;
}

static size_t free_mem(void)
{
    size_t free_bytes, total;
    OK(B.cuMemGetInfo_v2(&free_bytes, &total));
    return free_bytes;
}

/* Launches f on a 1D grid with its parameters as kernelParams, or packed
 * into a CU_LAUNCH_PARAM_BUFFER at the offsets cuFuncGetParamInfo gives. */
static CUresult launch(CUfunction f, unsigned grid, unsigned block, void **params, bool packed)
{
    if (!packed)
        return B.cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, NULL, params, NULL);
    unsigned char buf[64];
    size_t used = 0, off, size;
    for (size_t i = 0; B.cuFuncGetParamInfo(f, i, &off, &size) == CUDA_SUCCESS; i++) {
        memcpy(buf + off, params[i], size);
        used = off + size;
    }
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &used,
                     CU_LAUNCH_PARAM_END};
    return B.cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, NULL, NULL, extra);
}

/* ---- configuration, each in a child so that it starts uninitialised ---- */

static void run_in_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        fn();
        exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void check_config(int want_devices, size_t want_mb)
{
    int n;
    size_t total;
    rm_backend_fake_fill(&B);
    OK(B.cuInit(0));
    OK(B.cuDeviceGetCount(&n));
    CHECK(n == want_devices);
    OK(B.cuDeviceTotalMem_v2(&total, 0));
    CHECK(total == want_mb * MB);
}

static void config_default(void)
{
    unsetenv("REMORA_FAKE_DEVICES");
    unsetenv("REMORA_FAKE_MEM_MB");
    check_config(1, 1024);
}

static void config_clamped(void)
{
    setenv("REMORA_FAKE_DEVICES", "99", 1);
    setenv("REMORA_FAKE_MEM_MB", "3", 1);
    check_config(8, 3);
}

static void config_invalid(void)
{
    setenv("REMORA_FAKE_DEVICES", "two", 1);
    setenv("REMORA_FAKE_MEM_MB", "0", 1);
    check_config(1, 1024);
}

/* CUDA_VISIBLE_DEVICES picks and orders the fake GPUs; each keeps its own
 * name, UUID and PCI bus whatever its ordinal. */
static void config_visible(void)
{
    int n, bus;
    char name[64];
    CUuuid u;
    setenv("REMORA_FAKE_DEVICES", "3", 1);
    setenv("CUDA_VISIBLE_DEVICES", "2,0,2,1", 1); /* the repeat ends the list */
    rm_backend_fake_fill(&B);
    OK(B.cuInit(0));
    OK(B.cuDeviceGetCount(&n));
    CHECK(n == 2);
    static const int gpu[] = {2, 0};
    for (int i = 0; i < 2; i++) {
        char want[64];
        OK(B.cuDeviceGetName(name, sizeof name, i));
        snprintf(want, sizeof want, "remora fake device %d", gpu[i]);
        CHECK(strcmp(name, want) == 0);
        OK(B.cuDeviceGetUuid_v2(&u, i));
        CHECK(u.bytes[15] == gpu[i]);
        OK(B.cuDeviceGetAttribute(&bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, i));
        CHECK(bus == 0x18 + gpu[i]);
    }
    EXPECT(B.cuDeviceGetName(name, sizeof name, 2), CUDA_ERROR_INVALID_DEVICE);
}

/* None visible (empty, out of range, not a number): no device, as the driver. */
static void config_none_visible(void)
{
    static const char *const lists[] = {"", "3", "x,0", "-1"};
    setenv("REMORA_FAKE_DEVICES", "3", 1);
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        setenv("CUDA_VISIBLE_DEVICES", lists[i], 1);
        rm_backend_fake_fill(&B);
        EXPECT(B.cuInit(0), CUDA_ERROR_NO_DEVICE);
    }
}

/* ---- initialisation and devices ---- */

static void test_init(void)
{
    int v, n;
    CUdeviceptr d;
    rm_backend_fake_fill(&B);
    CHECK(strcmp(B.name, "fake") == 0);
#define CHECK_FILLED(fn) CHECK(B.fn != NULL);
    RM_BACKEND_CALLS(CHECK_FILLED)
#undef CHECK_FILLED
    OK(B.cuDriverGetVersion(&v));
    CHECK(v == 13000);
    EXPECT(B.cuDriverGetVersion(NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
    EXPECT(B.cuMemAlloc_v2(&d, 16), CUDA_ERROR_NOT_INITIALIZED);
    EXPECT(B.cuInit(1), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuInit(0));
    OK(B.cuInit(0));
}

static void test_devices(void)
{
    int n, v;
    CUdevice dev;
    char name[64];
    CUuuid u0, u0b, u1;
    size_t total;
    OK(B.cuDeviceGetCount(&n));
    CHECK(n == 2);
    OK(B.cuDeviceGet(&dev, 1));
    CHECK(dev == 1);
    EXPECT(B.cuDeviceGet(&dev, 2), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuDeviceGet(NULL, 0), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuDeviceGetName(name, sizeof name, 1));
    CHECK(strcmp(name, "remora fake device 1") == 0);
    OK(B.cuDeviceGetName(name, 7, 0));
    CHECK(strcmp(name, "remora") == 0);
    EXPECT(B.cuDeviceGetName(name, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuDeviceGetName(name, sizeof name, 5), CUDA_ERROR_INVALID_DEVICE);
    OK(B.cuDeviceGetUuid_v2(&u0, 0));
    OK(B.cuDeviceGetUuid_v2(&u0b, 0));
    OK(B.cuDeviceGetUuid_v2(&u1, 1));
    CHECK(memcmp(&u0, &u0b, sizeof u0) == 0 && memcmp(&u0, &u1, sizeof u0) != 0);
    OK(B.cuDeviceTotalMem_v2(&total, 1));
    CHECK(total == (size_t)FAKE_MEM_MB * MB);

    static const struct {
        CUdevice_attribute attr;
        int value;
    } expected[] = {
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 9},
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0},
        {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 132},
        {CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32},
        {CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 1024},
        {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 64},
        {CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, 1},
        {CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY, 1},
        {CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS, 0},
        {CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 0},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        OK(B.cuDeviceGetAttribute(&v, expected[i].attr, 0));
        CHECK(v == expected[i].value);
    }
    for (int a = 1; a < CU_DEVICE_ATTRIBUTE_MAX; a++)
        OK(B.cuDeviceGetAttribute(&v, (CUdevice_attribute)a, 1));
    int bus0, bus1;
    OK(B.cuDeviceGetAttribute(&bus0, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 0));
    OK(B.cuDeviceGetAttribute(&bus1, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 1));
    CHECK(bus0 != bus1);
    EXPECT(B.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuDeviceGetAttribute(&v, (CUdevice_attribute)0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 2), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuDeviceGetAttribute(NULL, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0),
           CUDA_ERROR_INVALID_VALUE);
}

/* ---- contexts ---- */

static void test_no_context(void)
{
    CUcontext c;
    CUdeviceptr d;
    CUmodule m;
    CUstream s;
    OK(B.cuCtxGetCurrent(&c));
    CHECK(c == NULL);
    EXPECT(B.cuMemAlloc_v2(&d, 16), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuStreamSynchronize(NULL), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuStreamCreate(&s, 0), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuModuleLoadData(&m, image), CUDA_ERROR_INVALID_CONTEXT);
}

static void test_primary_context(void)
{
    CUcontext p, p2, c;
    unsigned flags;
    int active;
    OK(B.cuDevicePrimaryCtxGetState(0, &flags, &active));
    CHECK(active == 0);
    OK(B.cuDevicePrimaryCtxSetFlags_v2(0, CU_CTX_SCHED_BLOCKING_SYNC));
    EXPECT(B.cuDevicePrimaryCtxSetFlags_v2(0, 0x100), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuDevicePrimaryCtxSetFlags_v2(0, CU_CTX_SCHED_SPIN | CU_CTX_SCHED_YIELD),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuDevicePrimaryCtxRetain(&p, 7), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuDevicePrimaryCtxRelease_v2(-1), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuDevicePrimaryCtxReset_v2(2), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuDevicePrimaryCtxSetFlags_v2(9, 0), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuDevicePrimaryCtxGetState(2, &flags, &active), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuDevicePrimaryCtxGetState(0, &flags, NULL), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuDevicePrimaryCtxRetain(&p, 0));
    OK(B.cuDevicePrimaryCtxRetain(&p2, 0));
    CHECK(p == p2);
    OK(B.cuDevicePrimaryCtxGetState(0, &flags, &active));
    CHECK(active == 1 && flags == CU_CTX_SCHED_BLOCKING_SYNC);
    EXPECT(B.cuCtxDestroy_v2(p), CUDA_ERROR_INVALID_CONTEXT);
    OK(B.cuCtxSetCurrent(p));
    size_t before = free_mem();
    dalloc(4096);

    /* Reset destroys the context but keeps its references; a retain revives it. */
    OK(B.cuDevicePrimaryCtxReset_v2(0));
    OK(B.cuDevicePrimaryCtxGetState(0, &flags, &active));
    CHECK(active == 0);
    EXPECT(B.cuCtxSynchronize(), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    OK(B.cuDevicePrimaryCtxRetain(&p2, 0));
    CHECK(p2 == p);
    CHECK(free_mem() == before);
    dalloc(4096);
    OK(B.cuDevicePrimaryCtxRelease_v2(0));
    OK(B.cuDevicePrimaryCtxRelease_v2(0));
    OK(B.cuCtxSynchronize());
    OK(B.cuDevicePrimaryCtxRelease_v2(0)); /* last reference: inactive, memory freed */
    OK(B.cuDevicePrimaryCtxGetState(0, &flags, &active));
    CHECK(active == 0);
    EXPECT(B.cuDevicePrimaryCtxRelease_v2(0), CUDA_ERROR_INVALID_CONTEXT);

    /* The released context stays current, destroyed, until popped. */
    EXPECT(B.cuCtxSynchronize(), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    OK(B.cuCtxGetCurrent(&c));
    CHECK(c == p);
    OK(B.cuCtxSetCurrent(NULL));
    OK(B.cuCtxGetCurrent(&c));
    CHECK(c == NULL);
    EXPECT(B.cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
    OK(B.cuDevicePrimaryCtxSetFlags_v2(0, 0));
}

static void test_created_context(void)
{
    CUcontext c, cur;
    CUexecAffinityParam affinity = {.type = CU_EXEC_AFFINITY_TYPE_SM_COUNT};
    CUctxCreateParams params = {.numExecAffinityParams = 1};
    EXPECT(B.cuCtxCreate_v4(&c, NULL, 0, 3), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuCtxCreate_v4(&c, NULL, 0x1000, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuCtxCreate_v4(&c, &params, 0, 0), CUDA_ERROR_INVALID_VALUE);
    params.execAffinityParams = &affinity;
    EXPECT(B.cuCtxCreate_v4(&c, &params, 0, 0), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT(B.cuCtxCreate_v4(NULL, NULL, 0, 0), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuCtxCreate_v4(&c, NULL, CU_CTX_SCHED_AUTO, 0));
    OK(B.cuCtxGetCurrent(&cur));
    CHECK(cur == c);
    size_t before = free_mem();
    dalloc(MB);
    CHECK(free_mem() == before - MB);

    size_t v;
    int least, greatest;
    OK(B.cuCtxGetLimit(&v, CU_LIMIT_STACK_SIZE));
    CHECK(v == 1024);
    OK(B.cuCtxSetLimit(CU_LIMIT_STACK_SIZE, 4096));
    OK(B.cuCtxGetLimit(&v, CU_LIMIT_STACK_SIZE));
    CHECK(v == 4096);
    OK(B.cuCtxGetLimit(&v, CU_LIMIT_MALLOC_HEAP_SIZE));
    CHECK(v == 8 * MB);
    EXPECT(B.cuCtxSetLimit(CU_LIMIT_MAX, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuCtxSetLimit(CU_LIMIT_SHMEM_SIZE, 1), CUDA_ERROR_NOT_PERMITTED);
    OK(B.cuCtxGetLimit(&v, CU_LIMIT_SHMEM_SIZE));
    CHECK(v == 232448);
    EXPECT(B.cuCtxGetLimit(&v, CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH), CUDA_ERROR_UNSUPPORTED_LIMIT);
    EXPECT(B.cuCtxSetLimit(CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH, 4), CUDA_ERROR_UNSUPPORTED_LIMIT);
    EXPECT(B.cuCtxGetLimit(NULL, CU_LIMIT_STACK_SIZE), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuCtxGetStreamPriorityRange(&least, &greatest));
    CHECK(least == 0 && greatest == -5);
    OK(B.cuCtxGetStreamPriorityRange(NULL, NULL));

    OK(B.cuCtxDestroy_v2(c)); /* frees its memory and is popped */
    OK(B.cuCtxGetCurrent(&cur));
    CHECK(cur == NULL);
    EXPECT(B.cuCtxDestroy_v2(c), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    EXPECT(B.cuCtxSetCurrent(c), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    OK(B.cuCtxCreate_v4(&c, NULL, 0, 0));
    CHECK(free_mem() == before);
    OK(B.cuCtxDestroy_v2(c));
}

/* ---- memory ---- */

static void test_alloc(void)
{
    size_t total = (size_t)FAKE_MEM_MB * MB, base_free = free_mem(), size, pitch;
    CUdeviceptr d = dalloc(1000), base, big, rest;
    CHECK(d % 256 == 0);
    CHECK(free_mem() == base_free - 1000);
    OK(B.cuMemGetAddressRange_v2(&base, &size, d + 10));
    CHECK(base == d && size == 1000);
    OK(B.cuMemGetAddressRange_v2(NULL, NULL, d + 999));
    EXPECT(B.cuMemGetAddressRange_v2(&base, &size, d + 1000), CUDA_ERROR_NOT_FOUND);
    unsigned char zeros[1000], back[1000];
    memset(zeros, 0, sizeof zeros);
    OK(B.cuMemcpyDtoH_v2(back, d, sizeof back));
    CHECK(memcmp(back, zeros, sizeof back) == 0); /* fresh memory reads as zeroes */
    EXPECT(B.cuMemFree_v2(d + 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemFree_v2(0x1234), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuMemFree_v2(0));
    OK(B.cuMemFree_v2(d));
    EXPECT(B.cuMemFree_v2(d), CUDA_ERROR_INVALID_VALUE);
    CHECK(free_mem() == base_free);
    EXPECT(B.cuMemAlloc_v2(&d, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemAlloc_v2(NULL, 16), CUDA_ERROR_INVALID_VALUE);
    size_t total_bytes;
    OK(B.cuMemGetInfo_v2(NULL, &total_bytes)); /* either output may be NULL */
    CHECK(total_bytes == total);

    /* Out of memory: nothing beyond the device's total. */
    EXPECT(B.cuMemAlloc_v2(&big, base_free + 1), CUDA_ERROR_OUT_OF_MEMORY);
    OK(B.cuMemAlloc_v2(&big, base_free - 100));
    EXPECT(B.cuMemAlloc_v2(&rest, 101), CUDA_ERROR_OUT_OF_MEMORY);
    OK(B.cuMemAlloc_v2(&rest, 100));
    CHECK(free_mem() == 0);
    OK(B.cuMemFree_v2(big));
    OK(B.cuMemFree_v2(rest));

    OK(B.cuMemAllocPitch_v2(&d, &pitch, 1000, 10, 4));
    CHECK(pitch == 1024);
    OK(B.cuMemGetAddressRange_v2(NULL, &size, d));
    CHECK(size == 10240);
    OK(B.cuMemFree_v2(d));
    EXPECT(B.cuMemAllocPitch_v2(&d, &pitch, 1000, 10, 3), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemAllocPitch_v2(&d, &pitch, 0, 10, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemAllocPitch_v2(&d, NULL, 10, 10, 4), CUDA_ERROR_INVALID_VALUE);
}

static void test_copies_1d(void)
{
    enum { N = 4096 };
    static unsigned char src[N], dst[N];
    CUdeviceptr d1 = dalloc(N), d2 = dalloc(N);
    CUstream s;
    OK(B.cuStreamCreate(&s, 0));
    for (int i = 0; i < N; i++)
        src[i] = (unsigned char)(i * 7 + 3);
    OK(B.cuMemcpyHtoD_v2(d1, src, N));
    OK(B.cuMemcpyDtoD_v2(d2, d1, N));
    OK(B.cuMemcpyDtoH_v2(dst, d2, N));
    CHECK(memcmp(src, dst, N) == 0);
    OK(B.cuMemcpyHtoDAsync_v2(d1 + 100, src, 50, s));
    OK(B.cuMemcpyDtoDAsync_v2(d2, d1 + 100, 50, NULL));
    memset(dst, 0, N);
    OK(B.cuMemcpyDtoHAsync_v2(dst, d2, 50, CU_STREAM_PER_THREAD));
    CHECK(memcmp(src, dst, 50) == 0);

    /* Out of range: refused, nothing written. */
    OK(B.cuMemcpyDtoH_v2(dst, d1, N));
    EXPECT(B.cuMemcpyHtoD_v2(d1 + N - 100, src, 200), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemcpyDtoH_v2(dst, d1 + N - 5, 10), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemcpyDtoD_v2(0x1000, d1, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemcpyDtoD_v2(d1, d1 - 8, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemcpyHtoD_v2(d1, NULL, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemcpyHtoDAsync_v2(d1, src, 16, (CUstream)&s), CUDA_ERROR_INVALID_HANDLE);
    OK(B.cuMemcpyHtoD_v2(0x1000, src, 0));
    unsigned char after[N];
    OK(B.cuMemcpyDtoH_v2(after, d1, N));
    CHECK(memcmp(after, dst, N) == 0);

    OK(B.cuStreamDestroy_v2(s));
    EXPECT(B.cuMemcpyHtoDAsync_v2(d1, src, 16, s), CUDA_ERROR_INVALID_HANDLE);
    OK(B.cuMemFree_v2(d1));
    OK(B.cuMemFree_v2(d2));
}

static void test_copies_2d(void)
{
    enum { W = 100, H = 8 };
    unsigned char host[H][W], back[4][64];
    size_t pitch;
    CUdeviceptr d, d2;
    CUstream s;
    OK(B.cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            host[y][x] = (unsigned char)(y * 31 + x);
    OK(B.cuMemAllocPitch_v2(&d, &pitch, W, H, 4));
    CHECK(pitch == 512);
    CUDA_MEMCPY2D up = {.srcMemoryType = CU_MEMORYTYPE_HOST,
                        .srcHost = host,
                        .srcPitch = W,
                        .dstMemoryType = CU_MEMORYTYPE_DEVICE,
                        .dstDevice = d,
                        .dstPitch = pitch,
                        .WidthInBytes = W,
                        .Height = H};
    OK(B.cuMemcpy2D_v2(&up));
    unsigned char row5[W];
    OK(B.cuMemcpyDtoH_v2(row5, d + 5 * pitch, W));
    CHECK(memcmp(row5, host[5], W) == 0);

    /* A window: x 10, y 2, 50 x 4 bytes, into a host buffer of pitch 64. */
    CUDA_MEMCPY2D down = {.srcXInBytes = 10,
                          .srcY = 2,
                          .srcMemoryType = CU_MEMORYTYPE_UNIFIED,
                          .srcDevice = d,
                          .srcPitch = pitch,
                          .dstMemoryType = CU_MEMORYTYPE_UNIFIED,
                          .dstDevice = (CUdeviceptr)(uintptr_t)back,
                          .dstPitch = 64,
                          .WidthInBytes = 50,
                          .Height = 4};
    OK(B.cuMemcpy2DAsync_v2(&down, s));
    for (int y = 0; y < 4; y++)
        CHECK(memcmp(back[y], &host[y + 2][10], 50) == 0);

    /* Device to device, unpitched destination. */
    d2 = dalloc(W * H);
    CUDA_MEMCPY2D dd = {.srcMemoryType = CU_MEMORYTYPE_DEVICE,
                        .srcDevice = d,
                        .srcPitch = pitch,
                        .dstMemoryType = CU_MEMORYTYPE_DEVICE,
                        .dstDevice = d2,
                        .dstPitch = W,
                        .WidthInBytes = W,
                        .Height = H};
    OK(B.cuMemcpy2D_v2(&dd));
    unsigned char flat[H][W];
    OK(B.cuMemcpyDtoH_v2(flat, d2, sizeof flat));
    CHECK(memcmp(flat, host, sizeof flat) == 0);

    /* Refused: past the end, pitch too small, arrays, unknown memory types. */
    CUDA_MEMCPY2D bad = dd;
    bad.Height = H + 1;
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE);
    bad = dd;
    bad.dstXInBytes = 1;
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE);
    bad = up;
    bad.srcPitch = W - 1;
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE);
    bad = up;
    bad.dstXInBytes = pitch - W + 1; /* inside the allocation, but rows overlap */
    bad.Height = 2;
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE);
    bad = down;
    bad.srcY = H - 2; /* a unified address in device memory is checked as device memory */
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE);
    bad = up;
    bad.dstMemoryType = CU_MEMORYTYPE_ARRAY;
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE); /* no array */
    bad.dstArray = (CUarray)&bad; /* not an array of the fake's */
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE);
    bad.dstMemoryType = (CUmemorytype)9;
    EXPECT(B.cuMemcpy2D_v2(&bad), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemcpy2D_v2(NULL), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuMemcpyDtoH_v2(flat, d2, sizeof flat));
    CHECK(memcmp(flat, host, sizeof flat) == 0);

    OK(B.cuStreamDestroy_v2(s));
    OK(B.cuMemFree_v2(d));
    OK(B.cuMemFree_v2(d2));
}

static void test_memset(void)
{
    enum { N = 1024 };
    static unsigned char b[N];
    CUdeviceptr d = dalloc(N);
    OK(B.cuMemsetD8_v2(d, 0xAB, N));
    OK(B.cuMemsetD16_v2(d + 2, 0x1234, 3));
    OK(B.cuMemsetD32Async(d + 16, 0xDEADBEEF, 2, NULL));
    OK(B.cuMemcpyDtoH_v2(b, d, N));
    CHECK(b[0] == 0xAB && b[1] == 0xAB && b[N - 1] == 0xAB);
    uint16_t h;
    uint32_t w;
    memcpy(&h, b + 6, 2);
    CHECK(h == 0x1234 && b[8] == 0xAB);
    memcpy(&w, b + 20, 4);
    CHECK(w == 0xDEADBEEF && b[24] == 0xAB);
    OK(B.cuMemsetD8Async(d, 1, 1, NULL));
    OK(B.cuMemsetD16Async(d + N - 2, 0xFFFF, 1, NULL));
    OK(B.cuMemsetD32_v2(d, 7, N / 4));
    OK(B.cuMemcpyDtoH_v2(b, d, N));
    memcpy(&w, b + N - 4, 4);
    CHECK(w == 7);
    EXPECT(B.cuMemsetD16_v2(d + 1, 1, 1), CUDA_ERROR_INVALID_VALUE); /* misaligned */
    EXPECT(B.cuMemsetD32_v2(d, 1, N / 4 + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemsetD8_v2(0x1000, 1, 1), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuMemsetD8_v2(0x1000, 1, 0));

    /* 2D: rows of 64 bytes every 256, the gaps untouched. */
    OK(B.cuMemsetD8_v2(d, 0, N));
    OK(B.cuMemsetD2D8_v2(d, 256, 0x11, 64, 4));
    OK(B.cuMemsetD2D16_v2(d + 64, 256, 0x2222, 8, 4));
    OK(B.cuMemsetD2D32Async(d + 80, 256, 0x33333333, 4, 4, NULL));
    OK(B.cuMemsetD2D8Async(d + 96, 256, 0x44, 1, 4, NULL));
    OK(B.cuMemsetD2D16Async(d + 98, 256, 0x5555, 1, 4, NULL));
    OK(B.cuMemsetD2D32_v2(d + 100, 256, 0x66666666, 1, 4));
    OK(B.cuMemcpyDtoH_v2(b, d, N));
    for (int r = 0; r < 4; r++) {
        const unsigned char *row = b + r * 256;
        CHECK(row[0] == 0x11 && row[63] == 0x11 && row[64] == 0x22 && row[79] == 0x22);
        CHECK(row[80] == 0x33 && row[95] == 0x33 && row[96] == 0x44 && row[97] == 0);
        CHECK(row[98] == 0x55 && row[100] == 0x66 && row[103] == 0x66 && row[104] == 0);
        CHECK(row[255] == 0);
    }
    EXPECT(B.cuMemsetD2D32_v2(d, 254, 0, 4, 2), CUDA_ERROR_INVALID_VALUE); /* pitch % 4 */
    EXPECT(B.cuMemsetD2D8_v2(d, 10, 0, 20, 2), CUDA_ERROR_INVALID_VALUE);  /* pitch < width */
    EXPECT(B.cuMemsetD2D8_v2(d, 256, 0, 64, 5), CUDA_ERROR_INVALID_VALUE); /* past the end */
    OK(B.cuMemFree_v2(d));
}

static void test_host_register(void)
{
    enum { N = 4096 };
    unsigned char *buf = aligned_alloc(4096, N), back[16];
    CUdeviceptr dp, d = dalloc(64);
    unsigned type;
    void *hp;
    CHECK(buf);
    memset(buf, 0, N);
    OK(B.cuMemHostRegister_v2(buf, N, CU_MEMHOSTREGISTER_DEVICEMAP));
    EXPECT(B.cuMemHostRegister_v2(buf + 100, 10, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    EXPECT(B.cuMemHostRegister_v2((void *)(uintptr_t)d, 64, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemHostRegister_v2(back, sizeof back, CU_MEMHOSTREGISTER_IOMEMORY),
           CUDA_ERROR_NOT_SUPPORTED);
    EXPECT(B.cuMemHostRegister_v2(back, sizeof back, 0x100), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemHostRegister_v2(NULL, 16, 0), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuMemHostGetDevicePointer_v2(&dp, buf, 0));
    CHECK(dp == (CUdeviceptr)(uintptr_t)buf);
    OK(B.cuMemHostGetDevicePointer_v2(&dp, buf + 10, 0));
    CHECK(dp == (CUdeviceptr)(uintptr_t)(buf + 10));
    EXPECT(B.cuMemHostGetDevicePointer_v2(&dp, buf, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemHostGetDevicePointer_v2(&dp, back, 0), CUDA_ERROR_INVALID_VALUE);

    /* The device pointer is a valid copy and memset target. */
    OK(B.cuMemsetD8_v2(d, 0x5A, 64));
    OK(B.cuMemcpyDtoD_v2(dp, d, 16));
    CHECK(buf[10] == 0x5A && buf[25] == 0x5A && buf[26] == 0);
    OK(B.cuMemsetD32_v2((CUdeviceptr)(uintptr_t)buf + N - 8, 0x01010101, 2));
    CHECK(buf[N - 1] == 1);
    EXPECT(B.cuMemsetD8_v2((CUdeviceptr)(uintptr_t)buf + N - 8, 0, 9), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dp));
    CHECK(type == CU_MEMORYTYPE_HOST);
    OK(B.cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER, dp));
    CHECK(hp == buf + 10);
    CUdeviceptr base;
    size_t size;
    OK(B.cuMemGetAddressRange_v2(&base, &size, dp));
    CHECK(base == (CUdeviceptr)(uintptr_t)buf && size == N);

    EXPECT(B.cuMemHostUnregister(buf + 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuMemHostUnregister(back), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    OK(B.cuMemHostUnregister(buf));
    EXPECT(B.cuMemHostUnregister(buf), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    EXPECT(B.cuMemcpyDtoD_v2(dp, d, 16), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuMemFree_v2(d));
    free(buf);
}

static void test_pointer_attributes(void)
{
    CUdeviceptr d = dalloc(1000), d2 = dalloc(8), v;
    CUcontext c;
    unsigned u;
    int ordinal;
    size_t size;
    void *hp;
    unsigned long long id1, id2;
    OK(B.cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, d + 5));
    CHECK(c == ctx0);
    OK(B.cuPointerGetAttribute(&u, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 5));
    CHECK(u == CU_MEMORYTYPE_DEVICE);
    OK(B.cuPointerGetAttribute(&v, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, d + 5));
    CHECK(v == d + 5);
    EXPECT(B.cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER, d),
           CUDA_ERROR_INVALID_VALUE);
    OK(B.cuPointerGetAttribute(&v, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, d + 999));
    CHECK(v == d);
    OK(B.cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, d + 5));
    CHECK(size == 1000);
    OK(B.cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, d));
    CHECK(ordinal == 0);
    OK(B.cuPointerGetAttribute(&u, CU_POINTER_ATTRIBUTE_IS_MANAGED, d));
    CHECK(u == 0);
    OK(B.cuPointerGetAttribute(&u, CU_POINTER_ATTRIBUTE_MAPPED, d));
    CHECK(u == 1);
    OK(B.cuPointerGetAttribute(&u, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, d));
    CHECK(u == 0);
    OK(B.cuPointerGetAttribute(&u, CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE, d));
    CHECK(u == 1);
    OK(B.cuPointerGetAttribute(&id1, CU_POINTER_ATTRIBUTE_BUFFER_ID, d));
    OK(B.cuPointerGetAttribute(&id2, CU_POINTER_ATTRIBUTE_BUFFER_ID, d2));
    CHECK(id1 != id2);
    EXPECT(B.cuPointerGetAttribute(&u, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 1000),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuPointerGetAttribute(NULL, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuPointerGetAttribute(&u, CU_POINTER_ATTRIBUTE_P2P_TOKENS, d),
           CUDA_ERROR_NOT_SUPPORTED);
    OK(B.cuMemFree_v2(d));
    OK(B.cuMemFree_v2(d2));
}

/* ---- modules, functions, kernels ---- */

static void test_module(void)
{
    static const struct {
        const char *name;
        size_t nparams, offsets[4], sizes[4];
    } layouts[] = {
        {"rm_vector_add", 4, {0, 8, 16, 24}, {8, 8, 8, 4}},
        {"rm_fill_u32", 3, {0, 8, 12}, {8, 4, 4}},
        {"rm_scale_f32", 3, {0, 8, 12}, {8, 4, 4}},
        {"rm_null", 0, {0}, {0}},
        {"rm_add_counter", 1, {0}, {4}},
        {"rm_table_sum", 1, {0}, {8}},
    };
    CUmodule m;
    CUfunction f;
    const char *name;
    size_t off, size, count;
    int v;
    EXPECT(B.cuModuleLoadData(&m, NULL), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuModuleLoadData(&m, image));
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
        f = func(m, layouts[k].name);
        OK(B.cuFuncGetName(&name, f));
        CHECK(strcmp(name, layouts[k].name) == 0);
        for (count = 0; B.cuFuncGetParamInfo(f, count, &off, &size) == CUDA_SUCCESS; count++)
            CHECK(off == layouts[k].offsets[count] && size == layouts[k].sizes[count]);
        CHECK(count == layouts[k].nparams);
        EXPECT(B.cuFuncGetParamInfo(f, count, &off, &size), CUDA_ERROR_INVALID_VALUE);
    }
    EXPECT(B.cuModuleGetFunction(&f, m, "rm_missing"), CUDA_ERROR_NOT_FOUND);
    EXPECT(B.cuModuleGetFunction(&f, m, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuModuleGetFunction(&f, (CUmodule)&v, "rm_null"), CUDA_ERROR_INVALID_HANDLE);

    f = func(m, "rm_vector_add");
    OK(B.cuFuncGetParamInfo(f, 1, &off, NULL));
    EXPECT(B.cuFuncGetParamInfo(f, 1, NULL, &size), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f));
    CHECK(v == 1024);
    OK(B.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
    CHECK(v == 16);
    OK(B.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, f));
    CHECK(v == 0);
    EXPECT(B.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX, f), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 100000));
    OK(B.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, f));
    CHECK(v == 100000);
    EXPECT(B.cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_NUM_REGS, 8), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 101),
           CUDA_ERROR_INVALID_VALUE);
    OK(B.cuFuncSetCacheConfig(f, CU_FUNC_CACHE_PREFER_L1));
    EXPECT(B.cuFuncSetCacheConfig(f, (CUfunc_cache)99), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuFuncGetName(NULL, f), CUDA_ERROR_INVALID_VALUE);

    CUdeviceptr counter, table;
    OK(B.cuModuleGetGlobal_v2(&counter, &size, m, "rm_counter"));
    CHECK(size == 4);
    OK(B.cuModuleGetGlobal_v2(&table, &size, m, "rm_table"));
    CHECK(size == 1024);
    OK(B.cuModuleGetGlobal_v2(NULL, &size, m, "rm_table"));
    EXPECT(B.cuModuleGetGlobal_v2(NULL, NULL, m, "rm_table"), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuModuleGetGlobal_v2(&table, &size, m, "rm_missing"), CUDA_ERROR_NOT_FOUND);
    OK(B.cuMemsetD32_v2(table, 0, 256));

    OK(B.cuModuleUnload(m)); /* its functions and globals go with it */
    EXPECT(B.cuFuncGetName(&name, f), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuMemsetD32_v2(table, 0, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuModuleUnload(m), CUDA_ERROR_INVALID_HANDLE);
}

static void test_kernels(void)
{
    enum { N = 1000 };
    static float a[N], b[N], c[N];
    static uint32_t u[N + 1];
    CUdeviceptr da = dalloc(N * 4), db = dalloc(N * 4), dc = dalloc(N * 4),
                du = dalloc((N + 1) * 4);
    int n = N;
    for (int i = 0; i < N; i++) {
        a[i] = (float)i;
        b[i] = 0.5f * (float)i;
    }
    OK(B.cuMemcpyHtoD_v2(da, a, sizeof a));
    OK(B.cuMemcpyHtoD_v2(db, b, sizeof b));
    for (int packed = 0; packed < 2; packed++) {
        unsigned v = 0xC0DE0000u + (unsigned)packed;
        float s = 2.5f;
        OK(B.cuMemsetD32_v2(dc, 0, N));
        OK(launch(func(mod, "rm_vector_add"), (N + 255) / 256, 256, (void *[]){&da, &db, &dc, &n},
                  packed));
        OK(B.cuMemcpyDtoH_v2(c, dc, sizeof c));
        for (int i = 0; i < N; i++)
            CHECK(c[i] == a[i] + b[i]);
        OK(launch(func(mod, "rm_scale_f32"), (N + 127) / 128, 128, (void *[]){&dc, &s, &n},
                  packed));
        OK(B.cuMemcpyDtoH_v2(c, dc, sizeof c));
        CHECK(c[10] == (a[10] + b[10]) * 2.5f && c[N - 1] == (a[N - 1] + b[N - 1]) * 2.5f);
        OK(B.cuMemsetD32_v2(du, 0, N + 1));
        OK(launch(func(mod, "rm_fill_u32"), 4, 256, (void *[]){&du, &v, &n}, packed));
        OK(B.cuMemcpyDtoH_v2(u, du, sizeof u));
        CHECK(u[0] == v && u[N - 1] == v && u[N] == 0);
        OK(launch(func(mod, "rm_null"), 1, 1, NULL, packed));
    }

    /* Grid-stride loops, like the CUDA twins: any launch shape covers n. */
    OK(B.cuMemsetD32_v2(dc, 0, N));
    OK(launch(func(mod, "rm_vector_add"), 1, 32, (void *[]){&da, &db, &dc, &n}, false));
    OK(B.cuMemcpyDtoH_v2(c, dc, sizeof c));
    CHECK(c[31] == a[31] + b[31] && c[N - 1] == a[N - 1] + b[N - 1]);

    /* Bad pointers never reach memory. */
    CUfunction fill = func(mod, "rm_fill_u32");
    unsigned v = 9;
    CUdeviceptr past = du + 8, wild = 0x1000, odd = du + 2;
    int zero = 0, negative = -5;
    EXPECT(launch(fill, 4, 256, (void *[]){&past, &v, &n}, false), CUDA_ERROR_ILLEGAL_ADDRESS);
    EXPECT(launch(fill, 4, 256, (void *[]){&wild, &v, &n}, true), CUDA_ERROR_ILLEGAL_ADDRESS);
    EXPECT(launch(fill, 4, 256, (void *[]){&odd, &v, &n}, false), CUDA_ERROR_MISALIGNED_ADDRESS);
    OK(launch(fill, 4, 256, (void *[]){&wild, &v, &zero}, false));
    OK(launch(fill, 4, 256, (void *[]){&wild, &v, &negative}, false));
    OK(B.cuMemcpyDtoH_v2(u, du, sizeof u));
    CHECK(u[0] == 0xC0DE0001u && u[N] == 0);
    EXPECT(launch(func(mod, "rm_table_sum"), 1, 1, (void *[]){&wild}, false),
           CUDA_ERROR_ILLEGAL_ADDRESS);

    /* Malformed launches. */
    void *params[] = {&du, &v, &n};
    size_t small = 8;
    void *extra_small[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, u, CU_LAUNCH_PARAM_BUFFER_SIZE, &small,
                           CU_LAUNCH_PARAM_END};
    void *extra_bad[] = {(void *)(uintptr_t)7, u, CU_LAUNCH_PARAM_END};
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, NULL, params, extra_small),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra_small),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra_bad),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1025, 1, 1, 0, NULL, params, NULL),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 0, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 65, 0, NULL, params, NULL),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 32, 32, 2, 0, NULL, params, NULL),
           CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 65536, NULL, params, NULL),
           CUDA_ERROR_INVALID_VALUE);
    OK(B.cuFuncSetAttribute(fill, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 65536));
    OK(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 65536, NULL, params, NULL));
    OK(B.cuFuncSetAttribute(fill, CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH, 2));
    EXPECT(B.cuLaunchKernel(fill, 3, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
           CUDA_ERROR_INVALID_CLUSTER_SIZE);
    OK(B.cuLaunchKernel(fill, 4, 1, 1, 1, 1, 1, 0, NULL, params, NULL));
    OK(B.cuFuncSetAttribute(fill, CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH, 0));
    EXPECT(B.cuLaunchKernel((CUfunction)&v, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
           CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, (CUstream)&v, params, NULL),
           CUDA_ERROR_INVALID_HANDLE);

    /* cuLaunchKernelEx: the config carries the shape; attributes are ignored. */
    CUstream s;
    OK(B.cuStreamCreate(&s, 0));
    CUlaunchAttribute attr = {.id = CU_LAUNCH_ATTRIBUTE_PRIORITY};
    CUlaunchConfig cfg = {.gridDimX = 4,
                          .gridDimY = 1,
                          .gridDimZ = 1,
                          .blockDimX = 256,
                          .blockDimY = 1,
                          .blockDimZ = 1,
                          .hStream = s,
                          .attrs = &attr,
                          .numAttrs = 1};
    v = 77;
    OK(B.cuLaunchKernelEx(&cfg, fill, params, NULL));
    OK(B.cuMemcpyDtoH_v2(u, du, sizeof u));
    CHECK(u[0] == 77 && u[N - 1] == 77 && u[N] == 0);
    EXPECT(B.cuLaunchKernelEx(NULL, fill, params, NULL), CUDA_ERROR_INVALID_VALUE);
    cfg.attrs = NULL;
    EXPECT(B.cuLaunchKernelEx(&cfg, fill, params, NULL), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuStreamDestroy_v2(s));

    /* Kernels may also use registered host memory through its device pointer. */
    uint32_t *pinned = aligned_alloc(64, 64 * 4);
    CUdeviceptr dp;
    int sixty_four = 64;
    CHECK(pinned);
    OK(B.cuMemHostRegister_v2(pinned, 64 * 4, 0));
    OK(B.cuMemHostGetDevicePointer_v2(&dp, pinned, 0));
    OK(launch(fill, 1, 64, (void *[]){&dp, &v, &sixty_four}, true));
    CHECK(pinned[0] == 77 && pinned[63] == 77);
    OK(B.cuMemHostUnregister(pinned));
    free(pinned);
    OK(B.cuMemFree_v2(da));
    OK(B.cuMemFree_v2(db));
    OK(B.cuMemFree_v2(dc));
    OK(B.cuMemFree_v2(du));
}

static int32_t read_counter(CUmodule m)
{
    CUdeviceptr counter;
    int32_t value;
    OK(B.cuModuleGetGlobal_v2(&counter, NULL, m, "rm_counter"));
    OK(B.cuMemcpyDtoH_v2(&value, counter, sizeof value));
    return value;
}

static void test_globals(void)
{
    CUmodule other;
    CUdeviceptr table, out = dalloc(4);
    float values[256], sum = 0.0f, got;
    int three = 3, minus_one = -1;
    OK(B.cuModuleLoadData(&other, image));
    CHECK(read_counter(mod) == 0 && read_counter(other) == 0);
    for (int packed = 0; packed < 2; packed++)
        OK(launch(func(mod, "rm_add_counter"), 8, 128, (void *[]){&three}, packed));
    OK(launch(func(mod, "rm_add_counter"), 1, 1, (void *[]){&minus_one}, false));
    CHECK(read_counter(mod) == 5 && read_counter(other) == 0); /* once per launch, per module */

    for (int i = 0; i < 256; i++) {
        values[i] = 0.25f * (float)i;
        sum += values[i];
    }
    OK(B.cuModuleGetGlobal_v2(&table, NULL, mod, "rm_table"));
    OK(B.cuMemcpyHtoD_v2(table, values, sizeof values));
    for (int packed = 0; packed < 2; packed++) {
        OK(B.cuMemsetD32_v2(out, 0, 1));
        OK(launch(func(mod, "rm_table_sum"), 1, 1, (void *[]){&out}, packed));
        OK(B.cuMemcpyDtoH_v2(&got, out, sizeof got));
        CHECK(got == sum);
    }
    OK(launch(func(other, "rm_table_sum"), 1, 1, (void *[]){&out}, false));
    OK(B.cuMemcpyDtoH_v2(&got, out, sizeof got));
    CHECK(got == 0.0f);
    OK(B.cuModuleUnload(other));
    OK(B.cuMemFree_v2(out));
}

static void test_library(void)
{
    CUlibrary lib;
    CUkernel k;
    CUfunction f, f2;
    CUmodule lm;
    CUdeviceptr g1, g2;
    CUcontext c1;
    size_t size;
    int seven = 7;
    CUjit_option opt = CU_JIT_MAX_REGISTERS;
    EXPECT(B.cuLibraryLoadData(&lib, NULL, NULL, NULL, 0, NULL, NULL, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuLibraryLoadData(&lib, image, &opt, NULL, 1, NULL, NULL, 0),
           CUDA_ERROR_INVALID_VALUE);
    OK(B.cuLibraryLoadData(&lib, image, NULL, NULL, 0, NULL, NULL, 0));
    OK(B.cuLibraryGetKernel(&k, lib, "rm_add_counter"));
    EXPECT(B.cuLibraryGetKernel(&k, lib, "rm_missing"), CUDA_ERROR_NOT_FOUND);
    OK(B.cuKernelGetFunction(&f, k));
    OK(B.cuKernelGetFunction(&f2, k));
    CHECK(f == f2);
    OK(B.cuLibraryGetModule(&lm, lib));
    CHECK(func(lm, "rm_add_counter") == f);
    EXPECT(B.cuModuleUnload(lm), CUDA_ERROR_NOT_PERMITTED); /* owned by the library */
    OK(B.cuLibraryGetGlobal(&g1, &size, lib, "rm_counter"));
    OK(B.cuModuleGetGlobal_v2(&g2, NULL, lm, "rm_counter"));
    CHECK(g1 == g2 && size == 4);
    EXPECT(B.cuLibraryGetGlobal(&g1, &size, lib, "rm_missing"), CUDA_ERROR_NOT_FOUND);
    OK(launch(f, 1, 1, (void *[]){&seven}, false));
    CHECK(read_counter(lm) == 7);

    /* Another context gets its own module and globals. */
    OK(B.cuCtxCreate_v4(&c1, NULL, 0, 1));
    OK(B.cuKernelGetFunction(&f2, k));
    CHECK(f2 != f);
    OK(B.cuLibraryGetGlobal(&g2, NULL, lib, "rm_counter"));
    CHECK(g2 != g1);
    OK(B.cuCtxDestroy_v2(c1)); /* pops back to ctx0 */
    EXPECT(B.cuFuncGetName(&(const char *){NULL}, f2), CUDA_ERROR_INVALID_HANDLE);

    OK(B.cuLibraryUnload(lib));
    EXPECT(B.cuFuncGetName(&(const char *){NULL}, f), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuKernelGetFunction(&f, k), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuLibraryGetKernel(&k, lib, "rm_null"), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuLibraryUnload(lib), CUDA_ERROR_INVALID_HANDLE);
}

/* ---- streams and events ---- */

static void test_streams_events(void)
{
    CUstream s, s2;
    CUevent e1, e2, untimed, ipc;
    float ms;
    EXPECT(B.cuStreamCreate(&s, 2), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuStreamCreate(NULL, 0), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuStreamCreate(&s, CU_STREAM_DEFAULT));
    OK(B.cuStreamCreateWithPriority(&s2, CU_STREAM_NON_BLOCKING, -100));
    int prio;
    unsigned flags;
    OK(B.cuStreamGetPriority(s2, &prio));
    CHECK(prio == -5); /* clamped to the greatest */
    OK(B.cuStreamGetFlags(s2, &flags));
    CHECK(flags == CU_STREAM_NON_BLOCKING);
    OK(B.cuStreamGetPriority(NULL, &prio));
    OK(B.cuStreamGetFlags(s, &flags));
    CHECK(prio == 0 && flags == CU_STREAM_DEFAULT);
    EXPECT(B.cuStreamGetFlags(s, NULL), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuStreamQuery(s));
    OK(B.cuStreamSynchronize(s2));
    OK(B.cuStreamSynchronize(NULL));
    OK(B.cuStreamQuery(CU_STREAM_LEGACY));
    OK(B.cuStreamSynchronize(CU_STREAM_PER_THREAD));

    EXPECT(B.cuEventCreate(&e1, 0x100), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuEventCreate(&ipc, CU_EVENT_INTERPROCESS), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuEventCreate(&ipc, CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING));
    OK(B.cuEventCreate(&e1, CU_EVENT_DEFAULT));
    OK(B.cuEventCreate(&e2, CU_EVENT_BLOCKING_SYNC));
    OK(B.cuEventCreate(&untimed, CU_EVENT_DISABLE_TIMING));
    OK(B.cuEventQuery(e1));
    EXPECT(B.cuEventElapsedTime_v2(&ms, e1, e2), CUDA_ERROR_INVALID_HANDLE); /* not recorded */
    OK(B.cuEventRecord(e1, s));
    nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    OK(B.cuEventRecordWithFlags(e2, s, CU_EVENT_RECORD_DEFAULT));
    OK(B.cuEventRecord(untimed, NULL));
    OK(B.cuEventElapsedTime_v2(&ms, e1, e2));
    CHECK(ms >= 19.0f && ms < 5000.0f);
    EXPECT(B.cuEventElapsedTime_v2(&ms, e1, untimed), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuEventElapsedTime_v2(NULL, e1, e2), CUDA_ERROR_INVALID_HANDLE); /* as the driver */
    EXPECT(B.cuEventRecordWithFlags(e2, s, 2), CUDA_ERROR_INVALID_VALUE);
    EXPECT(B.cuEventRecord(e2, (CUstream)&ms), CUDA_ERROR_INVALID_HANDLE);
    OK(B.cuEventSynchronize(e2));
    OK(B.cuStreamWaitEvent(s2, e1, 0));
    EXPECT(B.cuStreamWaitEvent(s2, e1, 2), CUDA_ERROR_INVALID_VALUE);

    OK(B.cuStreamDestroy_v2(s));
    EXPECT(B.cuStreamSynchronize(s), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuStreamDestroy_v2(s), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuStreamDestroy_v2(NULL), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuStreamGetPriority(s, &prio), CUDA_ERROR_INVALID_HANDLE);
    OK(B.cuEventDestroy_v2(e1));
    EXPECT(B.cuEventRecord(e1, NULL), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuEventQuery(e1), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuStreamWaitEvent(s2, e1, 0), CUDA_ERROR_INVALID_HANDLE);
    OK(B.cuEventDestroy_v2(e2));
    OK(B.cuEventDestroy_v2(untimed));
    OK(B.cuEventDestroy_v2(ipc));
    OK(B.cuStreamDestroy_v2(s2));

    /* A context takes its streams and events with it; destroying it pops it. */
    CUcontext c, cur;
    OK(B.cuCtxCreate_v4(&c, NULL, 0, 0));
    OK(B.cuStreamCreate(&s, 0));
    OK(B.cuEventCreate(&e1, 0));
    OK(B.cuCtxDestroy_v2(c));
    OK(B.cuCtxGetCurrent(&cur));
    CHECK(cur == ctx0);
    EXPECT(B.cuStreamQuery(s), CUDA_ERROR_INVALID_HANDLE);
    EXPECT(B.cuEventQuery(e1), CUDA_ERROR_INVALID_HANDLE);
}

/* ---- several devices, several threads ---- */

static void test_second_device(void)
{
    CUcontext p1;
    CUdeviceptr d1, d0 = dalloc(16);
    size_t free0 = free_mem(), total;
    int ordinal;
    char msg[16] = "hello, device 1", back[16];
    OK(B.cuDevicePrimaryCtxRetain(&p1, 1));
    CHECK(p1 != ctx0);
    OK(B.cuCtxSetCurrent(p1));
    OK(B.cuDeviceTotalMem_v2(&total, 1));
    CHECK(free_mem() == total);
    d1 = dalloc(MB);
    CHECK(free_mem() == total - MB);
    OK(B.cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, d1));
    CHECK(ordinal == 1);
    OK(B.cuCtxSetCurrent(ctx0));
    CHECK(free_mem() == free0);
    OK(B.cuMemcpyHtoD_v2(d0, msg, sizeof msg));
    OK(B.cuMemcpyDtoD_v2(d1, d0, sizeof msg)); /* unified addressing: peer copy */
    OK(B.cuMemcpyDtoH_v2(back, d1, sizeof back));
    CHECK(memcmp(back, msg, sizeof msg) == 0);
    OK(B.cuDevicePrimaryCtxRelease_v2(1)); /* device 1's memory goes with it */
    EXPECT(B.cuMemcpyDtoH_v2(back, d1, sizeof back), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuMemFree_v2(d0));
}

/* Peer access from device 0's context to a new context on device 1: none at
 * first (a new context's state starts clear), then the driver's errors. */
static void test_peer_access(void)
{
    CUcontext c1, cur;
    OK(B.cuCtxCreate_v4(&c1, NULL, 0, 1)); /* pushed: current */
    OK(B.cuCtxSetCurrent(ctx0));
    EXPECT(B.cuCtxDisablePeerAccess(c1), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
    EXPECT(B.cuCtxEnablePeerAccess(ctx0, 0), CUDA_ERROR_INVALID_DEVICE);
    EXPECT(B.cuCtxEnablePeerAccess(c1, 1), CUDA_ERROR_INVALID_VALUE);
    OK(B.cuCtxEnablePeerAccess(c1, 0));
    EXPECT(B.cuCtxEnablePeerAccess(c1, 0), CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);
    OK(B.cuCtxDisablePeerAccess(c1));
    EXPECT(B.cuCtxDisablePeerAccess(c1), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
    OK(B.cuCtxDestroy_v2(c1));
    OK(B.cuCtxGetCurrent(&cur));
    CHECK(cur == ctx0);
}

/* What works on a thread with no current context, as on the driver: calls
 * on handles and pointers, not calls that need "the" context. */
static void *no_context_thread(void *arg)
{
    CUdeviceptr d = *(CUdeviceptr *)arg, x, base;
    CUstream s;
    CUfunction f;
    unsigned type;
    EXPECT(B.cuMemAlloc_v2(&x, 16), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuMemGetInfo_v2(NULL, NULL), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuMemcpyDtoD_v2(d, d + 8, 8), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuStreamCreate(&s, 0), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT(B.cuStreamSynchronize(NULL), CUDA_ERROR_INVALID_CONTEXT);
    OK(B.cuModuleGetFunction(&f, mod, "rm_null"));
    OK(B.cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d));
    OK(B.cuMemGetAddressRange_v2(&base, NULL, d + 4));
    OK(B.cuMemFree_v2(d));
    return NULL;
}

static void test_no_current_context(void)
{
    pthread_t t;
    CUdeviceptr d = dalloc(64);
    CHECK(pthread_create(&t, NULL, no_context_thread, &d) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    EXPECT(B.cuMemFree_v2(d), CUDA_ERROR_INVALID_VALUE); /* freed by the thread */
}

enum { THREADS = 8, ROUNDS = 100 };

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    CUdeviceptr d;
    EXPECT(B.cuMemAlloc_v2(&d, 16), CUDA_ERROR_INVALID_CONTEXT); /* no current context yet */
    OK(B.cuCtxSetCurrent(ctx0));
    CUfunction fill = func(mod, "rm_fill_u32");
    static __thread uint32_t back[4096];
    for (int r = 0; r < ROUNDS; r++) {
        int n = 1 + (int)(rand_r(&seed) % 4096);
        unsigned v = seed;
        d = dalloc((size_t)n * 4);
        OK(launch(fill, (unsigned)(n + 127) / 128, 128, (void *[]){&d, &v, &n}, r % 2));
        OK(B.cuMemcpyDtoH_v2(back, d, (size_t)n * 4));
        CHECK(back[0] == v && back[n - 1] == v);
        OK(B.cuMemFree_v2(d));
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[THREADS];
    size_t before = free_mem();
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(i + 1)) == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(free_mem() == before);
}

/* ---- the real loader ---- */

static bool copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n = 0;
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return in >= 0 && out >= 0 && n == 0;
}

static void test_real_loader(void)
{
    static const char stub[] = "/usr/local/cuda/lib64/stubs/libcuda.so";
    rm_backend_t b;
    memset(&b, 0x5a, sizeof b);
    CHECK(rm_backend_real_open("/nonexistent/libcuda.so.1", &b) == RM_ERR_NOT_FOUND);
    CHECK(((unsigned char *)&b)[0] == 0x5a); /* untouched on failure */
    CHECK(rm_backend_real_open("libcuda.so.1", &b) == RM_ERR_INVAL);
    CHECK(rm_backend_real_open("/nonexistent/libcuda.so.1", NULL) == RM_ERR_INVAL);
    if (access("/lib/x86_64-linux-gnu/libm.so.6", F_OK) == 0)
        CHECK(rm_backend_real_open("/lib/x86_64-linux-gnu/libm.so.6", &b) == RM_ERR_INVAL);
    if (access(stub, F_OK) == 0) {
        CHECK(rm_backend_real_open(stub, &b) == RM_ERR_INVAL);
        /* A copy elsewhere is still recognised, by its behaviour. */
        char dir[] = "/tmp/rm_test_backend_XXXXXX", copy[64];
        CHECK(mkdtemp(dir));
        snprintf(copy, sizeof copy, "%s/libcuda.so.1", dir);
        CHECK(copy_file(stub, copy));
        CHECK(rm_backend_real_open(copy, &b) == RM_ERR_INVAL);
        unlink(copy);
        rmdir(dir);
    } else {
        fprintf(stderr, "note: no CUDA toolkit stub at %s, stub checks skipped\n", stub);
    }
    /* The search: the real driver where there is one, a clean failure elsewhere. */
    setenv("REMORA_DRIVER", "/nonexistent/libcuda.so.1", 1);
    rm_status st = rm_backend_real_open(NULL, &b);
    CHECK(st == RM_OK || st == RM_ERR_NOT_FOUND);
    if (st == RM_OK)
        CHECK(strcmp(b.name, "real") == 0 && b.cuInit && b.cuDriverGetVersion);
    unsetenv("REMORA_DRIVER");
}

int main(void)
{
    unsetenv("CUDA_VISIBLE_DEVICES"); /* the tests below choose their own */
    run_in_child(config_default);
    run_in_child(config_clamped);
    run_in_child(config_invalid);
    run_in_child(config_visible);
    run_in_child(config_none_visible);

    setenv("REMORA_FAKE_DEVICES", "2", 1);
    setenv("REMORA_FAKE_MEM_MB", "64", 1);
    test_init();
    test_devices();
    test_no_context();
    test_primary_context();
    test_created_context();

    OK(B.cuDevicePrimaryCtxRetain(&ctx0, 0));
    OK(B.cuCtxSetCurrent(ctx0));
    test_alloc();
    test_copies_1d();
    test_copies_2d();
    test_memset();
    test_host_register();
    test_pointer_attributes();
    test_module();
    OK(B.cuModuleLoadData(&mod, image));
    test_kernels();
    test_globals();
    test_library();
    test_streams_events();
    test_second_device();
    test_peer_access();
    test_no_current_context();
    test_threads();
    OK(B.cuModuleUnload(mod));
    OK(B.cuDevicePrimaryCtxRelease_v2(0));

    test_real_loader();
    printf("test_backend_fake: all checks passed\n");
    return 0;
}
