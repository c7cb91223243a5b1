/* Compression of bulk copy data (REMORA_COMPRESS=lz4|zstd): LZ4 and zstd,
 * each built in where its library was found (RM_HAVE_LZ4, RM_HAVE_ZSTD).
 * The codec numbers travel on the wire. */
#ifndef RM_COMPRESS_H
#define RM_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "remora/status.h"

typedef enum { RM_CODEC_NONE = 0, RM_CODEC_LZ4 = 1, RM_CODEC_ZSTD = 2, RM_CODEC_COUNT } rm_codec;

/* "lz4", "zstd", or "off"/"none"/"" (RM_CODEC_NONE); RM_ERR_INVAL otherwise. */
rm_status rm_codec_parse(const char *s, rm_codec *out);
const char *rm_codec_name(rm_codec c);
/* The codecs built in, as a mask of 1 << codec (RM_CODEC_NONE's bit always). */
uint32_t rm_codecs_built(void);
/* Room compressing n bytes may need (0: codec not built in). */
size_t rm_codec_bound(rm_codec c, size_t n);
/* Compresses n bytes of src into dst (cap bytes): the compressed size, or 0
 * when that would not save at least 1/32 of n (the chunk then goes as it
 * is), or on any failure. */
size_t rm_compress(rm_codec c, void *dst, size_t cap, const void *src, size_t n);
/* Decompresses len bytes of src into exactly n bytes at dst; RM_ERR_PROTO
 * (not logged) if they are not a valid encoding of n bytes. */
rm_status rm_decompress(rm_codec c, void *dst, size_t n, const void *src, size_t len);

#endif
