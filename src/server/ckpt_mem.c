/* Device memory in a checkpoint (ckpt_mem.h). An ALLOCS record is 40
 * bytes: base, size, owner, buffer id (u64 each), device (u32), 0 (u32). */
#include "ckpt_mem.h"

#include "ckpt_pipe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD RM_CKPT_ALLOC_RECORD

typedef rm_ckpt_allocs_t infos_t;

static int collect(void *arg, const rm_mm_info_t *a)
{
    infos_t *s = arg;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        rm_mm_info_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = *a;
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

__attribute__((format(printf, 3, 4))) static rm_status fail(rm_ckpt_t *c, rm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return st;
}

#define U(x) ((unsigned long long)(x))

static rm_status save_allocs(rm_ckpt_t *c, const infos_t *s)
{
    uint8_t *r = calloc(s->n ? s->n : 1, RECORD);
    if (!r)
        return fail(c, RM_ERR_NOMEM, "no memory for %llu allocation records", U(s->n));
    for (size_t i = 0; i < s->n; i++) {
        uint8_t *p = r + i * RECORD;
        put64(p, s->v[i].base);
        put64(p + 8, s->v[i].size);
        put64(p + 16, s->v[i].owner);
        put64(p + 24, s->v[i].id);
        put64(p + 32, (uint32_t)s->v[i].dev);
    }
    rm_status st = rm_ckpt_put(c, RM_CKPT_ALLOCS, r, (uint64_t)s->n * RECORD);
    free(r);
    return st;
}

/* The staging buffers are page-locked where the backend can register host
 * memory: device memory then copies out at full speed. */
static int pin_host(void *arg, void *p, size_t n)
{
    const rm_backend_t *b = arg;
    return b->cuMemHostRegister_v2 && b->cuMemHostUnregister && b->cuMemHostRegister_v2(p, n, 0) == CUDA_SUCCESS
               ? 0
               : -1;
}

static void unpin_host(void *arg, void *p) { ((const rm_backend_t *)arg)->cuMemHostUnregister(p); }

/* Each piece is copied out on this thread while the pipe's workers
 * compress and sum the pieces before it. An allocation freed since it was
 * listed is skipped (migration's pre-copy: the program runs on; the next
 * allocation list says it is gone); *bytes, if given, grows by what was
 * copied. */
static rm_status save_contents(rm_ckpt_t *c, const infos_t *s, rm_mm_t *m, const rm_backend_t *b, uint64_t *bytes)
{
    uint64_t biggest = 0;
    for (size_t i = 0; i < s->n; i++)
        biggest = s->v[i].size > biggest ? s->v[i].size : biggest;
    if (!biggest)
        return RM_OK;
    uint64_t piece = biggest < RM_CKPT_PIECE ? biggest : RM_CKPT_PIECE;
    rm_ckpt_pin_t pin = {.pin = pin_host, .unpin = unpin_host, .arg = (void *)b};
    rm_ckpt_pipe_t *p;
    rm_status st = rm_ckpt_pipe_open(c, RM_CKPT_PIPE_LEAD + piece, &pin, &p);
    if (st != RM_OK)
        return st;
    char why[sizeof c->err] = "";
    for (size_t i = 0; i < s->n && st == RM_OK; i++)
        for (uint64_t off = 0; off < s->v[i].size && st == RM_OK; off += piece) {
            uint64_t n = s->v[i].size - off < piece ? s->v[i].size - off : piece;
            uint8_t *buf = rm_ckpt_pipe_get(p);
            if (!buf)
                break; /* a section before failed: close says why */
            put64(buf, s->v[i].base + off);
            CUresult r = rm_mm_read(m, &s->v[i], off, buf + RM_CKPT_PIPE_LEAD, n);
            if (r == CUDA_ERROR_NOT_FOUND)
                break; /* freed meanwhile: the buffer is handed out again */
            if (r != CUDA_SUCCESS) {
                st = fail(c, RM_ERR_IO, "cannot read device memory at %#llx (CUDA error %d)", U(s->v[i].base + off),
                          (int)r);
                memcpy(why, c->err, sizeof why);
            } else {
                rm_ckpt_pipe_put(p, RM_CKPT_MEMORY, RM_CKPT_PIPE_LEAD + n);
                if (bytes)
                    *bytes += n;
            }
        }
    rm_status closed = rm_ckpt_pipe_close(p);
    if (st != RM_OK)
        memcpy(c->err, why, sizeof why); /* the copy's failure, not what came after it */
    return st != RM_OK ? st : closed;
}

/* Every allocation, listed (refused if one is plain cuMemAlloc memory). */
static rm_status list_all(rm_ckpt_t *c, rm_mm_t *m, infos_t *s)
{
    *s = (infos_t){0};
    if (rm_mm_each(m, collect, s) != 0)
        return fail(c, RM_ERR_NOMEM, "no memory to list %llu allocations", U(s->n));
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i].vmm)
            return fail(c, RM_ERR_NOT_SUPPORTED,
                        "the allocation at %#llx (%llu bytes) is plain cuMemAlloc memory, which cannot be mapped "
                        "at its address again (remora-server --alloc plain, or no VMM on this device)",
                        U(s->v[i].base), U(s->v[i].size));
    return RM_OK;
}

rm_status rm_ckpt_mem_save(rm_ckpt_t *c, rm_mm_t *m, const rm_backend_t *b)
{
    infos_t s;
    rm_status st = list_all(c, m, &s);
    if (st == RM_OK)
        st = save_allocs(c, &s);
    if (st == RM_OK)
        st = save_contents(c, &s, m, b, NULL);
    free(s.v);
    return st;
}

