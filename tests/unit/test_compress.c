/* The copy codecs (src/common/compress.c): every codec built in round-trips
 * compressible data of odd sizes; incompressible data (and data too small
 * to gain) is declined, so the chunk goes as it is; a wrong size, a cut or
 * corrupted input is refused, never written past n; names parse. A codec
 * not built in is declined everywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compress.h"

/* Text-like bytes: a few words repeated with a counter, like logs or
 * sparse tensors compress. */
static void fill_compressible(uint8_t *p, size_t n)
{
    static const char words[] = "remora copies bytes to the device ";
    for (size_t i = 0; i < n; i++)
        p[i] = i % 4096 < 16 ? (uint8_t)(i / 4096) : (uint8_t)words[i % (sizeof words - 1)];
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        p[i] = (uint8_t)seed;
    }
}

static void round_trip(rm_codec c, size_t n)
{
    size_t cap = rm_codec_bound(c, n);
    uint8_t *src = malloc(n + 1), *z = malloc(cap), *back = malloc(n + 1);
    CHECK(src && z && back);
    fill_compressible(src, n);
    size_t len = rm_compress(c, z, cap, src, n);
    CHECK(len > 0 && len < n);
    back[n] = 0x77; /* a guard past the end */
    CHECK(rm_decompress(c, back, n, z, len) == RM_OK);
    CHECK(memcmp(back, src, n) == 0 && back[n] == 0x77);
    /* bad input: refused */
    CHECK(rm_decompress(c, back, n - 1, z, len) == RM_ERR_PROTO); /* too small a destination */
    CHECK(rm_decompress(c, back, n, z, len / 2) == RM_ERR_PROTO); /* cut */
    memset(z, 0xff, len < 64 ? len : 64);
    CHECK(rm_decompress(c, back, n, z, len) == RM_ERR_PROTO); /* corrupted */
    CHECK(back[n] == 0x77);
    /* incompressible: declined (also too small a buffer) */
    fill_random(src, n, n);
    CHECK(rm_compress(c, z, cap, src, n) == 0);
    CHECK(rm_compress(c, z, cap / 2, src, n) == 0);
    free(src);
    free(z);
    free(back);
}

int main(void)
{
    rm_codec c;
    CHECK(rm_codec_parse("lz4", &c) == RM_OK && c == RM_CODEC_LZ4);
    CHECK(rm_codec_parse("zstd", &c) == RM_OK && c == RM_CODEC_ZSTD);
    CHECK(rm_codec_parse("off", &c) == RM_OK && c == RM_CODEC_NONE);
    CHECK(rm_codec_parse("", &c) == RM_OK && c == RM_CODEC_NONE);
    CHECK(rm_codec_parse("gzip", &c) == RM_ERR_INVAL && rm_codec_parse("LZ4", &c) == RM_ERR_INVAL);
    CHECK(strcmp(rm_codec_name(RM_CODEC_ZSTD), "zstd") == 0);
    CHECK(rm_codecs_built() & 1u);
    uint8_t tiny[8] = {0};
    CHECK(rm_compress(RM_CODEC_NONE, tiny, sizeof tiny, tiny, sizeof tiny) == 0);
    CHECK(rm_decompress(RM_CODEC_NONE, tiny, 4, tiny, 4) == RM_ERR_PROTO);
    static const size_t sizes[] = {4096, 65537, (1 << 20) + 3, (8 << 20) - 1};
    int tested = 0;
    for (int k = RM_CODEC_LZ4; k < RM_CODEC_COUNT; k++) {
        if (!(rm_codecs_built() & (1u << k))) {
            printf("# %s: not built in\n", rm_codec_name((rm_codec)k));
            CHECK(rm_codec_bound((rm_codec)k, 100) == 0 && rm_compress((rm_codec)k, tiny, 8, tiny, 8) == 0);
            continue;
        }
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            round_trip((rm_codec)k, sizes[i]);
        tested++;
    }
    printf("PASS compress (%d codecs built in)\n", tested);
    return 0;
}
