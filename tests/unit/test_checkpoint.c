/* Unit test of the checkpoint file (src/server/ckpt_file.c) and of device
 * memory in it (ckpt_mem.c), on the fake backend.
 *
 * Format: sections round-trip, compressed or stored (random bytes); a
 * flipped byte anywhere, a file cut short at any length, another format
 * version, another GPU model and bytes after the end are each refused with
 * their own error and message; a format 2 file (zstd frames only) is still
 * read, and a stored section in one is corrupt.
 * Pipe: sections handed to the worker threads (ckpt_pipe.h) come out in
 * order, each as it went in; read ahead (ckpt_ahead.h), they come back in
 * order, and every corrupt or cut file gives the same error as read in turn;
 * a reader that stops early (closed after a few sections) frees the rest;
 * a full disk stops the pipe with an error naming it, and no file is left.
 * Memory: one process (this program, re-run as "save DIR") allocates through
 * the memory manager, fills its memory and checkpoints it; a second, fresh
 * process ("restore DIR") maps every allocation at the same address and
 * finds the same bytes; a third, whose address space already holds one of
 * those addresses (in the memory manager's arena range, which it then
 * reserves piece by piece), refuses the restore with a clear error; a fourth, as a server with another --va-base,
 * restores them where they lie outside its arena and where they lie inside.
 * Migration stream: a process sends two pre-copy rounds on a socket
 * (everything, then only what was written or made since, one allocation
 * freed between them); a fresh process reading the stream ends with the
 * sender's allocations, no more, and their latest bytes, and the stream's
 * end section is its end (the bytes after it are the caller's). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "check.h"
#include "ckpt_ahead.h"
#include "ckpt_file.h"
#include "ckpt_mem.h"
#include "ckpt_pipe.h"
#include "mm.h"
#include "sha256.h"

#define GPU "remora fake GPU"
#define MB ((uint64_t)1 << 20)

static char dir[256];

static uint64_t rng = 88172645463325252ull;

static uint8_t random_byte(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

#define RANDOM_LEN (1 << 20)
#define NOISE_SECTION (256 << 10) /* of it in the sample: every byte of the file is flipped in turn */
static uint8_t noise[RANDOM_LEN];

/* full: a 3-byte section and one of random bytes too (stored, not
 * compressed); else only sections that compress, as format 2 held */
static void write_sample(int full)
{
    rm_ckpt_t c;
    rm_ckpt_header_t h = {.session = 42};
    strcpy(h.gpu, GPU);
    CHECK(rm_ckpt_create(&c, dir, &h) == RM_OK);
    static uint8_t big[3 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31 >> 7);
    if (full)
        CHECK(rm_ckpt_put(&c, RM_CKPT_ALLOCS, "abc", 3) == RM_OK);
    CHECK(rm_ckpt_put(&c, RM_CKPT_MEMORY, big, sizeof big) == RM_OK);
    if (full)
        CHECK(rm_ckpt_put(&c, RM_CKPT_MEMORY, noise, NOISE_SECTION) == RM_OK);
    CHECK(rm_ckpt_put(&c, RM_CKPT_ALLOCS, NULL, 0) == RM_OK);
    CHECK(rm_ckpt_finish(&c, dir) == RM_OK);
}

static int ahead; /* read_all reads ahead (ckpt_ahead.h) */

/* Read the whole file: RM_OK, or the first error (its message in err). */
static rm_status read_all(const char *gpu, char *err, size_t n)
{
    rm_ckpt_t c;
    rm_ckpt_header_t h;
    rm_status st = rm_ckpt_open(&c, dir, gpu, &h);
    if (st == RM_OK && ahead)
        CHECK(rm_ckpt_read_ahead(&c) == RM_OK);
    for (rm_ckpt_section t = RM_CKPT_ALLOCS; st == RM_OK && t != RM_CKPT_END;) {
        void *d;
        uint64_t len;
        if ((st = rm_ckpt_next(&c, &t, &d, &len)) == RM_OK)
            free(d);
    }
    snprintf(err, n, "%s", c.err);
    rm_ckpt_close(&c);
    return st;
}

static char path[512];

