/* Compressed copies over TCP and TLS: REMORA_COMPRESS=lz4|zstd (off by
 * default; also [client] compress). Each chunk (up to RM_CHUNK bytes) of a
 * pageable copy of at least RM_ZCOPY_MIN bytes is compressed on the sending
 * side and goes compressed when that saves at least 1/32 of it, else as it
 * is; each compressed chunk is a call waited for (so its errors come back),
 * and the parts of a striped copy are compressed in parallel, one per
 * connection. A codec the client library or the server was built without
 * turns compression off with one warning. */
#ifndef RM_ZCOPY_H
#define RM_ZCOPY_H

#include <cuda.h>
#include <stdint.h>

#include "chan.h"
#include "compress.h"

#define RM_ZCOPY_MIN ((size_t)64 << 10)

/* The codec for copies of n bytes over ch; RM_CODEC_NONE: copy as usual.
 * Asks the server for its codecs once. */
rm_codec rm_zcopy_codec(rm_chan_t *ch, size_t n);
/* The whole copy, chunk by chunk, over ch (async: the CUDA call's kind). */
CUresult rm_zcopy_htod(rm_chan_t *ch, rm_codec c, CUdeviceptr dst, const uint8_t *src, size_t n, uint64_t stream,
                       int async);
CUresult rm_zcopy_dtoh(rm_chan_t *ch, rm_codec c, uint8_t *dst, CUdeviceptr src, size_t n, uint64_t stream,
                       int async);

#endif