rm_status rm_ckpt_mem_put_allocs(rm_ckpt_t *c, rm_mm_t *m, uint32_t *count)
{
    infos_t s;
    rm_status st = list_all(c, m, &s);
    if (st == RM_OK)
        st = save_allocs(c, &s);
    if (count)
        *count = (uint32_t)s.n;
    free(s.v);
    return st;
}

rm_status rm_ckpt_mem_take_dirty(rm_ckpt_t *c, rm_mm_t *m, rm_ckpt_allocs_t *dirty)
{
    *dirty = (infos_t){0};
    if (rm_mm_take_dirty(m, collect, dirty) != 0) {
        rm_mm_wrote_all(m); /* what was taken is dirty again */
        return fail(c, RM_ERR_NOMEM, "no memory to list the dirty allocations");
    }
    return RM_OK;
}

rm_status rm_ckpt_mem_put_contents(rm_ckpt_t *c, rm_mm_t *m, const rm_ckpt_allocs_t *l, uint64_t *bytes)
{
    return save_contents(c, l, m, m->b, bytes);
}

/* Whether a (listed) names b exactly: the same memory of the same owner. */
static int same(const rm_mm_info_t *a, const rm_mm_info_t *b)
{
    return a->base == b->base && a->size == b->size && a->owner == b->owner && a->id == b->id && a->dev == b->dev;
}

/* Why a could not be had at its address here, as precisely as is known. */
static rm_status place_failed(rm_ckpt_t *c, rm_mm_t *m, const rm_mm_info_t *a)
{
    uint64_t at = 0, n = 0;
    int held = rm_mm_arena_range(m, a->dev, &at, &n), inside = held && a->base >= at && a->base - at < n;
    char why[200];
    if (inside)
        snprintf(why, sizeof why, "something else in this server process holds that address of device %d's "
                 "arena", a->dev);
    else if (held)
        snprintf(why, sizeof why, "it lies outside device %d's address arena here (%#llx-%#llx, --va-base), and "
                 "something else holds that address", a->dev, U(at), U(at + n));
    else
        snprintf(why, sizeof why, "no address arena for device %d in this server process (--va-base off, or its "
                 "range taken: see the server's log), and something else holds that address", a->dev);
    return fail(c, RM_ERR_INVAL, "cannot map the allocation at %#llx (%llu bytes) at its address here: %s",
                U(a->base), U(a->size), why);
}

/* The allocation list is the session's as it is now: a migration stream
 * sends it every pre-copy round, so allocations not in it are freed and
 * those not yet here are mapped (a checkpoint file's one list maps them
 * all into an empty manager). */
static rm_status load_allocs(rm_ckpt_t *c, rm_mm_t *m, const uint8_t *p, uint64_t len)
{
    if (len % RECORD)
        return fail(c, RM_ERR_PROTO, "the allocation section has %llu bytes, not a multiple of %d", U(len), RECORD);
    uint64_t n = len / RECORD;
    rm_mm_info_t *want = calloc(n ? n : 1, sizeof *want);
    infos_t have = {0};
    rm_status st = RM_OK;
    if (!want || rm_mm_each(m, collect, &have) != 0)
        st = fail(c, RM_ERR_NOMEM, "no memory for %llu allocation records", U(n));
    for (uint64_t i = 0; i < n && st == RM_OK; i++, p += RECORD) {
        uint64_t dev = get64(p + 32);
        want[i] = (rm_mm_info_t){.base = get64(p), .size = get64(p + 8), .owner = get64(p + 16), .id = get64(p + 24),
                                 .dev = (int32_t)dev, .vmm = 1};
        if (dev >= RM_MM_DEVICES)
            st = fail(c, RM_ERR_PROTO, "allocation %llu names device %llu", U(i), U(dev));
    }
    for (size_t i = 0; i < have.n && st == RM_OK; i++) {
        int kept = 0;
        for (uint64_t k = 0; k < n && !kept; k++)
            kept = same(&have.v[i], &want[k]);
        if (!kept)
            rm_mm_free(m, have.v[i].base);
    }
    for (uint64_t k = 0; k < n && st == RM_OK; k++) {
        int there = 0;
        for (size_t i = 0; i < have.n && !there; i++)
            there = same(&have.v[i], &want[k]);
        if (!there && rm_mm_place(m, &want[k]) != CUDA_SUCCESS)
            st = place_failed(c, m, &want[k]);
    }
    free(want);
    free(have.v);
    return st;
}

static rm_status load_contents(rm_ckpt_t *c, rm_mm_t *m, const rm_backend_t *b, const uint8_t *p, uint64_t len)
{
    if (len < 8)
        return fail(c, RM_ERR_PROTO, "a memory section of %llu bytes", U(len));
    uint64_t at = get64(p), n = len - 8;
    rm_mm_info_t a;
    if (rm_mm_find(m, at, &a) != 0 || n > a.size - (at - a.base))
        return fail(c, RM_ERR_PROTO, "memory at %#llx (%llu bytes) lies outside the checkpoint's allocations", U(at), U(n));
    CUresult r = b->cuMemcpyHtoD_v2(at, p + 8, n);
    return r == CUDA_SUCCESS ? RM_OK
                             : fail(c, RM_ERR_IO, "cannot write device memory at %#llx (CUDA error %d)", U(at), (int)r);
}

rm_status rm_ckpt_mem_load(rm_ckpt_t *c, rm_mm_t *m, const rm_backend_t *b, rm_ckpt_section type,
                           const void *data, uint64_t len)
{
    switch (type) {
    case RM_CKPT_ALLOCS: return load_allocs(c, m, data, len);
    case RM_CKPT_MEMORY: return load_contents(c, m, b, data, len);
    default: return RM_OK;
    }
}
