/* Growable writer and bounded reader (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

void rm_wbuf_init(rm_wbuf_t *w) { memset(w, 0, sizeof *w); }

void rm_wbuf_free(rm_wbuf_t *w)
{
    free(w->data);
    rm_wbuf_init(w);
}

void rm_wbuf_reset(rm_wbuf_t *w)
{
    w->len = 0;
    w->oom = 0;
    w->nrefs = 0;
    w->ref_bytes = 0;
}

int rm_wbuf_reserve(rm_wbuf_t *w, size_t extra)
{
    if (w->oom)
        return -1;
    if (extra > SIZE_MAX - w->len) {
        w->oom = 1;
        return -1;
    }
    size_t need = w->len + extra;
    if (need <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(w->data, cap);
    if (!d) {
        w->oom = 1;
        return -1;
    }
    w->data = d;
    w->cap = cap;
    return 0;
}

void *rm_wbuf_grow(rm_wbuf_t *w, size_t n)
{
    if (rm_wbuf_reserve(w, n) != 0)
        return NULL;
    void *p = w->data + w->len;
    w->len += n;
    return p;
}

void rm_wbuf_put(rm_wbuf_t *w, const void *p, size_t n)
{
    void *dst = rm_wbuf_grow(w, n);
    if (dst && n)
        memcpy(dst, p, n);
}

void rm_wbuf_bytes(rm_wbuf_t *w, const void *p, uint32_t n)
{
    rm_wbuf_u32(w, n);
    rm_wbuf_put(w, p, n);
}

int rm_rbuf_get(rm_rbuf_t *r, void *out, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = 1;
        memset(out, 0, n);
        return -1;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

uint32_t rm_rbuf_u32(rm_rbuf_t *r)
{
    uint32_t v;
    rm_rbuf_get(r, &v, 4);
    return v;
}

uint64_t rm_rbuf_u64(rm_rbuf_t *r)
{
    uint64_t v;
    rm_rbuf_get(r, &v, 8);
    return v;
}

const void *rm_rbuf_bytes(rm_rbuf_t *r, uint32_t *len)
{
    uint32_t n = rm_rbuf_u32(r);
    if (r->bad || n > r->left) {
        r->bad = 1;
        *len = 0;
        return NULL;
    }
    const void *p = r->p;
    r->p += n;
    r->left -= n;
    *len = n;
    return p;
}

rm_status rm_rbuf_finish(const rm_rbuf_t *r)
{
    return (r->bad || r->left) ? RM_ERR_PROTO : RM_OK;
}

void rm_wbuf_bytes_ref(rm_wbuf_t *w, const void *p, uint32_t n)
{
    if (n < RM_WBUF_REF_MIN || w->nrefs == RM_WBUF_MAX_REFS) {
        rm_wbuf_bytes(w, p, n);
        return;
    }
    rm_wbuf_u32(w, n);
    w->refs[w->nrefs++] = (rm_wbuf_ref_t){w->len, p, n};
    w->ref_bytes += n;
}

int rm_wbuf_iov(const rm_wbuf_t *w, struct iovec *iov)
{
    int k = 0;
    size_t pos = 0;
    for (int i = 0; i < w->nrefs; i++) {
        if (w->refs[i].at > pos)
            iov[k++] = (struct iovec){w->data + pos, w->refs[i].at - pos};
        iov[k++] = (struct iovec){(void *)w->refs[i].p, w->refs[i].n};
        pos = w->refs[i].at;
    }
    if (w->len > pos)
        iov[k++] = (struct iovec){w->data + pos, w->len - pos};
    return k;
}
