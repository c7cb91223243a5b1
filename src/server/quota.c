/* Device-memory limits of one session (quota.h). */
#include "quota.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

void rm_quota_init(rm_quota_t *q, uint64_t session, uint64_t operator_limit)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    q->session = session;
    q->operator_limit = operator_limit;
    for (int d = 0; d < RM_QUOTA_DEVICES; d++)
        q->limit[d] = operator_limit;
}

void rm_quota_destroy(rm_quota_t *q)
{
    free(q->v);
    pthread_mutex_destroy(&q->lock);
}

static int valid_dev(int dev) { return dev >= 0 && dev < RM_QUOTA_DEVICES; }

/* GPU dev's limit and use where remora-server's metrics read them (q->lock held). */
static void publish(rm_quota_t *q, int dev)
{
    if (dev < q->npub) {
        __atomic_store_n(&q->pub_used[dev], q->used[dev], __ATOMIC_RELAXED);
        __atomic_store_n(&q->pub_limit[dev], q->limit[dev], __ATOMIC_RELAXED);
    }
}

void rm_quota_publish(rm_quota_t *q, uint64_t *used, uint64_t *limit, int n)
{
    pthread_mutex_lock(&q->lock);
    q->pub_used = used;
    q->pub_limit = limit;
    q->npub = n < RM_QUOTA_DEVICES ? n : RM_QUOTA_DEVICES;
    pthread_mutex_unlock(&q->lock);
}

uint64_t rm_quota_request(rm_quota_t *q, int dev, uint64_t want)
{
    if (!valid_dev(dev))
        return 0;
    pthread_mutex_lock(&q->lock);
    uint64_t l = q->operator_limit;
    if (want && (!l || want < l))
        l = want;
    q->limit[dev] = l;
    publish(q, dev);
    pthread_mutex_unlock(&q->lock);
    return l;
}

uint64_t rm_quota_limit(rm_quota_t *q, int dev)
{
    if (!valid_dev(dev))
        return 0;
    pthread_mutex_lock(&q->lock);
    uint64_t l = q->limit[dev];
    pthread_mutex_unlock(&q->lock);
    return l;
}

uint64_t rm_quota_used(rm_quota_t *q, int dev)
{
    if (!valid_dev(dev))
        return 0;
    pthread_mutex_lock(&q->lock);
    uint64_t u = q->used[dev];
    pthread_mutex_unlock(&q->lock);
    return u;
}

uint64_t rm_quota_max_limit(rm_quota_t *q, int ndev)
{
    uint64_t m = 0;
    pthread_mutex_lock(&q->lock);
    for (int d = 0; d < ndev && d < RM_QUOTA_DEVICES; d++) {
        if (!q->limit[d]) {
            m = 0; /* unlimited on one of them */
            break;
        }
        if (q->limit[d] > m)
            m = q->limit[d];
    }
    pthread_mutex_unlock(&q->lock);
    return m;
}

CUresult rm_quota_take(rm_quota_t *q, int dev, uint64_t bytes, const char *what, int *taken)
{
    *taken = 0;
    if (!valid_dev(dev))
        return CUDA_SUCCESS; /* the driver refuses such a device itself */
    pthread_mutex_lock(&q->lock);
    uint64_t l = q->limit[dev], u = q->used[dev];
    int fits = !l || (u <= l && bytes <= l - u);
    if (l && fits) {
        q->used[dev] = u + bytes;
        *taken = 1;
        publish(q, dev);
    }
    pthread_mutex_unlock(&q->lock);
    if (fits)
        return CUDA_SUCCESS;
    RM_WARN_LIMITED("session %llu: %s of %llu bytes on GPU %d refused: the session holds %llu of its %llu-byte "
                    "limit (remora-server --mem-limit, or the client's request)",
                    (unsigned long long)q->session, what, (unsigned long long)bytes, dev, (unsigned long long)u,
                    (unsigned long long)l);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

void rm_quota_give(rm_quota_t *q, int dev, uint64_t bytes)
{
    if (!valid_dev(dev))
        return;
    pthread_mutex_lock(&q->lock);
    q->used[dev] = q->used[dev] >= bytes ? q->used[dev] - bytes : 0;
    publish(q, dev);
    pthread_mutex_unlock(&q->lock);
}

/* Index of the first charge whose key is not below key (q->lock held). */
static size_t lower(const rm_quota_t *q, uint64_t key)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->v[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Drops charge i and gives its bytes back (q->lock held). */
static void drop(rm_quota_t *q, size_t i)
{
    rm_charge_t c = q->v[i];
    q->used[c.dev] = q->used[c.dev] >= c.bytes ? q->used[c.dev] - c.bytes : 0;
    publish(q, c.dev);
    memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof c);
    q->n--;
}

int rm_quota_keep(rm_quota_t *q, int dev, uint64_t key, uint64_t owner, uint64_t bytes)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    size_t i = lower(q, key);
    if (i < q->n && q->v[i].key == key)
        drop(q, i); /* the driver reused the address of a charge we missed the end of */
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        rm_charge_t *v = realloc(q->v, cap * sizeof *v);
        if (v) {
            q->v = v;
            q->cap = cap;
        } else {
            rc = -1;
        }
    }
    if (rc == 0) {
        memmove(&q->v[i + 1], &q->v[i], (q->n - i) * sizeof *q->v);
        q->v[i] = (rm_charge_t){.key = key, .owner = owner, .bytes = bytes, .dev = dev};
        q->n++;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

void rm_quota_release(rm_quota_t *q, uint64_t key)
{
    pthread_mutex_lock(&q->lock);
    size_t i = lower(q, key);
    if (i < q->n && q->v[i].key == key)
        drop(q, i);
    pthread_mutex_unlock(&q->lock);
}

void rm_quota_release_owner(rm_quota_t *q, uint64_t owner)
{
    if (!owner)
        return; /* handle charges have none */
    pthread_mutex_lock(&q->lock);
    for (size_t i = q->n; i-- > 0;)
        if (q->v[i].owner == owner)
            drop(q, i);
    pthread_mutex_unlock(&q->lock);
}