static uint8_t *slurp(size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*n);
    CHECK(b && fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void spill(const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    fclose(f);
}

/* The format 2 file of the sample: the same bytes under another version. */
static void as_format_2(void)
{
    size_t n;
    uint8_t *b = slurp(&n);
    b[8] = RM_CKPT_VERSION_OLD;
    rm_sha256(b, 96, b + 96);
    spill(b, n);
    free(b);
}

static void format(void)
{
    char err[256];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = random_byte();
    write_sample(1);
    snprintf(path, sizeof path, "%s/%s", dir, RM_CKPT_FILE);
    rm_ckpt_t c;
    rm_ckpt_header_t h;
    CHECK(rm_ckpt_open(&c, dir, GPU, &h) == RM_OK && h.session == 42 && h.version == RM_CKPT_VERSION);
    rm_ckpt_section t;
    void *d;
    uint64_t len;
    CHECK(rm_ckpt_next(&c, &t, &d, &len) == RM_OK && t == RM_CKPT_ALLOCS && len == 3 && !memcmp(d, "abc", 3));
    free(d);
    CHECK(rm_ckpt_next(&c, &t, &d, &len) == RM_OK && t == RM_CKPT_MEMORY && len == 3 << 20);
    CHECK(((uint8_t *)d)[12345] == (uint8_t)(12345 * 31 >> 7));
    free(d);
    CHECK(rm_ckpt_next(&c, &t, &d, &len) == RM_OK && t == RM_CKPT_MEMORY && len == NOISE_SECTION);
    CHECK(!memcmp(d, noise, NOISE_SECTION));
    free(d);
    CHECK(rm_ckpt_next(&c, &t, &d, &len) == RM_OK && t == RM_CKPT_ALLOCS && len == 0);
    CHECK(rm_ckpt_next(&c, &t, &d, &len) == RM_OK && t == RM_CKPT_END);
    rm_ckpt_close(&c);
    CHECK(read_all(NULL, err, sizeof err) == RM_OK); /* no GPU check asked */

    size_t n;
    uint8_t *good = slurp(&n);
    /* the random section is stored as it is: the file holds it plainly */
    CHECK(n > NOISE_SECTION && memmem(good, n, noise, NOISE_SECTION));
    /* encoding: random bytes stored (found so by samples), random then
     * zeros compressed, a short section that does not shrink stored */
    static uint8_t mixed[2 * RANDOM_LEN], scratch[2 * RANDOM_LEN + (64 << 10)];
    CHECK(rm_ckpt_scratch_bound(sizeof mixed) <= sizeof scratch);
    memcpy(mixed, noise, sizeof noise);
    rm_ckpt_enc_t e;
    CHECK(rm_ckpt_encode(RM_CKPT_MEMORY, noise, sizeof noise, scratch, &e, err) == RM_OK);
    CHECK(e.payload == noise && e.len == sizeof noise && e.head[4] == 1);
    CHECK(rm_ckpt_encode(RM_CKPT_MEMORY, mixed, sizeof mixed, scratch, &e, err) == RM_OK);
    CHECK(e.payload == scratch && e.len < sizeof noise + sizeof noise / 16 && e.head[4] == 0);
    CHECK(rm_ckpt_encode(RM_CKPT_MEMORY, noise, 4096, scratch, &e, err) == RM_OK);
    CHECK(e.payload == noise && e.len == 4096 && e.head[4] == 1);
    /* wrong GPU model */
    CHECK(read_all("NVIDIA H200", err, sizeof err) == RM_ERR_INVAL && strstr(err, "same model"));
    /* every byte flipped in turn (a sample of them in the big section) */
    for (size_t i = 0; i < n; i += i < 300 || i > n - 300 ? 1 : 997) {
        ahead = i % 2; /* the same errors whether read ahead or not */
        good[i] ^= 0x40;
        spill(good, n);
        rm_status st = read_all(GPU, err, sizeof err);
        CHECK(st != RM_OK && strlen(err) > 0);
        CHECK(st == RM_ERR_PROTO || (i >= 8 && i < 16 && st == RM_ERR_VERSION) || (i >= 24 && i < 88));
        good[i] ^= 0x40;
    }
    /* cut short at every length (sampled in the big section) */
    for (size_t k = 0; k < n; k += k < 300 || k > n - 300 ? 1 : 1009) {
        ahead = k % 2;
        spill(good, k);
        CHECK(read_all(GPU, err, sizeof err) != RM_OK);
        CHECK(k < 8 || strstr(err, "truncated") || strstr(err, "not a remora checkpoint"));
    }
    ahead = 1;
    /* another version, with a valid header checksum */
    uint8_t *other = malloc(n + 1);
    CHECK(other);
    memcpy(other, good, n);
    other[8] = RM_CKPT_VERSION + 1;
    rm_sha256(other, 96, other + 96);
    spill(other, n);
    CHECK(read_all(GPU, err, sizeof err) == RM_ERR_VERSION && strstr(err, "format version 4"));
    other[8] = 1; /* the first format: device memory only */
    rm_sha256(other, 96, other + 96);
    spill(other, n);
    CHECK(read_all(GPU, err, sizeof err) == RM_ERR_VERSION &&
          strstr(err, "format version 1; this remora reads versions 2 and 3"));
    /* bytes after the end */
    memcpy(other, good, n);
    other[n] = 0;
    spill(other, n + 1);
    CHECK(read_all(GPU, err, sizeof err) == RM_ERR_PROTO && strstr(err, "after its end"));
    /* not there at all */
    unlink(path);
    CHECK(read_all(GPU, err, sizeof err) == RM_ERR_NOT_FOUND);
    free(other);
    free(good);
    /* format 2: read when every section is a zstd frame, as format 2 wrote them */
    write_sample(0);
    as_format_2();
    CHECK(rm_ckpt_open(&c, dir, GPU, &h) == RM_OK && h.version == RM_CKPT_VERSION_OLD);
    rm_ckpt_close(&c);
    CHECK(read_all(GPU, err, sizeof err) == RM_OK);
    write_sample(1);
    as_format_2();
    CHECK(read_all(GPU, err, sizeof err) == RM_ERR_PROTO && strstr(err, "section 0 has a bad header"));
    printf("format ok\n");
}

/* Sections through the pipe: zeros, random bytes and a pattern, of
 * uneven lengths, more than its buffers at once; read back in order. */
#define PIPED 40
#define PIPE_BYTES (256 << 10)

static void fill_piped(uint8_t *b, int k, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++)
        b[i] = k % 3 == 0 ? 0 : k % 3 == 1 ? noise[(i + (uint64_t)k * 4099) % sizeof noise] : (uint8_t)(i * k >> 5);
}

