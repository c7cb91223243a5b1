/* Byte buffers for encoding (growable writer) and decoding (bounded reader).
 * The reader never trusts its input: every get checks the remaining length
 * and a failed get poisons the reader so callers can check once at the end. */
#ifndef RM_BUF_H
#define RM_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "remora/status.h"

/* Large blobs can be referenced instead of copied: the bytes stay in the
 * caller's memory and are sent in place (writev) when the buffer is sent,
 * so the caller keeps them alive until then. */
#define RM_WBUF_MAX_REFS 8
#define RM_WBUF_REF_MIN (64u << 10) /* smaller blobs are copied */

typedef struct {
    size_t at; /* position in data where the referenced bytes belong */
    const void *p;
    size_t n;
} rm_wbuf_ref_t;

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    int oom; /* sticky: an append failed */
    int nrefs;
    size_t ref_bytes; /* sum of refs[].n */
    rm_wbuf_ref_t refs[RM_WBUF_MAX_REFS];
} rm_wbuf_t;

void rm_wbuf_init(rm_wbuf_t *w);
void rm_wbuf_free(rm_wbuf_t *w);
void rm_wbuf_reset(rm_wbuf_t *w);
int rm_wbuf_reserve(rm_wbuf_t *w, size_t extra);
void rm_wbuf_put(rm_wbuf_t *w, const void *p, size_t n);
/* Reserve n bytes at the end and return a pointer to fill them (NULL on oom). */
void *rm_wbuf_grow(rm_wbuf_t *w, size_t n);
static inline void rm_wbuf_u32(rm_wbuf_t *w, uint32_t v) { rm_wbuf_put(w, &v, 4); }
static inline void rm_wbuf_u64(rm_wbuf_t *w, uint64_t v) { rm_wbuf_put(w, &v, 8); }
/* A length-prefixed (u32) blob, copied. */
void rm_wbuf_bytes(rm_wbuf_t *w, const void *p, uint32_t n);
/* A length-prefixed blob, referenced in place when large (see above). */
void rm_wbuf_bytes_ref(rm_wbuf_t *w, const void *p, uint32_t n);
/* Bytes the buffer stands for: its own plus referenced ones. */
static inline size_t rm_wbuf_total(const rm_wbuf_t *w) { return w->len + w->ref_bytes; }
/* Fill iov with the buffer's bytes in order, referenced ones in place.
 * Returns the number of iovecs (at most 2 * RM_WBUF_MAX_REFS + 1). */
struct iovec;
int rm_wbuf_iov(const rm_wbuf_t *w, struct iovec *iov);

typedef struct {
    const uint8_t *p;
    size_t left;
    int bad; /* sticky: a get ran past the end */
} rm_rbuf_t;

static inline void rm_rbuf_init(rm_rbuf_t *r, const void *p, size_t n)
{
    r->p = (const uint8_t *)p;
    r->left = n;
    r->bad = 0;
}
int rm_rbuf_get(rm_rbuf_t *r, void *out, size_t n);
uint32_t rm_rbuf_u32(rm_rbuf_t *r);
uint64_t rm_rbuf_u64(rm_rbuf_t *r);
/* A length-prefixed blob: returns a pointer into the buffer (no copy). */
const void *rm_rbuf_bytes(rm_rbuf_t *r, uint32_t *len);
/* RM_OK when nothing ran past the end and every byte was consumed. */
rm_status rm_rbuf_finish(const rm_rbuf_t *r);

#endif
