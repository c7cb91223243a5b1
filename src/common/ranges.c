/* Sorted range table with binary search (see ranges.h). */
#include "ranges.h"

#include <stdlib.h>
#include <string.h>

void rm_ranges_init(rm_ranges_t *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
}

void rm_ranges_destroy(rm_ranges_t *r)
{
    free(r->v);
    pthread_mutex_destroy(&r->lock);
}

/* Index of the last range with base <= p, or -1. */
static long floor_index(const rm_ranges_t *r, uint64_t p)
{
    long lo = 0, hi = (long)r->n - 1, ans = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (r->v[mid].base <= p) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

/* With the lock held. */
static void set_bytes(rm_ranges_t *r, uint64_t bytes) { __atomic_store_n(&r->bytes, bytes, __ATOMIC_RELAXED); }

int rm_ranges_add(rm_ranges_t *r, uint64_t base, uint64_t size, uintptr_t tag)
{
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    long i = floor_index(r, base);
    if (i >= 0 && r->v[i].base == base) {
        set_bytes(r, r->bytes - r->v[i].size + size);
        r->v[i].size = size;
        r->v[i].tag = tag;
        goto out;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        rm_range_t *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            rc = -1;
            goto out;
        }
        r->v = v;
        r->cap = cap;
    }
    memmove(&r->v[i + 2], &r->v[i + 1], (r->n - (size_t)(i + 1)) * sizeof *r->v);
    r->v[i + 1] = (rm_range_t){base, size, tag};
    r->n++;
    set_bytes(r, r->bytes + size);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int rm_ranges_del(rm_ranges_t *r, uint64_t base, uint64_t *size)
{
    int rc = -1;
    pthread_mutex_lock(&r->lock);
    long i = floor_index(r, base);
    if (i >= 0 && r->v[i].base == base) {
        if (size)
            *size = r->v[i].size;
        set_bytes(r, r->bytes - r->v[i].size);
        memmove(&r->v[i], &r->v[i + 1], (r->n - (size_t)i - 1) * sizeof *r->v);
        r->n--;
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int rm_ranges_contains(rm_ranges_t *r, uint64_t p, uint64_t n)
{
    int ok = 0;
    pthread_mutex_lock(&r->lock);
    long i = floor_index(r, p);
    if (i >= 0) {
        const rm_range_t *g = &r->v[i];
        uint64_t off = p - g->base;
        ok = off <= g->size && n <= g->size - off;
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

int rm_ranges_find(rm_ranges_t *r, uint64_t p, rm_range_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&r->lock);
    long i = floor_index(r, p);
    if (i >= 0 && p - r->v[i].base < r->v[i].size) {
        *out = r->v[i];
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int rm_ranges_overlap(rm_ranges_t *r, uint64_t p, uint64_t n, rm_range_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&r->lock);
    /* the range at or before p, else the first one after it */
    long i = floor_index(r, p);
    if (i < 0 || p - r->v[i].base >= r->v[i].size)
        i++;
    if (n && (size_t)i < r->n && r->v[i].base < p + n && p < r->v[i].base + r->v[i].size) {
        *out = r->v[i];
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void rm_ranges_del_tag(rm_ranges_t *r, uintptr_t tag)
{
    pthread_mutex_lock(&r->lock);
    size_t k = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].tag != tag) {
            bytes += r->v[i].size;
            r->v[k++] = r->v[i];
        }
    r->n = k;
    set_bytes(r, bytes);
    pthread_mutex_unlock(&r->lock);
}