static uint64_t piped_len(int k) { return k == 7 ? 0 : PIPE_BYTES - (uint64_t)k * 1531; }

static void pipe_order(void)
{
    rm_ckpt_t c;
    rm_ckpt_header_t h = {.session = 7};
    strcpy(h.gpu, GPU);
    CHECK(rm_ckpt_create(&c, dir, &h) == RM_OK);
    rm_ckpt_pipe_t *p;
    CHECK(rm_ckpt_pipe_open(&c, PIPE_BYTES, NULL, &p) == RM_OK);
    for (int k = 0; k < PIPED; k++) {
        uint8_t *b = rm_ckpt_pipe_get(p);
        CHECK(b && (uintptr_t)(b + RM_CKPT_PIPE_LEAD) % 4096 == 0);
        fill_piped(b, k, piped_len(k));
        rm_ckpt_pipe_put(p, k % 2 ? RM_CKPT_MEMORY : RM_CKPT_IMAGE, piped_len(k));
    }
    CHECK(rm_ckpt_pipe_close(p) == RM_OK && c.sections == PIPED);
    CHECK(rm_ckpt_finish(&c, dir) == RM_OK);
    CHECK(rm_ckpt_open(&c, dir, GPU, &h) == RM_OK && h.session == 7);
    CHECK(rm_ckpt_read_ahead(&c) == RM_OK); /* and read back ahead, in order */
    static uint8_t want[PIPE_BYTES];
    for (int k = 0; k < PIPED; k++) {
        rm_ckpt_section t;
        void *d;
        uint64_t len;
        CHECK(rm_ckpt_next(&c, &t, &d, &len) == RM_OK);
        CHECK(t == (k % 2 ? RM_CKPT_MEMORY : RM_CKPT_IMAGE) && len == piped_len(k));
        fill_piped(want, k, len);
        CHECK(!len || !memcmp(d, want, len));
        free(d);
    }
    rm_ckpt_close(&c);
    for (int stop = 0; stop < 3; stop++) { /* closed with sections read ahead and not taken */
        CHECK(rm_ckpt_open(&c, dir, GPU, &h) == RM_OK && rm_ckpt_read_ahead(&c) == RM_OK);
        for (int k = 0; k < stop; k++) {
            rm_ckpt_section t;
            void *d;
            uint64_t len;
            CHECK(rm_ckpt_next(&c, &t, &d, &len) == RM_OK && len == piped_len(k));
            free(d);
        }
        rm_ckpt_close(&c);
    }
    printf("pipe ok (%d workers)\n", rm_ckpt_pipe_workers());
}

