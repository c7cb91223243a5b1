/* Benchmark: the checkpoint of device memory to local disk, and its
 * restore, against the plain copy of the same bytes. It runs the server's
 * own code (memory manager, ckpt_mem, the checkpoint file) in this process
 * on the real driver (or the fake backend with --fake, for profiling on a
 * machine with no GPU): what a session's pause is made of once it is
 * quiet, without a client.
 *
 *   bench_ckpt [--fake] [--driver PATH] [--dir DIR] GIB...
 *   bench_ckpt --parts [--dir DIR]
 *
 * --parts measures the pieces on the host alone (no GPU): one section's
 * encoding (zstd level 1 and SHA-256) on random and on zero bytes, one
 * thread; rm_sha256 (what format 2 was summed with); the pipe writing
 * 1 GiB (half random, half zeros) into DIR with its worker threads; and
 * writing 1 GiB to DIR plus fsync. One "part NAME MB/s" line each.
 *
 * For each size: GIB GiB in allocations of 1 GiB (the last one smaller for
 * a fraction), the first half of the bytes random (a 64 MiB random block
 * repeated: farther apart than zstd looks), the second half zeros.
 *   checkpoint: rm_ckpt_mem_save into DIR/checkpoint.rmck (the pause), then
 *               its end and fsync (on disk, while a session would run on);
 *   restore:    a fresh memory manager maps every allocation at its address
 *               again and reads the file back (from the page cache: it was
 *               just written), then a sample of the bytes is checked;
 *   native:     cuMemcpyDtoH of the same bytes into a pinned 64 MiB buffer
 *               and write() to a file (no fsync; unlinked unsynced), then
 *               read() back and cuMemcpyHtoD.
 * Prints one line per size, "ckpt GIB key value ..." (bench/run makes a
 * table of it); lines starting with '#' are context. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "ckpt_ahead.h"
#include "ckpt_file.h"
#include "ckpt_mem.h"
#include "ckpt_pipe.h"
#include "clock.h"
#include "mm.h"
#include "sha256.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define BLOCK (64 * MiB)
#define MAX_ALLOCS 64

static rm_backend_t B;
static const char *dir = "/tmp";
static uint8_t *block; /* random, pinned where the backend can */

