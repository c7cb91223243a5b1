/* Handlers: compressed copies over a socket (see compress.h and the spec).
 * Data is decompressed into the channel's bulk or scratch buffer and then
 * takes the ordinary copy handlers' paths; device-to-host chunks of at
 * least RM_SV_BULK_MIN bytes are compressed from the bulk buffer into the
 * scratch buffer, and go back as they are when that does not shrink them. */
#include "compress.h"
#include "log.h"
#include "remora/protocol.h"
#include "rm_handlers.h"

CUresult rm_sv_compress_codecs(rm_sv_t *sv, const rm_compress_codecs_req_t *in, rm_compress_codecs_rep_t *out)
{
    (void)sv, (void)in;
    out->mask = rm_codecs_built();
    return CUDA_SUCCESS;
}

static int have_codec(uint32_t codec)
{
    return codec != RM_CODEC_NONE && codec < RM_CODEC_COUNT && (rm_codecs_built() & (1u << codec));
}

CUresult rm_sv_memcpy_htod_z(rm_sv_t *sv, const rm_memcpy_htod_z_req_t *in, rm_memcpy_htod_z_rep_t *out)
{
    (void)out;
    if (!have_codec(in->codec) || in->raw_len > RM_CHUNK)
        return in->raw_len > RM_CHUNK ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_NOT_SUPPORTED;
    CUresult r = rm_sv_check_range(sv, in->dst, in->raw_len, "memcpy destination");
    if (r == CUDA_SUCCESS && in->mode == 1)
        r = rm_sv_refuse_capture(sv, in->stream, "an asynchronous copy from host memory");
    if (r != CUDA_SUCCESS)
        return r;
    void *raw = rm_sv_bulk(sv, in->raw_len);
    if (!raw && !(raw = rm_sv_scratch(sv, in->raw_len ? in->raw_len : 1)))
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (rm_decompress((rm_codec)in->codec, raw, in->raw_len, in->data, in->data_len) != RM_OK) {
        RM_WARN_LIMITED("session %llu: compressed copy data (%s, %u bytes) does not decode to %u bytes",
                        (unsigned long long)sv->s->id, rm_codec_name((rm_codec)in->codec), in->data_len,
                        in->raw_len);
        return CUDA_ERROR_INVALID_VALUE;
    }
    rm_memcpy_htod_req_t plain = {in->dst, raw, in->raw_len, in->stream, in->mode};
    return rm_sv_memcpy_htod(sv, &plain, NULL);
}

CUresult rm_sv_memcpy_dtoh_z(rm_sv_t *sv, const rm_memcpy_dtoh_z_req_t *in, rm_memcpy_dtoh_z_rep_t *out)
{
    rm_memcpy_dtoh_req_t plain = {in->src, in->bytes, in->stream, in->mode};
    rm_memcpy_dtoh_rep_t raw;
    CUresult r = rm_sv_memcpy_dtoh(sv, &plain, &raw);
    if (r != CUDA_SUCCESS)
        return r;
    out->codec = RM_CODEC_NONE;
    out->data = raw.data;
    out->data_len = raw.data_len;
    size_t cap = have_codec(in->want) ? rm_codec_bound((rm_codec)in->want, raw.data_len) : 0;
    void *z = cap && rm_sv_bulk_holds(sv, raw.data) ? rm_sv_scratch(sv, cap) : NULL;
    size_t len = z ? rm_compress((rm_codec)in->want, z, cap, raw.data, raw.data_len) : 0;
    if (len) {
        out->codec = in->want;
        out->data = z;
        out->data_len = (uint32_t)len;
    }
    return CUDA_SUCCESS;
}
