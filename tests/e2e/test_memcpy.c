/* e2e: memory — alloc/free/info; H2D, D2H, D2D copies sync and async for sizes
 * from 1 B to 64 MiB (odd ones too) from pageable and pinned host memory; UVA
 * cuMemcpy/cuMemcpyAsync; cuMemcpy2D with pitches; memset D8/D16/D32 (+Async);
 * cuMemGetAddressRange; cuPointerGetAttribute memory types. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t sizes[] = {1,     2,       3,       7,         64,
                               4095,  4096,    4097,    65535,     1 << 20,
                               (1 << 20) + 3, (7 << 20) + 1, 64 << 20};
enum { nsizes = sizeof sizes / sizeof sizes[0] };
static const enum rm_host_kind host_kinds[] = {RM_HOST_PAGEABLE, RM_HOST_PINNED,
                                               RM_HOST_PINNED_HOSTALLOC};

static CUstream stream;
static uint64_t digest; /* folds the checksum of every verified copy */

static void fold(const void *buf, size_t bytes) { digest = digest * 31 + rm_checksum(buf, bytes); }

/* src -> dev a -> dev b -> dst, synchronously or on `stream`, then compare. */
static void round_trip(enum rm_host_kind kind, size_t bytes, int async)
{
    char what[96];
    unsigned char *src = rm_host_alloc(kind, bytes), *dst = rm_host_alloc(kind, bytes);
    CUdeviceptr a, b;
    CK(cuMemAlloc(&a, bytes));
    CK(cuMemAlloc(&b, bytes));
    rm_fill_random(src, bytes, bytes * 3 + (uint64_t)kind);
    memset(dst, 0x5a, bytes);
    if (async) {
        CK(cuMemcpyHtoDAsync(a, src, bytes, stream));
        CK(cuMemcpyDtoDAsync(b, a, bytes, stream));
        CK(cuMemcpyDtoHAsync(dst, b, bytes, stream));
        CK(cuStreamSynchronize(stream));
    } else {
        CK(cuMemcpyHtoD(a, src, bytes));
        CK(cuMemcpyDtoD(b, a, bytes));
        CK(cuMemcpyDtoH(dst, b, bytes));
    }
    snprintf(what, sizeof what, "%s %s round trip of %zu bytes", rm_host_kind_name(kind),
             async ? "async" : "sync", bytes);
    rm_expect_bytes(dst, src, bytes, what);
    fold(dst, bytes);
    CK(cuMemFree(a));
    CK(cuMemFree(b));
    rm_host_free(kind, src);
    rm_host_free(kind, dst);
}

static void check_round_trips(void)
{
    for (size_t k = 0; k < sizeof host_kinds / sizeof host_kinds[0]; k++)
        for (size_t i = 0; i < nsizes; i++)
            for (int async = 0; async <= 1; async++)
                round_trip(host_kinds[k], sizes[i], async);
    printf("round_trips %d digest %016llx\n", (int)(nsizes * 6), (unsigned long long)digest);
}

/* cuMemcpy / cuMemcpyAsync infer the direction from UVA addresses. */
static void check_uva_copies(void)
{
    const size_t bytes = (3 << 20) + 5;
    unsigned char *pageable = rm_host_alloc(RM_HOST_PAGEABLE, bytes);
    unsigned char *pinned = rm_host_alloc(RM_HOST_PINNED, bytes);
    CUdeviceptr a, b;
    CK(cuMemAlloc(&a, bytes));
    CK(cuMemAlloc(&b, bytes));
    rm_fill_random(pageable, bytes, 77);
    CK(cuMemcpy(a, (CUdeviceptr)pageable, bytes));
    CK(cuMemcpy(b, a, bytes));
    CK(cuMemcpyAsync((CUdeviceptr)pinned, b, bytes, stream));
    CK(cuStreamSynchronize(stream));
    rm_expect_bytes(pinned, pageable, bytes, "UVA cuMemcpy pageable->dev->dev->pinned");

    memset(pageable, 0, bytes);
    CK(cuMemcpyAsync(a, (CUdeviceptr)pinned, bytes, stream));
    CK(cuMemcpyAsync((CUdeviceptr)pageable, a, bytes, stream));
    CK(cuStreamSynchronize(stream));
    rm_expect_bytes(pageable, pinned, bytes, "UVA cuMemcpyAsync pinned->dev->pageable");
    printf("uva checksum %016llx\n", (unsigned long long)rm_checksum(pageable, bytes));
    CK(cuMemFree(a));
    CK(cuMemFree(b));
    rm_host_free(RM_HOST_PAGEABLE, pageable);
    rm_host_free(RM_HOST_PINNED, pinned);
}

