/* Compressed copies (see zcopy.h). A thread's compression buffer is kept
 * for its next chunks and freed when the thread ends. */
#include "zcopy.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "remora/protocol.h"

static rm_codec wanted;     /* REMORA_COMPRESS, once checked */
static int server_has[RM_MAX_SERVERS]; /* 0: not asked yet, 1: yes, -1: no (atomic) */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static pthread_key_t buf_key;

typedef struct {
    size_t cap;
    uint8_t data[];
} zbuf_t;

static void load_env(void)
{
    pthread_key_create(&buf_key, free);
    const char *s = getenv("REMORA_COMPRESS");
    rm_codec c = RM_CODEC_NONE;
    if (rm_codec_parse(s, &c) != RM_OK)
        RM_WARN("REMORA_COMPRESS=%s: want lz4, zstd or off; copies are not compressed", s);
    else if (c != RM_CODEC_NONE && !(rm_codecs_built() & (1u << c)))
        RM_WARN("REMORA_COMPRESS=%s: this libcuda.so.1 was built without %s; copies are not compressed", s, s);
    else
        wanted = c;
}

/* Does ch's server have the codec? Asked once per server. */
static int server_codec(rm_chan_t *ch)
{
    int known = __atomic_load_n(&server_has[ch->srv], __ATOMIC_ACQUIRE);
    if (known)
        return known > 0;
    rm_compress_codecs_req_t in = {0};
    rm_compress_codecs_rep_t out = {0};
    rm_rbuf_t rb;
    rm_enc_compress_codecs_req(rm_chan_begin(ch, RM_OP_COMPRESS_CODECS), &in);
    CUresult r = rm_chan_call(ch, &rb);
    if (r == CUDA_SUCCESS && rm_dec_compress_codecs_rep(&rb, &out) != RM_OK)
        r = rm_chan_bad_reply(ch, "compress_codecs");
    if (r != CUDA_SUCCESS)
        return 0; /* asked again next time (a lost channel reports itself) */
    int has = (out.mask & (1u << wanted)) ? 1 : -1;
    if (has < 0)
        RM_WARN("REMORA_COMPRESS=%s: the server was built without it (or is older); copies are not compressed",
                rm_codec_name(wanted));
    __atomic_store_n(&server_has[ch->srv], has, __ATOMIC_RELEASE);
    return has > 0;
}

rm_codec rm_zcopy_codec(rm_chan_t *ch, size_t n)
{
    pthread_once(&env_once, load_env);
    if (wanted == RM_CODEC_NONE || n < RM_ZCOPY_MIN || ch->scheme == RM_SCHEME_SHM || !server_codec(ch))
        return RM_CODEC_NONE;
    return wanted;
}

/* This thread's buffer for compressing n bytes with c; NULL: none. */
static uint8_t *zbuf(rm_codec c, size_t n, size_t *cap)
{
    size_t want = rm_codec_bound(c, n);
    zbuf_t *b = pthread_getspecific(buf_key);
    if (!want)
        return NULL;
    if (!b || b->cap < want) {
        zbuf_t *nb = malloc(sizeof *nb + want);
        if (!nb)
            return NULL;
        free(b);
        nb->cap = want;
        pthread_setspecific(buf_key, nb);
        b = nb;
    }
    *cap = b->cap;
    return b->data;
}

CUresult rm_zcopy_htod(rm_chan_t *ch, rm_codec c, CUdeviceptr dst, const uint8_t *src, size_t n, uint64_t stream,
                       int async)
{
    uint32_t mode = async ? 1 : 0;
    for (size_t off = 0; off < n; off += RM_CHUNK) {
        size_t len = n - off < RM_CHUNK ? n - off : RM_CHUNK, cap = 0, z = 0;
        uint8_t *buf = len >= RM_ZCOPY_MIN ? zbuf(c, len, &cap) : NULL;
        if (buf)
            z = rm_compress(c, buf, cap, src + off, len);
        rm_rbuf_t rb;
        CUresult r;
        if (z) { /* a call: its result is the chunk's */
            rm_memcpy_htod_z_req_t in = {dst + off, c, (uint32_t)len, buf, (uint32_t)z, stream, mode};
            rm_enc_memcpy_htod_z_req(rm_chan_begin(ch, RM_OP_MEMCPY_HTOD_Z), &in);
            r = rm_chan_call(ch, &rb);
        } else if (off + len == n && !async) { /* the last chunk of a synchronous copy waits */
            rm_memcpy_htod_req_t in = {dst + off, src + off, (uint32_t)len, stream, mode};
            rm_enc_memcpy_htod_req(rm_chan_begin(ch, RM_OP_MEMCPY_HTOD), &in);
            r = rm_chan_call(ch, &rb);
        } else {
            rm_memcpy_htod_async_req_t in = {dst + off, src + off, (uint32_t)len, stream, mode};
            rm_enc_memcpy_htod_async_req(rm_chan_begin(ch, RM_OP_MEMCPY_HTOD_ASYNC), &in);
            r = rm_chan_send_async(ch, 0);
        }
        if (r != CUDA_SUCCESS)
            return r;
    }
    return CUDA_SUCCESS;
}

CUresult rm_zcopy_dtoh(rm_chan_t *ch, rm_codec c, uint8_t *dst, CUdeviceptr src, size_t n, uint64_t stream,
                       int async)
{
    for (size_t off = 0; off < n; off += RM_CHUNK) {
        size_t len = n - off < RM_CHUNK ? n - off : RM_CHUNK;
        rm_memcpy_dtoh_z_req_t in = {src + off, len, c, stream, async ? 1u : 0u};
        rm_memcpy_dtoh_z_rep_t out;
        rm_rbuf_t rb;
        rm_enc_memcpy_dtoh_z_req(rm_chan_begin(ch, RM_OP_MEMCPY_DTOH_Z), &in);
        CUresult r = rm_chan_call(ch, &rb);
        if (r != CUDA_SUCCESS)
            return r;
        int ok = rm_dec_memcpy_dtoh_z_rep(&rb, &out) == RM_OK;
        if (ok && out.codec == RM_CODEC_NONE && out.data_len == len)
            memcpy(dst + off, out.data, len);
        else if (!ok || out.codec != c || rm_decompress(c, dst + off, len, out.data, out.data_len) != RM_OK)
            return rm_chan_bad_reply(ch, "memcpy_dtoh_z");
    }
    return CUDA_SUCCESS;
}