#define CK(x)                                                                                          \
    do {                                                                                               \
        CUresult r_ = (x);                                                                             \
        if (r_ != CUDA_SUCCESS) {                                                                      \
            fprintf(stderr, "bench_ckpt: %s failed (CUDA error %d) at line %d\n", #x, (int)r_, __LINE__); \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_ckpt: %s\n", what);
        exit(1);
    }
}

static double ms_since(uint64_t t0) { return (rm_now_ns() - t0) / 1e6; }

typedef struct {
    CUdeviceptr p[MAX_ALLOCS];
    uint64_t size[MAX_ALLOCS];
    int n;
    uint64_t total;
} set_t;

/* total bytes in allocations of 1 GiB; the first half random, the rest zeros */
static void make(rm_mm_t *m, set_t *s, uint64_t total)
{
    memset(s, 0, sizeof *s);
    s->total = total;
    for (uint64_t left = total; left; s->n++) {
        need(s->n < MAX_ALLOCS, "too many allocations");
        s->size[s->n] = left < GiB ? left : GiB;
        left -= s->size[s->n];
        CK(rm_mm_alloc(m, 0, 1, s->size[s->n], &s->p[s->n]));
    }
    uint64_t at = 0;
    for (int i = 0; i < s->n; i++)
        for (uint64_t off = 0; off < s->size[i]; off += BLOCK, at += BLOCK) {
            uint64_t n = s->size[i] - off < BLOCK ? s->size[i] - off : BLOCK;
            if (at < total / 2)
                CK(B.cuMemcpyHtoD_v2(s->p[i] + off, block, n));
            else
                CK(B.cuMemsetD8_v2(s->p[i] + off, 0, n));
        }
}

/* The first and last allocations' first 64 MiB: the random block, zeros. */
static void check(const set_t *s)
{
    uint8_t *b = malloc(BLOCK);
    need(b != NULL, "no memory");
    uint64_t n = s->size[0] < BLOCK ? s->size[0] : BLOCK;
    CK(B.cuMemcpyDtoH_v2(b, s->p[0], n));
    need(!memcmp(b, block, n), "restored memory differs (random half)");
    int last = s->n - 1;
    n = s->size[last] < BLOCK ? s->size[last] : BLOCK;
    CK(B.cuMemcpyDtoH_v2(b, s->p[last], n));
    for (uint64_t i = 0; i < n; i++)
        need(b[i] == 0 || s->n == 1, "restored memory differs (zero half)");
    free(b);
}

static uint64_t file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void run(double gib)
{
    uint64_t total = (uint64_t)(gib * GiB) / BLOCK * BLOCK;
    need(total > 0, "a size of at least 64 MiB");
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    set_t s;
    make(&m, &s, total);
    CK(B.cuCtxSynchronize());

    /* native: the same bytes copied out and written, then read and copied in */
    char raw[4200];
    snprintf(raw, sizeof raw, "%s/native.bin", dir);
    int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0600);
    need(fd >= 0, "cannot create the native file");
    uint8_t *buf = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    need(buf != MAP_FAILED, "no memory");
    int pinned = B.cuMemHostRegister_v2(buf, BLOCK, 0) == CUDA_SUCCESS;
    uint64_t t0 = rm_now_ns();
    for (int i = 0; i < s.n; i++)
        for (uint64_t off = 0; off < s.size[i]; off += BLOCK) {
            uint64_t n = s.size[i] - off < BLOCK ? s.size[i] - off : BLOCK;
            CK(B.cuMemcpyDtoH_v2(buf, s.p[i] + off, n));
            need(write(fd, buf, n) == (ssize_t)n, "native write failed");
        }
    double native_ms = ms_since(t0);
    lseek(fd, 0, SEEK_SET);
    t0 = rm_now_ns();
    for (int i = 0; i < s.n; i++)
        for (uint64_t off = 0; off < s.size[i]; off += BLOCK) {
            uint64_t n = s.size[i] - off < BLOCK ? s.size[i] - off : BLOCK;
            need(read(fd, buf, n) == (ssize_t)n, "native read failed");
            CK(B.cuMemcpyHtoD_v2(s.p[i] + off, buf, n));
        }
    double native_restore_ms = ms_since(t0);
    close(fd);
    unlink(raw);
    if (pinned)
        B.cuMemHostUnregister(buf);
    munmap(buf, BLOCK);

    /* remora: the checkpoint's memory part, then its end and fsync */
    rm_ckpt_t c;
    rm_ckpt_header_t h = {.session = 1};
    CUdevice d;
    CK(B.cuDeviceGet(&d, 0));
    CK(B.cuDeviceGetName(h.gpu, sizeof h.gpu, d));
    t0 = rm_now_ns();
    need(rm_ckpt_create(&c, dir, &h) == RM_OK, c.err);
    need(rm_ckpt_mem_save(&c, &m, &B) == RM_OK, c.err);
    double pause_ms = ms_since(t0);
    need(rm_ckpt_finish(&c, dir) == RM_OK, c.err);
    double disk_ms = ms_since(t0);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, RM_CKPT_FILE);
    uint64_t written = file_bytes(path);
    rm_mm_destroy(&m);

    rm_mm_init(&m, &B, RM_MM_VMM);
    t0 = rm_now_ns();
    rm_status st = rm_ckpt_open(&c, dir, h.gpu, &h);
    if (st == RM_OK)
        rm_ckpt_read_ahead(&c);
    for (rm_ckpt_section t = RM_CKPT_ALLOCS; st == RM_OK && t != RM_CKPT_END;) {
        void *data;
        uint64_t len;
        if ((st = rm_ckpt_next(&c, &t, &data, &len)) == RM_OK)
            st = rm_ckpt_mem_load(&c, &m, &B, t, data, len);
        free(data);
    }
    CK(B.cuCtxSynchronize());
    double restore_ms = ms_since(t0);
    need(st == RM_OK, c.err);
    rm_ckpt_close(&c);
    check(&s);
    rm_mm_destroy(&m);
    unlink(path);
    printf("ckpt %g bytes %llu pause_ms %.1f disk_ms %.1f written %llu native_ms %.1f restore_ms %.1f "
           "native_restore_ms %.1f\n",
           gib, (unsigned long long)total, pause_ms, disk_ms, (unsigned long long)written, native_ms, restore_ms,
           native_restore_ms);
    fflush(stdout);
}

static void part(const char *name, uint64_t bytes, uint64_t t0)
{
    printf("part %s %.0f MB/s\n", name, bytes / 1e6 / ((rm_now_ns() - t0) / 1e9));
    fflush(stdout);
}