/* A full disk (the file-size limit standing for it): the pipe stops at the
 * first section it cannot write and says so; abort leaves no file. Run in
 * a process of its own ("pipe-full DIR"). */
static int pipe_full(void)
{
    struct rlimit lim = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
    CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR && setrlimit(RLIMIT_FSIZE, &lim) == 0);
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = random_byte();
    unlink(RM_CKPT_FILE); /* pipe_order's */
    rm_ckpt_t c;
    rm_ckpt_header_t h = {.session = 8};
    strcpy(h.gpu, GPU);
    CHECK(rm_ckpt_create(&c, ".", &h) == RM_OK);
    rm_ckpt_pipe_t *p;
    CHECK(rm_ckpt_pipe_open(&c, PIPE_BYTES, NULL, &p) == RM_OK);
    int handed = 0;
    for (int k = 0; k < PIPED; k++, handed++) {
        uint8_t *b = rm_ckpt_pipe_get(p);
        if (!b)
            break;
        memcpy(b, noise + k % 3 * PIPE_BYTES, PIPE_BYTES);
        rm_ckpt_pipe_put(p, RM_CKPT_MEMORY, PIPE_BYTES);
    }
    CHECK(handed < PIPED); /* it stopped taking sections */
    CHECK(rm_ckpt_pipe_close(p) == RM_ERR_IO && strstr(c.err, "cannot write the checkpoint"));
    rm_ckpt_abort(&c, ".");
    CHECK(access(RM_CKPT_FILE ".tmp", F_OK) != 0 && access(RM_CKPT_FILE, F_OK) != 0);
    return 0;
}

static rm_backend_t B;

static void fake_up(void)
{
    rm_backend_fake_fill(&B);
    CUdevice dev;
    CUcontext ctx;
    CHECK(B.cuInit(0) == CUDA_SUCCESS && B.cuDeviceGet(&dev, 0) == CUDA_SUCCESS);
    CHECK(B.cuDevicePrimaryCtxRetain(&ctx, dev) == CUDA_SUCCESS && B.cuCtxSetCurrent(ctx) == CUDA_SUCCESS);
}

static const uint64_t sizes[] = {100, 4096, 1000, 3 * MB + 17, 100 * MB};
#define NALLOC (sizeof sizes / sizeof sizes[0])

static uint8_t pattern(uint64_t k, uint64_t i) { return (uint8_t)(k * 131 + i * 7 + (i >> 12)); }

static int count_one(void *arg, const rm_mm_info_t *a)
{
    (void)a;
    ++*(int *)arg;
    return 0;
}

/* Allocate, fill (the big one only at its ends and middle: zeros compress),
 * checkpoint; the addresses go to DIR/addrs. */
static int save(void)
{
    fake_up();
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    CUdeviceptr p[NALLOC];
    FILE *f = fopen("addrs", "w");
    CHECK(f);
    static uint8_t buf[4 * MB];
    for (size_t k = 0; k < NALLOC; k++) {
        CHECK(rm_mm_alloc(&m, 0, 5, sizes[k], &p[k]) == CUDA_SUCCESS);
        uint64_t n = sizes[k] < sizeof buf ? sizes[k] : sizeof buf;
        for (uint64_t i = 0; i < n; i++)
            buf[i] = pattern(k, i);
        CHECK(B.cuMemsetD8_v2(p[k], 0, sizes[k]) == CUDA_SUCCESS);
        CHECK(B.cuMemcpyHtoD_v2(p[k], buf, n) == CUDA_SUCCESS);
        CHECK(B.cuMemcpyHtoD_v2(p[k] + sizes[k] - n, buf, n) == CUDA_SUCCESS);
        fprintf(f, "%llu\n", (unsigned long long)p[k]);
    }
    fclose(f);
    rm_ckpt_t c;
    rm_ckpt_header_t h = {.session = 1};
    strcpy(h.gpu, GPU);
    CHECK(rm_ckpt_create(&c, ".", &h) == RM_OK);
    CHECK(rm_ckpt_mem_save(&c, &m, &B) == RM_OK);
    CHECK(rm_ckpt_finish(&c, ".") == RM_OK);
    rm_mm_destroy(&m);
    return 0;
}

