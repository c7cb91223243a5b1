/* Helpers shared by remora's driver-API programs: error checks, context setup,
 * test-kernel loading, timing, deterministic data. See testutil.h. */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef RM_KERNELS_FATBIN
#define RM_KERNELS_FATBIN ""
#endif

const char *rm_err_name(CUresult r)
{
    const char *name = NULL;
    if (cuGetErrorName(r, &name) != CUDA_SUCCESS || !name)
        return "(unknown CUresult)";
    return name;
}

void rm_check(CUresult r, const char *call, const char *file, int line)
{
    if (r == CUDA_SUCCESS)
        return;
    fprintf(stderr, "FAIL %s:%d: %s -> %s (%d)\n", file, line, call, rm_err_name(r), (int)r);
    exit(1);
}

void rm_check_expect(CUresult got, CUresult want, const char *call, const char *file, int line)
{
    if (got == want)
        return;
    fprintf(stderr, "FAIL %s:%d: %s -> %s (%d), expected %s\n", file, line, call,
            rm_err_name(got), (int)got, rm_err_name(want));
    exit(1);
}

void rm_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void rm_test_init(CUdevice *dev, CUcontext *ctx)
{
    CK(cuInit(0));
    CK(cuDeviceGet(dev, 0));
    CK(cuDevicePrimaryCtxRetain(ctx, *dev));
    CK(cuCtxSetCurrent(*ctx));
}

int rm_test_is_fake(void)
{
    static const char prefix[] = "remora fake";
    char name[256];
    CUdevice dev;
    CK(cuDeviceGet(&dev, 0));
    CK(cuDeviceGetName(name, sizeof name, dev));
    return strncmp(name, prefix, sizeof prefix - 1) == 0;
}

int rm_test_is_remora(void)
{
    const char *server = getenv("REMORA_SERVER");
    return server && *server;
}

/* Read a whole file into malloc'd memory; NULL if it cannot be read. */
static void *rm_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *data = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len > 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)len);
        if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    if (data)
        *size = (size_t)len;
    return data;
}

const void *rm_test_kernel_image(size_t *size)
{
    /* NUL-terminated text, so a client sizes it like PTX; the fake backend
     * ignores module content, every real driver rejects it. */
    static const char placeholder[] =
        "// remora placeholder module: no fatbin was built (nvcc missing).\n"
        "// Only remora's fake backend accepts it; it knows rm_kernels by name.\n";
    static void *image;
    static size_t image_size;

    if (!image) {
        const char *path = RM_KERNELS_FATBIN;
        if (*path)
            image = rm_read_file(path, &image_size);
        if (!image) {
            fprintf(stderr, "note: test-kernel fatbin '%s' not available; loading a "
                            "placeholder image (fake backend only)\n", path);
            image = (void *)placeholder;
            image_size = sizeof placeholder;
        }
    }
    if (size)
        *size = image_size;
    return image;
}

void rm_test_load_kernels(CUmodule *mod)
{
    CK(cuModuleLoadData(mod, rm_test_kernel_image(NULL)));
}

CUfunction rm_test_function(CUmodule mod, const char *name)
{
    CUfunction f;
    CUresult r = cuModuleGetFunction(&f, mod, name);
    if (r != CUDA_SUCCESS) {
        fprintf(stderr, "FAIL cuModuleGetFunction(%s) -> %s\n", name, rm_err_name(r));
        exit(1);
    }
    return f;
}

char *rm_test_text_image(size_t bytes, const char *tag)
{
    char *text = malloc(bytes);
    RM_EXPECT(text != NULL, "malloc");
    int head = snprintf(text, bytes, "// %s\n", tag);
    RM_EXPECT(head > 0 && (size_t)head < bytes, "a text image of %zu bytes cannot start with // %s", bytes, tag);
    memset(text + head, ' ', bytes - 1 - (size_t)head);
    text[bytes - 1] = 0;
    return text;
}

void rm_launch_1d(CUfunction f, CUstream s, size_t n, void **params)
{
    enum { block = 256, max_grid = 4096 };
    size_t grid = (n + block - 1) / block;
    if (grid > max_grid)
        grid = max_grid; /* the kernels loop over the rest */
    if (grid == 0)
        grid = 1;
    CK(cuLaunchKernel(f, (unsigned)grid, 1, 1, block, 1, 1, 0, s, params, NULL));
}

double rm_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int rm_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rm_median(double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, rm_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static uint64_t rm_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rm_fill_random(void *buf, size_t bytes, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t state = seed;
    while (bytes >= 8) {
        uint64_t v = rm_splitmix64(&state);
        memcpy(p, &v, 8);
        p += 8;
        bytes -= 8;
    }
    if (bytes) {
        uint64_t v = rm_splitmix64(&state);
        memcpy(p, &v, bytes);
    }
}

void rm_fill_random_f32(float *buf, size_t n, uint64_t seed)
{
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)(rm_splitmix64(&state) & 1023);
}

uint64_t rm_checksum(const void *buf, size_t bytes)
{
    const unsigned char *p = buf;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

void rm_expect_bytes(const void *got, const void *want, size_t bytes, const char *what)
{
    if (memcmp(got, want, bytes) == 0)
        return;
    const unsigned char *g = got, *w = want;
    size_t i = 0;
    while (g[i] == w[i])
        i++;
    fprintf(stderr, "FAIL %s: %zu bytes differ, first at offset %zu: got 0x%02x, want 0x%02x\n",
            what, bytes, i, g[i], w[i]);
    exit(1);
}

void *rm_host_alloc(enum rm_host_kind kind, size_t bytes)
{
    void *p = NULL;
    switch (kind) {
    case RM_HOST_PAGEABLE:
        p = malloc(bytes ? bytes : 1);
        RM_EXPECT(p != NULL, "malloc(%zu)", bytes);
        memset(p, 0, bytes); /* pre-touch: copies measure transfer, not page faults */
        break;
    case RM_HOST_PINNED:
        CK(cuMemAllocHost(&p, bytes));
        break;
    case RM_HOST_PINNED_HOSTALLOC:
        CK(cuMemHostAlloc(&p, bytes, CU_MEMHOSTALLOC_PORTABLE));
        break;
    }
    return p;
}

void rm_host_free(enum rm_host_kind kind, void *p)
{
    if (kind == RM_HOST_PAGEABLE)
        free(p);
    else
        CK(cuMemFreeHost(p));
}

const char *rm_host_kind_name(enum rm_host_kind kind)
{
    switch (kind) {
    case RM_HOST_PAGEABLE: return "pageable";
    case RM_HOST_PINNED: return "pinned";
    case RM_HOST_PINNED_HOSTALLOC: return "hostalloc";
    }
    return "?";
}

void rm_pass(const char *name)
{
    printf("PASS %s\n", name);
    fflush(stdout);
}
