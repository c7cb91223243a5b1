/* The checkpoint file's reader and writer (ckpt_file.h). Every number on
 * disk is little-endian, written byte by byte. */
#include "ckpt_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "ckpt_ahead.h"
#include "sha256.h"

static const uint8_t magic[8] = {'R', 'M', 'C', 'K', 'P', 'T', '\r', '\n'};
#define HEADER_LEN 128
#define HEADER_SUMMED 96 /* the header's SHA-256 covers the bytes before it */
#define SECTION_LEN RM_CKPT_SECTION_HEAD
#define SECTION_SUMMED 24 /* type, encoding, lengths: summed with the stored bytes */
#define LEVEL 1           /* zstd: fast; device memory is mostly incompressible or zeros */
#define ZSTD_FRAME 0      /* encodings: the stored bytes are one zstd frame */
#define STORED 1          /* ... or the section's bytes as they are (format 3) */

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

/* SHA-256 of a section's summed header fields and its stored bytes (two
 * pieces, so a stored section is summed where it lies). OpenSSL's: the
 * processor's SHA instructions where it has them, ten times rm_sha256. */
static int sum_section(const uint8_t *summed, const void *payload, uint64_t len, uint8_t out[RM_SHA256_LEN])
{
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    int ok = x && EVP_DigestInit_ex(x, EVP_sha256(), NULL) && EVP_DigestUpdate(x, summed, SECTION_SUMMED) &&
             (!len || EVP_DigestUpdate(x, payload, len)) && EVP_DigestFinal_ex(x, out, NULL);
    EVP_MD_CTX_free(x);
    return ok ? 0 : -1;
}

size_t rm_ckpt_scratch_bound(uint64_t len) { return ZSTD_compressBound(len); }

#define PROBE (64 << 10)
#define PROBED (16 * PROBE) /* sections this long are probed first */

/* Whether zstd would not shrink a sample of PROBE bytes by a 32nd at the
 * start, middle and end of a long section: random (or compressed) data,
 * stored as it is without compressing the rest. */
static int incompressible(const uint8_t *data, uint64_t len, void *scratch)
{
    if (len < PROBED)
        return 0;
    const uint64_t at[3] = {0, len / 2, len - PROBE};
    for (int i = 0; i < 3; i++) {
        size_t n = ZSTD_compress(scratch, ZSTD_compressBound(PROBE), data + at[i], PROBE, LEVEL);
        if (!ZSTD_isError(n) && n <= PROBE - PROBE / 32)
            return 0;
    }
    return 1;
}

rm_status rm_ckpt_encode(rm_ckpt_section type, const void *data, uint64_t len, void *scratch, rm_ckpt_enc_t *e,
                         char *err)
{
    if (len > RM_CKPT_SECTION_MAX) {
        snprintf(err, 256, "a section of %llu bytes (at most %llu)", (unsigned long long)len,
                 (unsigned long long)RM_CKPT_SECTION_MAX);
        return RM_ERR_TOO_BIG;
    }
    int stored = incompressible(data, len, scratch);
    size_t comp = len && !stored ? ZSTD_compress(scratch, ZSTD_compressBound(len), data, len, LEVEL) : 0;
    if (ZSTD_isError(comp)) {
        snprintf(err, 256, "zstd: %s", ZSTD_getErrorName(comp));
        return RM_ERR_IO;
    }
    /* what does not shrink by a 32nd is stored as it is (one zstd pass, never two) */
    stored = stored || (len && comp > len - len / 32);
    uint8_t *summed = e->head;
    put32(summed, type);
    put32(summed + 4, stored ? STORED : ZSTD_FRAME);
    put64(summed + 8, len);
    put64(summed + 16, stored ? len : comp);
    e->payload = stored ? data : scratch;
    e->len = stored ? len : comp;
    if (sum_section(summed, e->payload, e->len, e->head + SECTION_SUMMED) != 0) {
        snprintf(err, 256, "SHA-256 failed");
        return RM_ERR_IO;
    }
    return RM_OK;
}

rm_status rm_ckpt_append(rm_ckpt_t *c, const rm_ckpt_enc_t *e)
{
    if (fwrite(e->head, 1, SECTION_LEN, c->f) != SECTION_LEN ||
        (e->len && fwrite(e->payload, 1, e->len, c->f) != e->len))
        return fail(c, RM_ERR_IO, "cannot write the checkpoint: %s", strerror(errno));
    c->sections++;
    return RM_OK;
}

