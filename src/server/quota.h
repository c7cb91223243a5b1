/* Device-memory limits of one session (remora-server --mem-limit, lowered
 * by the client at cuInit): per GPU, the bytes the session may hold and the
 * bytes it holds, made of charges. Each charge sits under a key, the
 * allocation's device address or RM_QUOTA_HANDLE(id) of the session handle
 * that holds the memory (a VMM allocation, an array, a mipmap), and an owner
 * (the context or graph whose end frees an address charge; 0 for handle
 * charges, which go with their handle). Nothing is charged on a GPU without
 * a limit, so a server without limits does no bookkeeping at all.
 *
 * An allocation takes its bytes first (refused past the limit, before the
 * driver is asked), then keeps them under its key once it exists, or gives
 * them back if the driver failed. */
#ifndef RM_QUOTA_H
#define RM_QUOTA_H

#include <cuda.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define RM_QUOTA_DEVICES 64
/* The key of a charge held by a handle: ids are below 2^47 (handles.c),
 * addresses below 2^57, so the two never meet. */
#define RM_QUOTA_HANDLE(id) ((id) | (1ull << 63))

typedef struct {
    uint64_t key, owner, bytes;
    int32_t dev;
} rm_charge_t;

typedef struct {
    pthread_mutex_t lock;
    uint64_t session;                     /* for the log line */
    uint64_t operator_limit;              /* the server's limit for every GPU; 0: none */
    uint64_t limit[RM_QUOTA_DEVICES];     /* in force; 0: none */
    uint64_t used[RM_QUOTA_DEVICES];
    rm_charge_t *v;                       /* sorted by key */
    size_t n, cap;
    uint64_t *pub_used, *pub_limit;       /* GPUs 0..npub-1's used and limit, published (atomic) */
    int npub;
} rm_quota_t;

void rm_quota_init(rm_quota_t *q, uint64_t session, uint64_t operator_limit);
void rm_quota_destroy(rm_quota_t *q);
/* From now on, GPU d's limit and use (d < n) are also stored, atomically,
 * in limit[d] and used[d] (the session's shared counters, counters.h), each
 * time one of them changes or the client asks for a limit on d (at cuInit,
 * for each GPU it sees: so only GPUs that exist are ever published). */
void rm_quota_publish(rm_quota_t *q, uint64_t *used, uint64_t *limit, int n);
/* The client asks for want bytes on dev (0: the operator's limit): the
 * limit becomes the lower of the two (never above the operator's). Returns
 * the limit now in force, 0 if none; dev out of range: 0, nothing changes. */
uint64_t rm_quota_request(rm_quota_t *q, int dev, uint64_t want);
/* The limit on dev (0: none) and what the session holds there. */
uint64_t rm_quota_limit(rm_quota_t *q, int dev);
uint64_t rm_quota_used(rm_quota_t *q, int dev);
/* The highest limit of GPUs 0..ndev-1 (what remora status shows), 0 if
 * one has none. */
uint64_t rm_quota_max_limit(rm_quota_t *q, int ndev);

/* *taken: whether bytes were taken (dev has a limit). CUDA_SUCCESS, or
 * CUDA_ERROR_OUT_OF_MEMORY when the session would pass its limit on dev
 * (logged, rate-limited, naming what asked). */
CUresult rm_quota_take(rm_quota_t *q, int dev, uint64_t bytes, const char *what, int *taken);
void rm_quota_give(rm_quota_t *q, int dev, uint64_t bytes);
/* Taken bytes now held by an allocation: 0, or -1 (no memory for the
 * record; the caller gives them back and frees the allocation). */
int rm_quota_keep(rm_quota_t *q, int dev, uint64_t key, uint64_t owner, uint64_t bytes);
/* The charge under key is given back (nothing if there is none). */
void rm_quota_release(rm_quota_t *q, uint64_t key);
/* Every charge of this owner is given back. */
void rm_quota_release_owner(rm_quota_t *q, uint64_t owner);

#endif
