/* Server-side state of one client session (one worker process) and of one
 * channel (one client thread, served by one server thread), and the helpers
 * the call handlers share. */
#ifndef RM_SV_H
#define RM_SV_H

#include <cuda.h>
#include <pthread.h>
#include <stdint.h>

#include "backend.h"
#include "buf.h"
#include "counters.h"
#include "handles.h"
#include "pace.h"
#include "mm.h"
#include "quota.h"
#include "recipes.h"
#include "wire_types.h"
#include "remora/protocol.h"
#include "ranges.h"
#include "transport.h"

#define RM_SEG_MAX 64
#define RM_SEG_SHIFT 40 /* segment address = index << 40 | offset */

typedef struct {
    uint8_t *host;    /* this process's mapping */
    uint64_t size;
    uint64_t dev;     /* device address of the mapping (registered, mapped) */
    int registered;   /* cuMemHostRegister succeeded */
} rm_segment_t;

typedef struct rm_session {
    const rm_backend_t *b;
    uint64_t id;
    rm_handles_t handles;
    rm_ranges_t ranges;
    pthread_mutex_t seg_lock;
    rm_segment_t segs[RM_SEG_MAX];
    int channels; /* live channel threads; the worker exits at 0 */
    uint64_t primary[64]; /* handle of each device's primary context, once retained */
    pthread_mutex_t lock;
    /* Cross-thread ordering (fence), per channel slot: the incarnation using
     * it and the last seq it ran (incarnation << 32 | seq), the newest
     * incarnation that has closed, and who waits for progress. */
    uint64_t done[RM_MAX_CHANNELS];        /* atomic */
    uint32_t closed_inc[RM_MAX_CHANNELS];  /* atomic; incarnation + 1, 0: none */
    int waiters;                           /* atomic */
    pthread_cond_t progress;            /* with lock */
    /* Host-function gates on streams (sv_hostfn.c), with lock. */
    struct rm_gate *gates;
    pthread_cond_t gate_change;
    int closing; /* no client left to open gates: they open by themselves */
    /* What remora status shows: the listener's shared slot in a worker,
     * else own_counters. seg_bytes: registered shared segments (host
     * memory, in ranges only to check copies), atomic. */
    rm_counters_t *counters;
    rm_counters_t own_counters;
    uint64_t seg_bytes;
    uint64_t seg_limit, seg_total; /* shared segments' bytes: allowed, taken (seg_lock) */
    rm_quota_t quota; /* device memory: the limit per GPU and what is charged (quota.h) */
    /* Host memory of its channels' request and scratch buffers: allowed,
     * held (atomic). A request past it is answered CUDA_ERROR_OUT_OF_MEMORY. */
    uint64_t buf_limit, buf_bytes;
    rm_pace_t pace;   /* compute share: launches paced to it (pace.h) */
    uint32_t client_pid; /* the client process's, from its hello (NVML's process lists) */
    uint64_t chan_ctx[RM_MAX_CHANNELS]; /* each channel slot's current context (atomic; checkpoints) */
    uint8_t key[RM_KEY_LEN];      /* what its channels prove, from the first welcome (for checkpoints) */
    char host[64], program[64];   /* the client's, from its first hello */
    rm_mm_t mm;       /* every cuMemAlloc and cuMemAllocPitch (mm.h) */
    rm_recipes_t recipes; /* module image hashes and event flags, for checkpoints */
    /* Each channel holds it shared while it runs a call; a checkpoint
     * holds it exclusively (the session is quiet then). Writers first. */
    pthread_rwlock_t quiesce;
    /* Migration (migrate.h). Source: channels that cannot follow a move
     * (no REMORA_MIGRATABLE, or shm://; atomic), a migration under way
     * (lock), and once moved the address the client is told (its channels
     * answer every request with it from then on, running nothing), and
     * the control socket it stops taking channels on. Target: made from a
     * migration stream, the source's socket (-1: none) until the client's
     * first channel joined, and when the session was ready. */
    int fixed_channels;
    int migrating;
    int moved; /* atomic */
    char moved_to[256];
    int ctl_fd;
    int migrated;
    int migrate_fd;
    uint64_t ready_ns;
} rm_session_t;