static void parts(void)
{
    uint64_t piece = RM_CKPT_PIECE, reps = 16;
    uint8_t *zeros = calloc(1, piece), *scratch = malloc(rm_ckpt_scratch_bound(piece));
    need(zeros && scratch, "no memory");
    char err[256];
    rm_ckpt_enc_t e;
    uint64_t t0 = rm_now_ns();
    for (uint64_t k = 0; k < reps; k++)
        need(rm_ckpt_encode(RM_CKPT_MEMORY, block + k % 4 * piece, piece, scratch, &e, err) == RM_OK, err);
    part("encode_random_1_thread", reps * piece, t0);
    t0 = rm_now_ns();
    for (uint64_t k = 0; k < reps; k++)
        need(rm_ckpt_encode(RM_CKPT_MEMORY, zeros, piece, scratch, &e, err) == RM_OK, err);
    part("encode_zeros_1_thread", reps * piece, t0);
    uint8_t sum[RM_SHA256_LEN];
    t0 = rm_now_ns();
    rm_sha256(block, piece, sum);
    part("rm_sha256_format2", piece, t0);

    rm_ckpt_t c;
    rm_ckpt_header_t h = {.session = 1};
    strcpy(h.gpu, "bench");
    t0 = rm_now_ns();
    need(rm_ckpt_create(&c, dir, &h) == RM_OK, c.err);
    rm_ckpt_pipe_t *p;
    need(rm_ckpt_pipe_open(&c, RM_CKPT_PIPE_LEAD + piece, NULL, &p) == RM_OK, c.err);
    for (uint64_t k = 0; k < GiB / piece; k++) {
        uint8_t *b = rm_ckpt_pipe_get(p);
        need(b != NULL, "the pipe failed");
        memcpy(b + RM_CKPT_PIPE_LEAD, k < GiB / piece / 2 ? block + k % 4 * piece : zeros, piece);
        rm_ckpt_pipe_put(p, RM_CKPT_MEMORY, RM_CKPT_PIPE_LEAD + piece);
    }
    need(rm_ckpt_pipe_close(p) == RM_OK, c.err);
    char name[64];
    snprintf(name, sizeof name, "pipe_1GiB_half_random_%d_workers", rm_ckpt_pipe_workers());
    part(name, GiB, t0);
    need(rm_ckpt_finish(&c, dir) == RM_OK, c.err);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, RM_CKPT_FILE);
    unlink(path);

    snprintf(path, sizeof path, "%s/disk.bin", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    need(fd >= 0, "cannot create the disk file");
    t0 = rm_now_ns();
    for (uint64_t k = 0; k < GiB / piece; k++)
        need(write(fd, block + k % 4 * piece, piece) == (ssize_t)piece, "write failed");
    need(fsync(fd) == 0, "fsync failed");
    part("disk_write_fsync_1GiB", GiB, t0);
    close(fd);
    unlink(path);
    free(zeros);
    free(scratch);
}

int main(int argc, char **argv)
{
    int fake = 0, only_parts = 0, i = 1;
    const char *driver = NULL;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--fake"))
            fake = 1;
        else if (!strcmp(argv[i], "--parts"))
            only_parts = 1;
        else if (!strcmp(argv[i], "--driver") && i + 1 < argc)
            driver = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else
            need(0, "usage: bench_ckpt [--fake] [--driver PATH] [--dir DIR] GIB... | --parts [--dir DIR]");
    }
    block = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    need(block != MAP_FAILED, "no memory");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t k = 0; k < BLOCK / 8; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(block + 8 * k, &x, 8);
    }
    if (only_parts) {
        printf("# bench_ckpt --parts: files in %s, %ld CPUs online\n", dir, sysconf(_SC_NPROCESSORS_ONLN));
        parts();
        return 0;
    }
    if (fake)
        rm_backend_fake_fill(&B);
    else
        need(rm_backend_real_open(driver, &B) == RM_OK, "cannot load the driver");
    CUdevice d;
    CUcontext ctx;
    CK(B.cuInit(0));
    CK(B.cuDeviceGet(&d, 0));
    CK(B.cuDevicePrimaryCtxRetain(&ctx, d));
    CK(B.cuCtxSetCurrent(ctx));
    B.cuMemHostRegister_v2(block, BLOCK, 0);
    printf("# bench_ckpt: %s backend, files in %s; half random (a 64 MiB random block repeated), half zeros\n",
           fake ? "fake" : "real", dir);
    for (; i < argc; i++)
        run(atof(argv[i]));
    return 0;
}
