/* Codecs for copy data (see compress.h). zstd at level 1: its fastest
 * regular level, as copies are compressed on the critical path. */
#include "compress.h"

#include <limits.h>
#include <string.h>

#ifdef RM_HAVE_LZ4
#include <lz4.h>
#endif
#ifdef RM_HAVE_ZSTD
#include <zstd.h>
#endif

#define ZSTD_LEVEL 1

static const char *const names[RM_CODEC_COUNT] = {"none", "lz4", "zstd"};

rm_status rm_codec_parse(const char *s, rm_codec *out)
{
    if (!s || !*s || strcmp(s, "off") == 0 || strcmp(s, "none") == 0) {
        *out = RM_CODEC_NONE;
        return RM_OK;
    }
    for (int c = RM_CODEC_LZ4; c < RM_CODEC_COUNT; c++)
        if (strcmp(s, names[c]) == 0) {
            *out = (rm_codec)c;
            return RM_OK;
        }
    return RM_ERR_INVAL;
}

const char *rm_codec_name(rm_codec c) { return (unsigned)c < RM_CODEC_COUNT ? names[c] : "unknown"; }

uint32_t rm_codecs_built(void)
{
    uint32_t m = 1u << RM_CODEC_NONE;
#ifdef RM_HAVE_LZ4
    m |= 1u << RM_CODEC_LZ4;
#endif
#ifdef RM_HAVE_ZSTD
    m |= 1u << RM_CODEC_ZSTD;
#endif
    return m;
}

size_t rm_codec_bound(rm_codec c, size_t n)
{
    (void)n; /* unused when no codec is built in */
    switch (c) {
#ifdef RM_HAVE_LZ4
    case RM_CODEC_LZ4: return n <= LZ4_MAX_INPUT_SIZE ? (size_t)LZ4_compressBound((int)n) : 0;
#endif
#ifdef RM_HAVE_ZSTD
    case RM_CODEC_ZSTD: return ZSTD_compressBound(n);
#endif
    default: return 0;
    }
}

#if defined(RM_HAVE_LZ4) || defined(RM_HAVE_ZSTD)
static size_t worth(size_t got, size_t n) { return got > 0 && got <= n - n / 32 ? got : 0; }
#endif

size_t rm_compress(rm_codec c, void *dst, size_t cap, const void *src, size_t n)
{
    (void)dst, (void)src; /* unused when no codec is built in */
    if (n == 0 || cap < rm_codec_bound(c, n) || cap > INT_MAX)
        return 0;
    switch (c) {
#ifdef RM_HAVE_LZ4
    case RM_CODEC_LZ4: {
        int r = LZ4_compress_default(src, dst, (int)n, (int)cap);
        return worth(r > 0 ? (size_t)r : 0, n);
    }
#endif
#ifdef RM_HAVE_ZSTD
    case RM_CODEC_ZSTD: {
        size_t r = ZSTD_compress(dst, cap, src, n, ZSTD_LEVEL);
        return worth(ZSTD_isError(r) ? 0 : r, n);
    }
#endif
    default: return 0;
    }
}

rm_status rm_decompress(rm_codec c, void *dst, size_t n, const void *src, size_t len)
{
    (void)dst, (void)src; /* unused when no codec is built in */
    if (n > INT_MAX || len > INT_MAX)
        return RM_ERR_PROTO;
    switch (c) {
#ifdef RM_HAVE_LZ4
    case RM_CODEC_LZ4:
        return LZ4_decompress_safe(src, dst, (int)len, (int)n) == (int)n ? RM_OK : RM_ERR_PROTO;
#endif
#ifdef RM_HAVE_ZSTD
    case RM_CODEC_ZSTD: {
        size_t r = ZSTD_decompress(dst, n, src, len);
        return !ZSTD_isError(r) && r == n ? RM_OK : RM_ERR_PROTO;
    }
#endif
    default: return RM_ERR_PROTO;
    }
}
