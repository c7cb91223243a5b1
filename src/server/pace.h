/* Pacing one session's GPU work to its compute share (share.h): before a
 * kernel or graph launch the session waits while its measured busy time,
 * and its estimate of what it started and has not measured yet, leave no
 * room in its share (or in what others lend); then events are recorded
 * around the launch on its stream, and read back (without waiting) at later
 * launches and by a thread of its own while any are in flight: their elapsed
 * time is the busy time credited to the session, and once none is in flight
 * on a GPU the session lets its turn there go (share.h). Nothing is measured
 * for a session without a share on the GPU (share.h: it runs beside the
 * turns of those with one). */
#ifndef RM_PACE_H
#define RM_PACE_H

#include <cuda.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "share.h"

#define RM_PACE_RUNS 1024 /* launches measured at once; one more waits for the oldest */

typedef struct {
    CUevent start, end;
    int dev;
} rm_pace_run_t;

typedef struct {
    int active;    /* the launch was paced: it is in flight for its GPU's turn */
    CUevent start; /* NULL: not measured */
    int dev;
} rm_pace_ticket_t;

typedef struct {
    const rm_backend_t *b;
    uint64_t session;          /* for log lines */
    rm_share_table_t *table;   /* NULL: none (nothing is paced) */
    size_t slot;
    uint32_t operator_percent; /* remora-server --compute-share for this session; 0: none */
    int pinned;                /* --no-lend, or the tenant's share is pinned */
    uint64_t *busy_counter;    /* what remora status shows, NULL: none */
    pthread_mutex_t lock;
    uint32_t percent[RM_SHARE_DEVICES]; /* in force; 0: none */
    rm_pace_run_t run[RM_PACE_RUNS]; /* a ring, in launch order */
    size_t head, nrun;
    uint64_t avg_ns[RM_SHARE_DEVICES]; /* of one measured launch, decaying */
    uint32_t inflight[RM_SHARE_DEVICES]; /* launches begun and not yet measured */
    pthread_cond_t runs;                 /* signalled when there are runs to read back */
    int reaper;                          /* the thread that reads them back was started */
} rm_pace_t;

/* No share, no table: nothing is paced. */
void rm_pace_init(rm_pace_t *p, const rm_backend_t *b, uint64_t session);
/* In a worker: its slot of the listener's table, and the operator's share
 * for it (percent, 0: none), put in force on every GPU. */
void rm_pace_attach(rm_pace_t *p, rm_share_table_t *t, size_t slot, uint32_t percent, int pinned,
                    uint64_t *busy_counter);
void rm_pace_destroy(rm_pace_t *p);
/* The client asks for want percent on dev (0: the operator's): the share
 * becomes the lower of the two, never above the operator's. Returns the
 * share in force (0: none); dev out of range: 0, nothing changes. */
uint32_t rm_pace_request(rm_pace_t *p, int dev, uint32_t want);
/* The highest share of GPUs 0..ndev-1, 0 if one has none (remora status). */
uint32_t rm_pace_max_share(rm_pace_t *p, int ndev);
/* Before work on stream s of GPU dev (measured: not captured into a graph):
 * waits for room in the share, then records the start event. */
void rm_pace_begin(rm_pace_t *p, int dev, CUstream s, rm_pace_ticket_t *t);
/* After it (r: how the launch went): the end event, or nothing to measure. */
void rm_pace_end(rm_pace_t *p, CUstream s, rm_pace_ticket_t *t, CUresult r);
/* Whether work on dev is paced and measured: the session has a share there. */
int rm_pace_active(const rm_pace_t *p, int dev);

#endif