static CUDA_MEMCPY2D copy2d(CUmemorytype st, const void *sh, CUdeviceptr sd, size_t spitch,
                            CUmemorytype dt, void *dh, CUdeviceptr dd, size_t dpitch,
                            size_t width, size_t height)
{
    CUDA_MEMCPY2D c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = st;
    c.srcHost = sh;
    c.srcDevice = sd;
    c.srcPitch = spitch;
    c.dstMemoryType = dt;
    c.dstHost = dh;
    c.dstDevice = dd;
    c.dstPitch = dpitch;
    c.WidthInBytes = width;
    c.Height = height;
    return c;
}

/* Host (pitch 100) -> pitched device -> device (pitch 96) -> host (pitch 75);
 * only the width-by-height window moves, the padding must stay untouched. */
static void check_memcpy_2d(void)
{
    enum { width = 70, height = 33, hpitch_in = 100, dpitch2 = 96, hpitch_out = 75 };
    unsigned char in[hpitch_in * height], out[hpitch_out * height], want[hpitch_out * height];
    CUdeviceptr d1, d2;
    size_t dpitch1 = 0;
    rm_fill_random(in, sizeof in, 2024);
    memset(out, 0xee, sizeof out);
    memcpy(want, out, sizeof want);
    for (size_t r = 0; r < height; r++)
        memcpy(want + r * hpitch_out, in + r * hpitch_in, width);

    CK(cuMemAllocPitch(&d1, &dpitch1, width, height, 4));
    RM_EXPECT(dpitch1 >= width, "pitch %zu < width", dpitch1);
    CK(cuMemAlloc(&d2, (size_t)dpitch2 * height));
    CUDA_MEMCPY2D c = copy2d(CU_MEMORYTYPE_HOST, in, 0, hpitch_in, CU_MEMORYTYPE_DEVICE, NULL, d1,
                             dpitch1, width, height);
    CK(cuMemcpy2D(&c));
    c = copy2d(CU_MEMORYTYPE_DEVICE, NULL, d1, dpitch1, CU_MEMORYTYPE_DEVICE, NULL, d2, dpitch2,
               width, height);
    CK(cuMemcpy2DAsync(&c, stream));
    c = copy2d(CU_MEMORYTYPE_DEVICE, NULL, d2, dpitch2, CU_MEMORYTYPE_HOST, out, 0, hpitch_out,
               width, height);
    CK(cuMemcpy2DAsync(&c, stream));
    CK(cuStreamSynchronize(stream));
    rm_expect_bytes(out, want, sizeof out, "cuMemcpy2D window");
    printf("memcpy2d checksum %016llx\n", (unsigned long long)rm_checksum(out, sizeof out));
    CK(cuMemFree(d1));
    CK(cuMemFree(d2));
}

/* Expected bytes after a memset of `count` elements of `esize` bytes at byte
 * offset `off` of a zeroed buffer. */
/* cuMemcpy3D: a 5x4x3 box out of a padded host volume into a packed device
 * volume and back into another padded host volume. */
static void check_memcpy_3d(void)
{
    enum { W = 5, H = 4, D = 3, PITCH = 8, HEIGHT = 6 };
    unsigned char in[PITCH * HEIGHT * D], out[PITCH * HEIGHT * D], want[PITCH * HEIGHT * D];
    CUdeviceptr dev;
    rm_fill_random(in, sizeof in, 33);
    memset(out, 0, sizeof out);
    memset(want, 0, sizeof want);
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            memcpy(want + z * PITCH * HEIGHT + y * PITCH, in + z * PITCH * HEIGHT + y * PITCH, W);
    CK(cuMemAlloc(&dev, W * H * D));
    CUDA_MEMCPY3D c;
    memset(&c, 0, sizeof c);
    c.srcMemoryType = CU_MEMORYTYPE_HOST, c.srcHost = in, c.srcPitch = PITCH, c.srcHeight = HEIGHT;
    c.dstMemoryType = CU_MEMORYTYPE_DEVICE, c.dstDevice = dev, c.dstPitch = W, c.dstHeight = H;
    c.WidthInBytes = W, c.Height = H, c.Depth = D;
    CK(cuMemcpy3D(&c));
    memset(&c, 0, sizeof c);
    c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = dev, c.srcPitch = W, c.srcHeight = H;
    c.dstMemoryType = CU_MEMORYTYPE_HOST, c.dstHost = out, c.dstPitch = PITCH, c.dstHeight = HEIGHT;
    c.WidthInBytes = W, c.Height = H, c.Depth = D;
    CK(cuMemcpy3DAsync(&c, stream));
    CK(cuStreamSynchronize(stream));
    rm_expect_bytes(out, want, sizeof out, "cuMemcpy3D box");
    CK(cuMemFree(dev));
    printf("memcpy_3d ok\n");
}

static void expect_memset(CUdeviceptr d, size_t bytes, size_t off, size_t count, size_t esize,
                          uint32_t value, const char *what)
{
    unsigned char *got = malloc(bytes), *want = calloc(1, bytes);
    RM_EXPECT(got && want, "malloc");
    for (size_t i = 0; i < count; i++)
        memcpy(want + off + i * esize, &value, esize); /* little-endian host */
    CK(cuMemcpyDtoH(got, d, bytes));
    rm_expect_bytes(got, want, bytes, what);
    free(got);
    free(want);
}

