/* The checkpoint file's reader and writer (ckpt_file.h). Every number on
 * disk is little-endian, written byte by byte. */
#include "ckpt_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "sha256.h"

static const uint8_t magic[8] = {'R', 'M', 'C', 'K', 'P', 'T', '\r', '\n'};
#define HEADER_LEN 128
#define HEADER_SUMMED 96 /* the header's SHA-256 covers the bytes before it */
#define SECTION_LEN 56
#define SECTION_SUMMED 24 /* type, reserved, lengths: summed with the compressed bytes */
#define LEVEL 1           /* zstd: fast; device memory is mostly incompressible or zeros */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static rm_status fail(rm_ckpt_t *c, rm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return st;
}

static void path_of(char *out, size_t n, const char *dir, const char *suffix)
{
    snprintf(out, n, "%s/%s%s", dir, RM_CKPT_FILE, suffix);
}

/* The header, first in a file or a stream. */
static rm_status put_header(rm_ckpt_t *c, const rm_ckpt_header_t *h, const char *where)
{
    uint8_t b[HEADER_LEN] = {0};
    memcpy(b, magic, sizeof magic);
    put32(b + 8, RM_CKPT_VERSION);
    put32(b + 12, HEADER_LEN);
    put64(b + 16, h->session);
    memcpy(b + 24, h->gpu, strnlen(h->gpu, RM_CKPT_GPU_LEN - 1));
    rm_sha256(b, HEADER_SUMMED, b + HEADER_SUMMED);
    if (fwrite(b, 1, sizeof b, c->f) != sizeof b)
        return fail(c, RM_ERR_IO, "cannot write %s: %s", where, strerror(errno));
    return RM_OK;
}

rm_status rm_ckpt_create(rm_ckpt_t *c, const char *dir, const rm_ckpt_header_t *h)
{
    memset(c, 0, sizeof *c);
    char path[4096];
    path_of(path, sizeof path, dir, ".tmp");
    /* 0600: the file holds the session's key */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(c->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(c, RM_ERR_IO, "cannot create %s: %s", path, strerror(e));
    }
    return put_header(c, h, path);
}

/* A copy of a socket as a FILE, for a stream. */
static rm_status stream_of(rm_ckpt_t *c, int fd, const char *mode)
{
    memset(c, 0, sizeof *c);
    c->stream = 1;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0 || !(c->f = fdopen(copy, mode))) {
        int e = errno;
        if (copy >= 0)
            close(copy);
        return fail(c, RM_ERR_IO, "cannot open the migration stream: %s", strerror(e));
    }
    return RM_OK;
}

rm_status rm_ckpt_stream_create(rm_ckpt_t *c, int fd, const rm_ckpt_header_t *h)
{
    rm_status st = stream_of(c, fd, "wb");
    return st == RM_OK ? put_header(c, h, "the migration stream") : st;
}

rm_status rm_ckpt_stream_end(rm_ckpt_t *c)
{
    rm_status st = rm_ckpt_put(c, RM_CKPT_END, NULL, 0);
    if (st == RM_OK && fflush(c->f) != 0)
        st = fail(c, RM_ERR_IO, "cannot write the migration stream: %s", strerror(errno));
    return st;
}

rm_status rm_ckpt_flush(rm_ckpt_t *c)
{
    return fflush(c->f) == 0 ? RM_OK : fail(c, RM_ERR_IO, "cannot write the migration stream: %s", strerror(errno));
}

rm_status rm_ckpt_put(rm_ckpt_t *c, rm_ckpt_section type, const void *data, uint64_t len)
{
    if (len > RM_CKPT_SECTION_MAX)
        return fail(c, RM_ERR_TOO_BIG, "a section of %llu bytes (at most %llu)", (unsigned long long)len,
                    (unsigned long long)RM_CKPT_SECTION_MAX);
    size_t bound = ZSTD_compressBound(len);
    uint8_t *b = malloc(SECTION_LEN + bound);
    if (!b)
        return fail(c, RM_ERR_NOMEM, "no memory to compress a %llu-byte section", (unsigned long long)len);
    size_t comp = len ? ZSTD_compress(b + SECTION_LEN, bound, data, len, LEVEL) : 0;
    rm_status st = RM_OK;
    if (ZSTD_isError(comp)) {
        st = fail(c, RM_ERR_IO, "zstd: %s", ZSTD_getErrorName(comp));
        goto out;
    }
    /* the summed fields sit right before the compressed bytes, for one pass */
    uint8_t *summed = b + SECTION_LEN - SECTION_SUMMED, sum[RM_SHA256_LEN];
    put32(summed, type);
    put32(summed + 4, 0);
    put64(summed + 8, len);
    put64(summed + 16, comp);
    rm_sha256(summed, SECTION_SUMMED + comp, sum);
    memmove(b, summed, SECTION_SUMMED);
    memcpy(b + SECTION_SUMMED, sum, sizeof sum);
    if (fwrite(b, 1, SECTION_LEN + comp, c->f) != SECTION_LEN + comp)
        st = fail(c, RM_ERR_IO, "cannot write the checkpoint: %s", strerror(errno));
    else
        c->sections++;
out:
    free(b);
    return st;
}