/* va_base: of the restoring server's arenas (mm_arena.h). */
static int restore(int squat, uint64_t va_base)
{
    CUdeviceptr p[NALLOC];
    FILE *f = fopen("addrs", "r");
    CHECK(f);
    for (size_t k = 0; k < NALLOC; k++) {
        unsigned long long v;
        CHECK(fscanf(f, "%llu", &v) == 1);
        p[k] = v;
    }
    fclose(f);
    if (squat) /* something else of this process sits at the big allocation's address, in the arena's range */
        CHECK(mmap((void *)(uintptr_t)p[NALLOC - 1], MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0) != MAP_FAILED);
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    m.va_base = va_base;
    rm_ckpt_t c;
    rm_ckpt_header_t h;
    rm_status st = rm_ckpt_open(&c, ".", GPU, &h);
    for (rm_ckpt_section t = RM_CKPT_ALLOCS; st == RM_OK && t != RM_CKPT_END;) {
        void *d;
        uint64_t len;
        if ((st = rm_ckpt_next(&c, &t, &d, &len)) == RM_OK)
            st = rm_ckpt_mem_load(&c, &m, &B, t, d, len);
        free(d);
    }
    if (squat) {
        CHECK(st == RM_ERR_INVAL && strstr(c.err, "at its address here: something else in this server process holds that "
                                                          "address of device 0's arena"));
        rm_ckpt_close(&c);
        rm_mm_destroy(&m);
        return 0;
    }
    CHECK(st == RM_OK);
    rm_ckpt_close(&c);
    static uint8_t buf[4 * MB];
    for (size_t k = 0; k < NALLOC; k++) {
        rm_mm_info_t a;
        CHECK(rm_mm_find(&m, p[k], &a) == 0 && a.base == p[k] && a.size == sizes[k] && a.owner == 5);
        uint64_t n = sizes[k] < sizeof buf ? sizes[k] : sizeof buf;
        CHECK(B.cuMemcpyDtoH_v2(buf, p[k] + sizes[k] - n, n) == CUDA_SUCCESS);
        for (uint64_t i = 0; i < n; i++)
            CHECK(buf[i] == pattern(k, i));
        if (sizes[k] > 2 * n) {
            CHECK(B.cuMemcpyDtoH_v2(buf, p[k] + n, n) == CUDA_SUCCESS);
            for (uint64_t i = 0; i < n; i++)
                CHECK(buf[i] == 0);
        }
    }
    uint64_t at, len;
    CHECK(rm_mm_arena_range(&m, 0, &at, &len) && at == rm_mm_arena_addr(va_base, 0));
    rm_mm_destroy(&m);
    return 0;
}

/* The stream's sender: allocations 0, 1 and 2 (filled with pattern 0, 1,
 * 2); round 1 sends all; then 1 is freed, 3 made (pattern 3) and 0
 * rewritten (pattern 4); round 2 sends 0 and 3. After the end section:
 * the bases of 0, 2 and 3. */
static void fill(CUdeviceptr p, uint64_t k)
{
    static uint8_t buf[64 << 10];
    for (uint64_t i = 0; i < sizeof buf; i++)
        buf[i] = pattern(k, i);
    CHECK(B.cuMemcpyHtoD_v2(p, buf, sizeof buf) == CUDA_SUCCESS);
}

static void round_of(rm_ckpt_t *c, rm_mm_t *m, uint64_t want_bytes)
{
    rm_ckpt_allocs_t d;
    uint64_t sent = 0;
    CHECK(rm_ckpt_mem_take_dirty(c, m, &d) == RM_OK);
    CHECK(rm_ckpt_mem_put_allocs(c, m, NULL) == RM_OK && rm_ckpt_mem_put_contents(c, m, &d, &sent) == RM_OK);
    CHECK(sent == want_bytes);
    free(d.v);
}

