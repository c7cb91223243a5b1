/* Compute shares (remora-server --compute-share, lowered by the client at
 * cuInit): the GPU busy time of every session on every GPU, in a table that
 * the listener maps before it forks any worker, so that each worker sees the
 * others' use of its GPU and remora status sees them all.
 *
 * Busy time is what the session's work took on the GPU, measured by events
 * recorded around it (sv_share.c) and credited here once read back. Each
 * (session, GPU) keeps it in RM_SHARE_BUCKETS buckets of RM_SHARE_BUCKET_NS
 * (a sliding window of RM_SHARE_WINDOW_NS), and so does each GPU for all of
 * its sessions together. A session with a share may start more work while
 * its busy time in the window is below its share of the window; past it,
 * unless pinned, while no session that is below its share wants the GPU:
 * what others leave unused is lent (work-conserving).
 *
 * Sessions with a share on one GPU take turns: a GPU runs one context at a
 * time, and the events of a session whose kernels wait behind another's time
 * slice would count the other's time as its own. A session without a share
 * on a GPU neither waits, takes turns nor is measured there: its work runs
 * beside the turns, at no cost. A limited session's kernels that wait behind
 * such work count the wait in their own events, so it only makes limited
 * sessions slower, never lets them past their share. A session launches only while it holds
 * its GPU's turn, taken when free; it lets it go once all its measured work
 * has completed. A session below its share that finds the turn taken says it
 * is waiting; the holder then launches no more once it has held the turn for
 * RM_SHARE_QUANTUM_NS, so the turn passes to the waiter once its work is done.
 * A session past its share (lending) takes a free turn only while nobody is
 * waiting, and launches no more as soon as somebody is.
 *
 * Only the owning worker writes a session's slot; the listener clears it
 * when the worker has exited. Values are read and written atomically; a
 * bucket is one 64-bit word (bucket number << 32 | busy ns), so a reader
 * never mixes a bucket's number with another's time. */
#ifndef RM_SHARE_H
#define RM_SHARE_H

#include <stddef.h>
#include <stdint.h>

#define RM_SHARE_DEVICES 64
#define RM_SHARE_BUCKETS 20
#define RM_SHARE_BUCKET_NS 5000000ull /* 5 ms */
#define RM_SHARE_WINDOW_NS (RM_SHARE_BUCKETS * RM_SHARE_BUCKET_NS)
#define RM_SHARE_QUANTUM_NS 4000000ull /* 4 ms: a turn's least length when others wait */

typedef struct {
    uint32_t percent; /* the share in force, 1-99; 0: none */
    uint32_t pinned;  /* 1: never more than percent, whatever others leave */
    uint32_t waiting; /* 1: below its share, waiting for the turn */
    uint64_t busy_ns; /* measured so far */
    uint64_t bucket[RM_SHARE_BUCKETS];
} rm_share_slot_t;

typedef struct {
    uint32_t holder;  /* slot + 1 of the session whose turn it is; 0: free */
    uint32_t waiters; /* sessions waiting for the turn */
    uint64_t since;   /* when the holder took it */
} rm_share_turn_t;

typedef struct rm_share_table {
    rm_share_slot_t gpu[RM_SHARE_DEVICES]; /* every session's busy time together */
    rm_share_turn_t turn[RM_SHARE_DEVICES];
    size_t nslots;
    rm_share_slot_t slot[][RM_SHARE_DEVICES]; /* per session slot, per GPU */
} rm_share_table_t;

/* nslots zeroed session slots shared with every process forked after;
 * NULL on failure. */
rm_share_table_t *rm_share_map(size_t nslots);
/* A session slot's shares are gone (its worker exited): zeroed, the GPUs'
 * counts of waiting sessions lowered, turns it held freed. */
void rm_share_clear(rm_share_table_t *t, size_t slot);

/* The session in slot now has share percent on dev (0 or 100 and above:
 * none), pinned or not. dev out of range: nothing. */
void rm_share_set(rm_share_table_t *t, size_t slot, int dev, uint32_t percent, int pinned);

/* busy ns of work that ended at now_ns are credited to the session (and its
 * GPU), spread over the buckets it covered. */
void rm_share_credit(rm_share_table_t *t, size_t slot, int dev, uint64_t now_ns, uint64_t busy);
/* Busy ns in the window that ends at now_ns. */
uint64_t rm_share_window(const rm_share_slot_t *s, uint64_t now_ns);
/* Whether the session is below its share on dev (always, without one),
 * pending_ns being its estimate of the work it started and has not measured
 * yet. */
int rm_share_entitled(const rm_share_table_t *t, size_t slot, int dev, uint64_t now_ns, uint64_t pending_ns);
/* Whether the session may start more work on dev now (see above: its share,
 * lending, the turn, which it may take or say it waits for). Always, and the
 * turn untouched, for a session without a share on dev. */
int rm_share_may_run(rm_share_table_t *t, size_t slot, int dev, uint64_t now_ns, uint64_t pending_ns);
/* The session has no work in flight on dev: the turn is free if it held it. */
void rm_share_idle(rm_share_table_t *t, size_t slot, int dev);
/* The session stops waiting for dev's turn (it ran, or gave up). */
void rm_share_unwait(rm_share_table_t *t, size_t slot, int dev);

#endif
