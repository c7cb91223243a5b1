/* The network emulator's timing model (no clock, no I/O: emul.c feeds it
 * times and waits for the deadlines it returns, tests feed it made-up ones).
 *
 * One link, client side, each direction serialising its bytes at the spec's
 * rate, behind the bytes before them, then propagating for half the rtt.
 * The client can only delay what it sends and what it reads, so:
 *  - uplink: a message's bytes are handed to the real transport once the
 *    last of them has been serialised (the writer waits for that, as a full
 *    socket buffer makes it wait), but not held for the propagation delay,
 *    so the server sees each message half an rtt early: its whole timeline
 *    runs shifted by that, which nothing the client sees can tell apart;
 *  - downlink: bytes the client reads count as sent by the server when the
 *    real transport delivered them plus that half rtt; they queue behind
 *    earlier downlink bytes at the rate, then take the other half rtt.
 * A reply then reaches the program rtt + its bytes' serialisation after the
 * server sent it, and a request's serialisation after the program sent it,
 * on top of what the real transport takes.
 *
 * When the downlink bytes reached the client: the real transport says so only
 * when the client reads them. A read that waited for them knows; bytes that
 * were already there when read after a hold may have come during that hold
 * (the second half of a reply arrives with its first), so they count as
 * arrived no later than the real time minus the time held since the client
 * last wrote. What the program does between reads is not counted that way:
 * a reply it reads late is timed from when it is read. */
#ifndef RM_EMUL_LINK_H
#define RM_EMUL_LINK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "emul_spec.h"

typedef struct {
    rm_emul_spec_t spec;
    double ns_per_byte; /* 0: unlimited rate */
    /* the writer's */
    uint64_t up_free; /* when the uplink has serialised all it was given */
    _Atomic int wrote; /* set by the writer, taken by the reader */
    /* the reader's */
    uint64_t held;      /* ns waited in holds since the last write */
    uint64_t last_seen; /* arrival estimate of the last bytes read */
    uint64_t down_free; /* when the downlink has serialised all read so far */
    uint64_t delivered; /* when the last read was handed to the program */
    uint64_t rng;
} rm_emul_link_t;

void rm_emul_link_init(rm_emul_link_t *l, const rm_emul_spec_t *spec, uint64_t seed);

/* Uplink: n bytes the program handed over at `now` (pass the write call's
 * start for every piece of one write, so a late wake-up does not push the
 * pieces after it back); returns when their last byte is serialised. */
uint64_t rm_emul_link_up(rm_emul_link_t *l, uint64_t now, size_t n);

/* Downlink: n bytes the real transport delivered at `seen`. */
void rm_emul_link_down(rm_emul_link_t *l, uint64_t seen, size_t n);
/* When everything passed to rm_emul_link_down arrives (never before an
 * earlier answer: the stream stays in order); draws the jitter. */
uint64_t rm_emul_link_deliver(rm_emul_link_t *l);
/* The reader held for ns (waiting for rm_emul_link_deliver's time). */
void rm_emul_link_held(rm_emul_link_t *l, uint64_t ns);

#endif