static void send_stream(int fd)
{
    fake_up();
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    CUdeviceptr p[4];
    for (int k = 0; k < 3; k++) {
        CHECK(rm_mm_alloc(&m, 0, 5, 64 << 10, &p[k]) == CUDA_SUCCESS);
        fill(p[k], (uint64_t)k);
    }
    rm_ckpt_t c;
    rm_ckpt_header_t h = {.session = 7};
    strcpy(h.gpu, GPU);
    CHECK(rm_ckpt_stream_create(&c, fd, &h) == RM_OK);
    rm_mm_track(&m, 1);
    round_of(&c, &m, 3 * (64 << 10));
    CHECK(rm_mm_free(&m, p[1]) == CUDA_SUCCESS);
    CHECK(rm_mm_alloc(&m, 0, 5, 64 << 10, &p[3]) == CUDA_SUCCESS);
    fill(p[3], 3);
    fill(p[0], 4);
    rm_mm_wrote(&m, p[0], 64 << 10);
    round_of(&c, &m, 2 * (64 << 10));
    CHECK(rm_ckpt_stream_end(&c) == RM_OK);
    rm_ckpt_close(&c);
    uint64_t bases[3] = {p[0], p[2], p[3]};
    CHECK(write(fd, bases, sizeof bases) == (ssize_t)sizeof bases);
    rm_mm_destroy(&m);
}

static int receive_stream(int fd)
{
    fake_up();
    rm_mm_t m;
    rm_mm_init(&m, &B, RM_MM_VMM);
    rm_ckpt_t c;
    rm_ckpt_header_t h;
    rm_status st = rm_ckpt_stream_open(&c, fd, GPU, &h);
    CHECK(st == RM_OK && h.session == 7);
    for (rm_ckpt_section t = RM_CKPT_ALLOCS; st == RM_OK && t != RM_CKPT_END;) {
        void *d;
        uint64_t len;
        if ((st = rm_ckpt_next(&c, &t, &d, &len)) == RM_OK)
            st = rm_ckpt_mem_load(&c, &m, &B, t, d, len);
        free(d);
    }
    CHECK(st == RM_OK);
    rm_ckpt_close(&c);
    uint64_t bases[3];
    CHECK(read(fd, bases, sizeof bases) == (ssize_t)sizeof bases);
    int n = 0;
    rm_mm_each(&m, count_one, &n);
    CHECK(n == 3);
    static const uint64_t patterns[3] = {4, 2, 3};
    static uint8_t buf[64 << 10];
    for (int k = 0; k < 3; k++) {
        rm_mm_info_t a;
        CHECK(rm_mm_find(&m, bases[k], &a) == 0 && a.base == bases[k] && a.size == sizeof buf);
        CHECK(B.cuMemcpyDtoH_v2(buf, bases[k], sizeof buf) == CUDA_SUCCESS);
        for (uint64_t i = 0; i < sizeof buf; i++)
            CHECK(buf[i] == pattern(patterns[k], i));
    }
    rm_mm_destroy(&m);
    return 0;
}

/* Both ends in fresh processes: each maps the same addresses. */
static void stream(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pid_t rx = fork();
    CHECK(rx >= 0);
    if (rx == 0) {
        close(sv[0]);
        _exit(receive_stream(sv[1]));
    }
    pid_t tx = fork();
    CHECK(tx >= 0);
    if (tx == 0) {
        close(sv[1]);
        send_stream(sv[0]);
        _exit(0);
    }
    close(sv[0]);
    close(sv[1]);
    int status;
    CHECK(waitpid(tx, &status, 0) == tx && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(waitpid(rx, &status, 0) == rx && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("stream ok\n");
}

/* As servers of another --va-base: one whose arena is elsewhere (each
 * allocation reserved on its own, where it was), one whose arena starts a
 * granule below the first's (they lie inside it). */
static int restore_moved(void)
{
    fake_up();
    restore(0, RM_MM_ARENA_BASE + 2 * RM_MM_ARENA_STRIDE);
    return restore(0, RM_MM_ARENA_BASE - 2 * MB);
}

static void run_self(const char *self, const char *what)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl(self, self, what, dir, (char *)NULL);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        CHECK(chdir(argv[2]) == 0);
        if (!strcmp(argv[1], "pipe-full"))
            return pipe_full();
        if (!strcmp(argv[1], "restore-moved"))
            return restore_moved();
        if (!strcmp(argv[1], "save"))
            return save();
        fake_up();
        return restore(!strcmp(argv[1], "restore-squatted"), RM_MM_ARENA_BASE);
    }
    char tmpl[] = "/tmp/remora-ckpt-test.XXXXXX";
    CHECK(mkdtemp(tmpl));
    snprintf(dir, sizeof dir, "%s", tmpl);
    format();
    pipe_order();
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    run_self(self, "pipe-full");
    printf("full disk ok\n");
    run_self(self, "save");
    run_self(self, "restore");
    run_self(self, "restore-squatted");
    run_self(self, "restore-moved");
    printf("memory ok\n");
    stream();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return 0;
}
