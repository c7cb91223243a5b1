/* Client channels: one connection per client thread to the session's
 * worker, opened lazily on the thread's first call. Async calls are queued
 * in the channel's batch and sent without waiting (over shm at once; over
 * TCP with the next sync call or when the batch grows); a sync call sends
 * the batch and waits for its reply. A lost server turns into an error from
 * every later call, never a hang; with REMORA_RESTORE_FROM the channel
 * first tries to join the session restored from that checkpoint and send
 * again what it had not run (replay.h). */
#ifndef RM_CHAN_H
#define RM_CHAN_H

#include <cuda.h>
#include <pthread.h>
#include <stdint.h>

#include "buf.h"
#include "replay.h"
#include "rm_ops.h"
#include "remora/protocol.h"
#include "transport.h"

typedef struct rm_chan {
    pthread_mutex_t lock; /* held from rm_chan_begin to the send (see fences) */
    struct rm_chan *next; /* all channels of the process */
    int srv;              /* the server it reaches: an index into REMORA_SERVER's list */
    uint32_t index;       /* the channel's slot in its session, for fences */
    uint32_t incarnation; /* channels that used the slot before it */
    uint32_t *waits;      /* fence scratch: RM_MAX_CHANNELS triples */
    uint32_t last_async;  /* seq of the last async message sent */
    uint64_t async_sent;  /* async messages this channel sent */
    uint64_t others_seen; /* async messages of other channels at the last fence */
    rm_conn_t *conn;
    rm_scheme scheme;
    unsigned generation; /* session generation it belongs to (see fork) */
    rm_wbuf_t out;       /* queued messages */
    size_t msg_start;    /* offset of the message being built */
    size_t msg_refs;     /* out.ref_bytes when it began */
    int msg_nrefs;       /* out.nrefs when it began */
    uint32_t seq;
    int pending;         /* sync requests sent whose replies are unread */
    uint64_t posted_ns;  /* when the last one was sent (REMORA_STATS), else 0 */
    uint8_t *in;         /* last reply payload */
    size_t in_cap;
    int dead;
    int helper;          /* a striped copy's helper thread's (stripe.h) */
    CUresult deferred;   /* first error of earlier async calls, not yet reported */
    rm_replay_t replay;  /* REMORA_RESTORE_FROM: what to send again after a restore */
    void *staging;       /* shm: staging slots for pageable copies */
    uint64_t staging_addr;
} rm_chan_t;

/* The calling thread's channel to server srv, connecting first if needed;
 * NULL with *err. */
rm_chan_t *rm_chan_on(int srv, CUresult *err);
/* ...to the server of the thread's current context (route.h)... */
rm_chan_t *rm_chan_current(CUresult *err);
/* ...to the server that made a handle (the current one for NULL and the
 * special stream values). */
rm_chan_t *rm_chan_for(uint64_t handle, CUresult *err);
/* Start a message; encode its payload into the returned buffer. Holds the
 * channel until the message is sent (send_async, post or call). If other
 * threads of the process sent async calls since this one last looked, a
 * fence goes first, so this call runs after them on the server, as CUDA
 * orders calls from different threads by issue time. */
rm_wbuf_t *rm_chan_begin(rm_chan_t *ch, uint16_t op);
/* The same without a fence: for calls that must not wait for this process's
 * other threads (a host function's callback thread, which the stream it
 * serves is waiting for). */
rm_wbuf_t *rm_chan_begin_unordered(rm_chan_t *ch, uint16_t op);
/* Finish an async message (queued or sent, never waited for); now: sent
 * before returning, also over TCP (someone waits for its effect). */
CUresult rm_chan_send_async(rm_chan_t *ch, int now);
/* Finish a sync message, send everything queued, wait for its reply. */
CUresult rm_chan_call(rm_chan_t *ch, rm_rbuf_t *reply);
/* Pipelining: finish and send a sync message without waiting... */
CUresult rm_chan_post(rm_chan_t *ch);
/* ...and wait for the oldest outstanding reply. */
CUresult rm_chan_wait(rm_chan_t *ch, rm_rbuf_t *reply);
/* rm_chan_wait for a reply that ends in bulk data: when it succeeded and
 * its payload is exactly head + n bytes, the last n are read straight into
 * dst (no copy through the reply buffer), *landed is set and reply covers
 * the first head bytes only; otherwise as rm_chan_wait, *landed 0. */
CUresult rm_chan_wait_into(rm_chan_t *ch, rm_rbuf_t *reply, size_t head, void *dst, size_t n, int *landed);
/* The deferred error of earlier async calls (cleared): what a synchronising
 * call returns when it succeeded itself. */
CUresult rm_chan_take_deferred(rm_chan_t *ch);
/* Bytes a call's reply carries for a struct of `want` bytes: copied to dst
 * when the call succeeded (r) and they are exactly that many, else
 * CUDA_ERROR_INVALID_VALUE; r itself when the call failed. */
CUresult rm_chan_reply_copy(CUresult r, void *dst, size_t want, const void *src, uint32_t len);
/* A reply that does not decode: log, poison the channel, return an error. */
CUresult rm_chan_bad_reply(rm_chan_t *ch, const char *op);
/* The transport of the session ("shm" data path available?). */
int rm_chan_is_shm(const rm_chan_t *ch);

#endif