/* The channel's bulk buffer (rm_sv_bulk below). */
#define RM_SV_BULK_MIN ((size_t)1 << 20)
#define RM_SV_BULK_CAP ((size_t)RM_CHUNK + 4096)
#define RM_SV_BULK_SLOTS 4
#define RM_SV_BULK_SLOT ((RM_SV_BULK_CAP / RM_SV_BULK_SLOTS) & ~(size_t)4095)
#define RM_SV_REPLY_PIECE ((size_t)1 << 20)
#define RM_SV_REPLY_PIECES ((int)(RM_CHUNK / RM_SV_REPLY_PIECE))

/* One channel: state owned by its server thread. */
typedef struct rm_sv {
    rm_session_t *s;
    uint32_t channel; /* the client's slot for it, < RM_MAX_CHANNELS */
    uint32_t incarnation;
    uint64_t ctx;     /* handle of this thread's current context (owner of what it creates) */
    const rm_backend_t *b;
    rm_conn_t *conn;
    CUresult deferred; /* first failed async call since the last reply */
    CUresult piece_err; /* first failed piece of the synchronous copy under way (sv_copy.c) */
    rm_wbuf_t reply;
    uint8_t *in;       /* request payload buffer */
    size_t in_cap;
    uint8_t *scratch;  /* reply data staging (D2H over a socket) */
    size_t scratch_cap;
    uint8_t *payload;  /* the request being served: in, or bulk */
    uint8_t *bulk;     /* bulk copy data (sv_bulk.c), page-locked if bulk_pinned */
    int bulk_pinned;
    unsigned bulk_next;                 /* the slot the next payload of one slot or less takes */
    CUevent bulk_dma[RM_SV_BULK_SLOTS]; /* a DMA from that slot still running: its event */
    CUevent reply_dma[RM_SV_REPLY_PIECES]; /* device-to-host pieces of the reply still landing */
    int reply_pieces;                      /* how many (0: the reply is ready) */
} rm_sv_t;

CUresult rm_sv_unsupported(const char *call);
/* A call wrote [p, p+n) of device memory (writes=own ops; mm.h), or may
 * have written through any pointer among its kernel arguments. */
void rm_sv_wrote(rm_sv_t *sv, uint64_t p, uint64_t n);
void rm_sv_wrote_args(rm_sv_t *sv, const void *params, size_t len);
/* A channel (or what stands for one: a migration's reply) is done; the
 * worker exits when it was the last (worker.c). */