rm_status rm_ckpt_finish(rm_ckpt_t *c, const char *dir)
{
    rm_status st = rm_ckpt_put(c, RM_CKPT_END, NULL, 0);
    char tmp[4096], path[4096];
    path_of(tmp, sizeof tmp, dir, ".tmp");
    path_of(path, sizeof path, dir, "");
    if (st == RM_OK && (fflush(c->f) != 0 || fsync(fileno(c->f)) != 0))
        st = fail(c, RM_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (fclose(c->f) != 0 && st == RM_OK)
        st = fail(c, RM_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    c->f = NULL;
    if (st == RM_OK && rename(tmp, path) != 0)
        st = fail(c, RM_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (st != RM_OK)
        unlink(tmp);
    return st;
}

void rm_ckpt_abort(rm_ckpt_t *c, const char *dir)
{
    char tmp[4096];
    path_of(tmp, sizeof tmp, dir, ".tmp");
    if (c->f)
        fclose(c->f);
    c->f = NULL;
    unlink(tmp);
}

static rm_status get_header(rm_ckpt_t *c, const char *path, const char *gpu, rm_ckpt_header_t *h)
{
    uint8_t b[HEADER_LEN], sum[RM_SHA256_LEN];
    if (fread(b, 1, sizeof b, c->f) != sizeof b || memcmp(b, magic, sizeof magic) != 0)
        return fail(c, RM_ERR_PROTO, "%s is not a remora checkpoint (no header)", path);
    rm_sha256(b, HEADER_SUMMED, sum);
    if (memcmp(sum, b + HEADER_SUMMED, sizeof sum) != 0)
        return fail(c, RM_ERR_PROTO, "%s: the header is corrupt (checksum mismatch)", path);
    h->version = get32(b + 8);
    if (h->version != RM_CKPT_VERSION || get32(b + 12) != HEADER_LEN)
        return fail(c, RM_ERR_VERSION, "%s is a checkpoint of format version %u; this remora reads version %u",
                    path, h->version, RM_CKPT_VERSION);
    h->session = get64(b + 16);
    memcpy(h->gpu, b + 24, RM_CKPT_GPU_LEN);
    h->gpu[RM_CKPT_GPU_LEN - 1] = 0;
    if (gpu && strcmp(gpu, h->gpu) != 0)
        return fail(c, RM_ERR_INVAL, "%s was taken on a %s; this server's GPU is a %s (same model needed)", path,
                    h->gpu, gpu);
    return RM_OK;
}

rm_status rm_ckpt_open(rm_ckpt_t *c, const char *dir, const char *gpu, rm_ckpt_header_t *h)
{
    memset(c, 0, sizeof *c);
    char path[4096];
    path_of(path, sizeof path, dir, "");
    if (!(c->f = fopen(path, "rb")))
        return fail(c, RM_ERR_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
    return get_header(c, path, gpu, h);
}

rm_status rm_ckpt_stream_open(rm_ckpt_t *c, int fd, const char *gpu, rm_ckpt_header_t *h)
{
    rm_status st = stream_of(c, fd, "rb");
    if (st == RM_OK) /* read no further than asked: what follows the end section is the caller's */
        setvbuf(c->f, NULL, _IONBF, 0);
    return st == RM_OK ? get_header(c, "the migration stream", gpu, h) : st;
}

rm_status rm_ckpt_next(rm_ckpt_t *c, rm_ckpt_section *type, void **data, uint64_t *len)
{
    uint8_t hd[SECTION_LEN];
    if (fread(hd, 1, sizeof hd, c->f) != sizeof hd)
        return fail(c, RM_ERR_PROTO, "the checkpoint is truncated (after %llu sections)",
                    (unsigned long long)c->sections);
    uint32_t t = get32(hd);
    uint64_t raw = get64(hd + 8), comp = get64(hd + 16);
    if (t > RM_CKPT_SESSION || get32(hd + 4) != 0 || raw > RM_CKPT_SECTION_MAX || comp > ZSTD_compressBound(raw))
        return fail(c, RM_ERR_PROTO, "the checkpoint is corrupt (section %llu has a bad header)",
                    (unsigned long long)c->sections);
    uint8_t *b = malloc(SECTION_SUMMED + comp), sum[RM_SHA256_LEN];
    void *out = raw ? malloc(raw) : NULL;
    rm_status st = RM_OK;
    if (!b || (raw && !out)) {
        st = fail(c, RM_ERR_NOMEM, "no memory for a %llu-byte section", (unsigned long long)raw);
        goto out;
    }
    memcpy(b, hd, SECTION_SUMMED);
    if (fread(b + SECTION_SUMMED, 1, comp, c->f) != comp) {
        st = fail(c, RM_ERR_PROTO, "the checkpoint is truncated (in section %llu)", (unsigned long long)c->sections);
        goto out;
    }
    rm_sha256(b, SECTION_SUMMED + comp, sum);
    if (memcmp(sum, hd + SECTION_SUMMED, sizeof sum) != 0) {
        st = fail(c, RM_ERR_PROTO, "the checkpoint is corrupt (section %llu: checksum mismatch)",
                  (unsigned long long)c->sections);
        goto out;
    }
    size_t got = raw ? ZSTD_decompress(out, raw, b + SECTION_SUMMED, comp) : 0;
    if (ZSTD_isError(got) || got != raw) {
        st = fail(c, RM_ERR_PROTO, "the checkpoint is corrupt (section %llu does not decompress)",
                  (unsigned long long)c->sections);
        goto out;
    }
    if (t == RM_CKPT_END && !c->stream && fgetc(c->f) != EOF) {
        st = fail(c, RM_ERR_PROTO, "the checkpoint has bytes after its end");
        goto out;
    }
    c->sections++;
    *type = (rm_ckpt_section)t;
    *data = out;
    *len = raw;
    out = NULL;
out:
    free(b);
    free(out);
    return st;
}

void rm_ckpt_close(rm_ckpt_t *c)
{
    if (c->f)
        fclose(c->f);
    c->f = NULL;
}