/* cuMemsetD8/D16/D32, or their Async forms on `stream`, by element size. */
static void memset_elems(CUdeviceptr d, size_t esize, uint32_t value, size_t count, int async)
{
    switch (esize * 2 + (size_t)async) {
    case 2: CK(cuMemsetD8(d, (unsigned char)value, count)); break;
    case 3: CK(cuMemsetD8Async(d, (unsigned char)value, count, stream)); break;
    case 4: CK(cuMemsetD16(d, (unsigned short)value, count)); break;
    case 5: CK(cuMemsetD16Async(d, (unsigned short)value, count, stream)); break;
    case 8: CK(cuMemsetD32(d, value, count)); break;
    case 9: CK(cuMemsetD32Async(d, value, count, stream)); break;
    default: RM_EXPECT(0, "element size %zu", esize);
    }
    if (async)
        CK(cuStreamSynchronize(stream));
}

/* Each memset form on an interior range of a zeroed buffer: the range gets the
 * value, the bytes around it stay zero. */
static void check_memsets(void)
{
    static const struct {
        size_t esize;
        uint32_t value;
    } cases[] = {{1, 0xa5}, {2, 0xbeef}, {4, 0xdeadbeef}};
    const size_t bytes = (1 << 20) + 64, off = 16, count = 100003;
    char what[64];
    CUdeviceptr d;
    CK(cuMemAlloc(&d, bytes));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int async = 0; async <= 1; async++) {
            CK(cuMemsetD8(d, 0, bytes));
            memset_elems(d + off, cases[i].esize, cases[i].value, count, async);
            snprintf(what, sizeof what, "memsetD%zu%s", cases[i].esize * 8, async ? "Async" : "");
            expect_memset(d, bytes, off, count, cases[i].esize, cases[i].value, what);
        }
    }
    CK(cuMemFree(d));
    printf("memsets 6\n");
}

static void check_address_range(void)
{
    const size_t bytes = (1 << 20) + 3;
    CUdeviceptr d, base = 0;
    size_t size = 0;
    CK(cuMemAlloc(&d, bytes));
    CK(cuMemGetAddressRange(&base, &size, d + 12345));
    RM_EXPECT(base == d, "base %#llx, allocation %#llx", (unsigned long long)base,
              (unsigned long long)d);
    RM_EXPECT(size >= bytes, "range size %zu < %zu", size, bytes);
    printf("# address range size %zu for %zu requested\n", size, bytes);
    size_t alone = 0;
    base = 0;
    CK(cuMemGetAddressRange(NULL, &alone, d + 1)); /* either out may be NULL */
    CK(cuMemGetAddressRange(&base, NULL, d + 1));
    RM_EXPECT(alone == size && base == d, "one at a time: size %zu base %#llx", alone, (unsigned long long)base);
    CK(cuMemFree(d));
}

static unsigned memory_type(CUdeviceptr p)
{
    unsigned type = 0;
    CK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p));
    return type;
}

static void check_pointer_attributes(void)
{
    CUdeviceptr d;
    void *pinned = rm_host_alloc(RM_HOST_PINNED, 4096);
    void *hostalloc = rm_host_alloc(RM_HOST_PINNED_HOSTALLOC, 4096);
    CK(cuMemAlloc(&d, 4096));
    RM_EXPECT(memory_type(d) == CU_MEMORYTYPE_DEVICE, "device pointer type %u", memory_type(d));
    RM_EXPECT(memory_type(d + 100) == CU_MEMORYTYPE_DEVICE, "interior device pointer type");
    RM_EXPECT(memory_type((CUdeviceptr)pinned) == CU_MEMORYTYPE_HOST, "cuMemAllocHost type %u",
              memory_type((CUdeviceptr)pinned));
    RM_EXPECT(memory_type((CUdeviceptr)hostalloc) == CU_MEMORYTYPE_HOST, "cuMemHostAlloc type");
    CK(cuMemFree(d));
    rm_host_free(RM_HOST_PINNED, pinned);
    rm_host_free(RM_HOST_PINNED_HOSTALLOC, hostalloc);
    printf("pointer_attributes ok\n");
}

static void check_mem_info(void)
{
    size_t free_mem = 0, total = 0;
    CK(cuMemGetInfo(&free_mem, &total));
    RM_EXPECT(total > 0 && free_mem <= total, "free %zu total %zu", free_mem, total);
    printf("# mem free %zu total %zu\n", free_mem, total);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    CK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
    check_mem_info();
    check_round_trips();
    check_uva_copies();
    check_memcpy_2d();
    check_memcpy_3d();
    check_memsets();
    check_address_range();
    check_pointer_attributes();
    CK(cuStreamDestroy(stream));
    CK(cuDevicePrimaryCtxRelease(dev));
    rm_pass("memcpy");
    return 0;
}