void rm_session_channel_done(rm_session_t *s);
/* Return CUDA_ERROR_NOT_SUPPORTED (logged) if the backend lacks fn. */
#define RM_SV_NEED(sv, fn)  \
    if (!(sv)->b->fn)       \
    return rm_sv_unsupported(#fn)
int rm_sv_handle_get(rm_sv_t *sv, rm_hkind kind, uint64_t id, void **ptr);
/* This thread's current context is now ctx (a handle, 0 none). */
void rm_sv_set_ctx(rm_sv_t *sv, uint64_t ctx);
/* Remember how handle id was made (recipes.h; a failure only makes a
 * checkpoint of the session refuse it). */
void rm_sv_recipe(rm_sv_t *sv, uint64_t id, uint32_t flags, const void *image, size_t image_len);
/* Register an object made in the current context (it dies with it). */
uint64_t rm_sv_handle_put(rm_sv_t *sv, rm_hkind kind, void *ptr);
/* For destroy calls: rm_handles_claim on the session's table (logged like
 * rm_sv_handle_get when id is not live), then, once the driver answered,
 * settle: forgotten if r is CUDA_SUCCESS, live again otherwise. */
int rm_sv_handle_claim(rm_sv_t *sv, rm_hkind kind, uint64_t id, void **ptr);
CUresult rm_sv_handle_settle(rm_sv_t *sv, rm_hkind kind, uint64_t id, CUresult r);
/* An owner (context, module, library) is gone: forget its objects, what
 * they own, and their memory ranges. */
void rm_sv_forget_owned(rm_sv_t *sv, uint64_t owner);
/* CUDA_SUCCESS if [p, p+n) lies in memory of this session, else logs and
 * returns CUDA_ERROR_INVALID_VALUE. */
CUresult rm_sv_check_range(rm_sv_t *sv, uint64_t p, uint64_t n, const char *what);
/* Whether the stream is being captured into a graph (0 also when it is not
 * a stream of this session). */
int rm_sv_capturing(rm_sv_t *sv, uint64_t stream_id);
/* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED (logged, naming what) if the stream
 * is being captured, else CUDA_SUCCESS. */
CUresult rm_sv_refuse_capture(rm_sv_t *sv, uint64_t stream_id, const char *what);
/* The graph nodes named by len bytes of u64 handles (at most RM_MAX_GNODES):
 * 0, or -1 if one is not a live node of this session. */
int rm_sv_gnodes(rm_sv_t *sv, const void *ids, uint32_t len, CUgraphNode *nodes, size_t *n);
/* The graph and dependency nodes a node-making request names
 * (CUDA_ERROR_INVALID_HANDLE if one is not live), and the id of the node it
 * made (r: the driver's answer), a handle that dies with its graph. */
CUresult rm_sv_graph_deps(rm_sv_t *sv, uint64_t graph_id, const void *deps, uint32_t deps_len, CUgraph *g,
                          CUgraphNode *nodes, size_t *n);
CUresult rm_sv_node_made(rm_sv_t *sv, CUresult r, CUgraphNode node, uint64_t graph_id, uint64_t *out);
/* Device memory charged to the session's limit (quota.h, sv_quota.c). The
 * GPU of this thread's current context (-1: none); take bytes on dev for
 * `what` before the driver allocates (CUDA_ERROR_OUT_OF_MEMORY past the
 * limit); then either the allocation failed (r, returned, not
 * CUDA_SUCCESS: the bytes go back) or it is kept under key and owner (0, or
 * -1: given back, the caller frees the allocation). */
typedef struct {
    int dev, taken;
    uint64_t bytes;
} rm_sv_charge_t;
int rm_sv_current_device(rm_sv_t *sv);
CUresult rm_sv_charge_take(rm_sv_t *sv, int dev, uint64_t bytes, const char *what, rm_sv_charge_t *t);
CUresult rm_sv_charge_failed(rm_sv_t *sv, const rm_sv_charge_t *t, CUresult r);
int rm_sv_charge_keep(rm_sv_t *sv, const rm_sv_charge_t *t, uint64_t key, uint64_t owner);
/* The total memory the session sees on GPU dev whose real total is real:
 * its limit when that is lower. */
uint64_t rm_sv_device_total(rm_sv_t *sv, int dev, uint64_t real);
/* Kernel and graph launches on a stream, paced to the session's compute
 * share and measured (pace.h, sv_share.c): begin before the launch, end
 * after it with its result. */
void rm_sv_pace_begin(rm_sv_t *sv, uint64_t stream_id, CUstream s, rm_pace_ticket_t *t);
void rm_sv_pace_end(rm_sv_t *sv, CUstream s, rm_pace_ticket_t *t, CUresult r);
/* Host pointer for [addr, addr+n) of a shared segment, NULL if outside. */
void *rm_sv_segment_ptr(rm_sv_t *sv, uint64_t addr, uint64_t n);
/* fds on the channel's Unix socket (shm:// only; sv_fd.c): the one that
 * follows the request (-1 if none came), whether one can precede the
 * reply, and sending it (-1 on failure; the caller keeps fd). */
int rm_sv_receive_fd(rm_sv_t *sv);
int rm_sv_can_send_fd(rm_sv_t *sv);
int rm_sv_send_fd(rm_sv_t *sv, int fd);
/* A buffer of at least n bytes owned by the channel, NULL on OOM or past
 * the session's buffer budget. */
void *rm_sv_scratch(rm_sv_t *sv, size_t n);
/* Charge n more bytes of buffers to the session: 0, or -1 (nothing charged)
 * past its buf_limit. */
int rm_session_buffers_take(rm_session_t *s, size_t n);
void rm_session_buffers_give(rm_session_t *s, size_t n);
/* Bulk copy data over a socket (sv_bulk.c): payloads and replies of
 * RM_SV_BULK_MIN bytes or more go through one buffer of the channel, of
 * RM_SV_BULK_CAP bytes, page-locked (cuMemHostRegister, in the context
 * current when it is first needed) so that the device copy that follows is
 * a DMA rather than the driver's staging of pageable memory. A buffer for
 * n such bytes (a plain one where page-locking failed), or NULL: n out of
 * range, no memory, or the buffer holds the request being served.
 * The buffer is RM_SV_BULK_SLOTS slots: a payload that fits in one takes
 * the next slot, once the DMA from it (if any) is done; a bigger one takes
 * the whole buffer, once every DMA from it is done. So the pieces of a
 * host-to-device copy (async messages of at most one slot) are DMA'd from
 * their slot while the next pieces arrive in the others. */
void *rm_sv_bulk(rm_sv_t *sv, size_t n);
/* Whether p points into the channel's bulk buffer. */
int rm_sv_bulk_holds(const rm_sv_t *sv, const void *p);
/* The device copy of a piece that arrived in a slot of the page-locked
 * buffer (src, n), started on the legacy stream as cuMemcpyHtoD orders it
 * and left running: 1, with *r its launch's result; 0 when it cannot be
 * pipelined (not in a page-locked slot, no event), nothing done. */
int rm_sv_bulk_htod(rm_sv_t *sv, CUdeviceptr dst, const void *src, size_t n, CUresult *r);
/* Waits for every DMA still running from the buffer: the first failure. */
CUresult rm_sv_bulk_drain(rm_sv_t *sv);
/* A device-to-host copy of n bytes into the whole buffer (dst, as
 * rm_sv_bulk handed it out) for the reply, in pieces of RM_SV_REPLY_PIECE
 * on stream s, each with an event; it returns once the first piece has
 * landed (so an error of earlier work is this call's), and the reply's
 * send (rm_sv_bulk_writev) waits for each later piece before its bytes,
 * so the copy and the send overlap. 1, with *r; 0 when it cannot be
 * pipelined (too small, not page-locked, no events), nothing done. */
int rm_sv_bulk_dtoh(rm_sv_t *sv, void *dst, CUdeviceptr src, size_t n, CUstream s, CUresult *r);
/* Sends iov as rm_conn_writev does, waiting for the reply's pieces: a piece
 * that fails to land ends the channel (its reply's status went already). */
rm_status rm_sv_bulk_writev(rm_sv_t *sv, const struct iovec *iov, int iovcnt);
void rm_sv_bulk_free(rm_sv_t *sv);

/* Shared segments a session may register unless remora-server's
 * --pinned-limit says otherwise: half the host's memory. */
uint64_t rm_default_pinned_limit(void);
/* mem_limit: remora-server --mem-limit for this session, per GPU (0: none). */
void rm_session_init(rm_session_t *s, const rm_backend_t *b, uint64_t id, uint64_t mem_limit);
/* The last channel is gone: open every gate (nobody will run the functions). */
void rm_session_open_gates(rm_session_t *s);
void rm_session_destroy(rm_session_t *s);
/* Serve one channel until the peer goes away (runs on its own thread).
 * resumed: the channel served this session before its server was lost
 * (the session was restored): its thread gets the context it had. */
void rm_sv_serve(rm_session_t *s, rm_conn_t *conn, uint32_t channel, uint32_t incarnation, int resumed);
/* Channel (slot, incarnation) has run message `seq` (or closed): wake fences. */
void rm_session_progress(rm_session_t *s, uint32_t slot, uint32_t inc, uint32_t seq, int closed);
/* Has channel (slot, inc) run message seq (or closed)? */
int rm_session_reached(rm_session_t *s, uint32_t slot, uint32_t inc, uint32_t seq);

#endif