rm_status rm_ckpt_put(rm_ckpt_t *c, rm_ckpt_section type, const void *data, uint64_t len)
{
    if (len > RM_CKPT_SECTION_MAX)
        return fail(c, RM_ERR_TOO_BIG, "a section of %llu bytes (at most %llu)", (unsigned long long)len,
                    (unsigned long long)RM_CKPT_SECTION_MAX);
    void *scratch = malloc(rm_ckpt_scratch_bound(len));
    if (!scratch)
        return fail(c, RM_ERR_NOMEM, "no memory to compress a %llu-byte section", (unsigned long long)len);
    rm_ckpt_enc_t e;
    rm_status st = rm_ckpt_encode(type, data, len, scratch, &e, c->err);
    if (st == RM_OK)
        st = rm_ckpt_append(c, &e);
    free(scratch);
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
    if ((h->version != RM_CKPT_VERSION && h->version != RM_CKPT_VERSION_OLD) || get32(b + 12) != HEADER_LEN)
        return fail(c, RM_ERR_VERSION,
                    "%s is a checkpoint of format version %u; this remora reads versions %u and %u", path,
                    h->version, RM_CKPT_VERSION_OLD, RM_CKPT_VERSION);
    c->version = h->version;
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

/* A section's header is plausible: a known type and encoding (format 2
 * has zstd frames only), lengths within bounds. */
static int header_ok(const rm_ckpt_t *c, uint32_t t, uint32_t enc, uint64_t raw, uint64_t stored)
{
    if (t > RM_CKPT_SESSION || raw > RM_CKPT_SECTION_MAX)
        return 0;
    if (enc == STORED)
        return c->version >= 3 && raw && stored == raw;
    return enc == ZSTD_FRAME && stored <= ZSTD_compressBound(raw) && (raw || !stored);
}

rm_status rm_ckpt_read_raw(rm_ckpt_t *c, rm_ckpt_raw_t *r, char *err)
{
    memset(r, 0, sizeof *r);
    r->index = c->sections;
    if (fread(r->head, 1, SECTION_LEN, c->f) != SECTION_LEN) {
        snprintf(err, 256, "the checkpoint is truncated (after %llu sections)", (unsigned long long)r->index);
        return RM_ERR_PROTO;
    }
    r->type = get32(r->head);
    r->enc = get32(r->head + 4);
    r->raw = get64(r->head + 8);
    r->len = get64(r->head + 16);
    if (!header_ok(c, r->type, r->enc, r->raw, r->len)) {
        snprintf(err, 256, "the checkpoint is corrupt (section %llu has a bad header)", (unsigned long long)r->index);
        return RM_ERR_PROTO;
    }
    /* a stored section is read where it is handed out: one copy less */
    r->out = r->raw ? malloc(r->raw) : NULL;
    r->in = r->enc == STORED ? r->out : malloc(r->len ? r->len : 1);
    rm_status st = RM_OK;
    if (!r->in || (r->raw && !r->out)) {
        snprintf(err, 256, "no memory for a %llu-byte section", (unsigned long long)r->raw);
        st = RM_ERR_NOMEM;
    } else if (fread(r->in, 1, r->len, c->f) != r->len) {
        snprintf(err, 256, "the checkpoint is truncated (in section %llu)", (unsigned long long)r->index);
        st = RM_ERR_PROTO;
    } else if (r->type == RM_CKPT_END && !c->stream && fgetc(c->f) != EOF) {
        /* a stream's end section is its end: what follows is the caller's */
        snprintf(err, 256, "the checkpoint has bytes after its end");
        st = RM_ERR_PROTO;
    }
    if (st != RM_OK) {
        rm_ckpt_raw_free(r);
        return st;
    }
    c->sections++;
    return RM_OK;
}

rm_status rm_ckpt_decode(rm_ckpt_raw_t *r, char *err)
{
    uint8_t sum[RM_SHA256_LEN];
    if (sum_section(r->head, r->in, r->len, sum) != 0 || memcmp(sum, r->head + SECTION_SUMMED, sizeof sum) != 0) {
        snprintf(err, 256, "the checkpoint is corrupt (section %llu: checksum mismatch)", (unsigned long long)r->index);
        return RM_ERR_PROTO;
    }
    size_t got = r->enc == STORED || !r->raw ? r->raw : ZSTD_decompress(r->out, r->raw, r->in, r->len);
    if (ZSTD_isError(got) || got != r->raw) {
        snprintf(err, 256, "the checkpoint is corrupt (section %llu does not decompress)",
                 (unsigned long long)r->index);
        return RM_ERR_PROTO;
    }
    if (r->in != r->out)
        free(r->in);
    r->in = NULL;
    return RM_OK;
}

void rm_ckpt_raw_free(rm_ckpt_raw_t *r)
{
    if (r->in != r->out)
        free(r->in);
    free(r->out);
    r->in = r->out = NULL;
}

rm_status rm_ckpt_next(rm_ckpt_t *c, rm_ckpt_section *type, void **data, uint64_t *len)
{
    if (c->ahead)
        return rm_ckpt_ahead_next(c, type, data, len);
    rm_ckpt_raw_t r;
    rm_status st = rm_ckpt_read_raw(c, &r, c->err);
    if (st == RM_OK && (st = rm_ckpt_decode(&r, c->err)) != RM_OK)
        rm_ckpt_raw_free(&r);
    if (st != RM_OK)
        return st;
    *type = (rm_ckpt_section)r.type;
    *data = r.out;
    *len = r.raw;
    return RM_OK;
}

void rm_ckpt_close(rm_ckpt_t *c)
{
    rm_ckpt_ahead_stop(c);
    if (c->f)
        fclose(c->f);
    c->f = NULL;
}
