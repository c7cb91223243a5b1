/* Striped bulk copies over TCP and TLS: one big pageable copy is cut into
 * contiguous parts, and each part travels over a connection of its own,
 * driven by a helper thread of a small pool, so that several streams (and
 * several server threads, each receiving one part and copying it to the
 * device) work at once. Each helper's connection is that thread's ordinary
 * channel to the session: fences order its messages after the caller's
 * earlier async calls, as for any other thread.
 *
 *   REMORA_TCP_STREAMS   connections a copy is striped over (default
 *                        RM_STRIPE_STREAMS_DEFAULT, or 1 when the session
 *                        may resume elsewhere: REMORA_RESTORE_FROM or
 *                        REMORA_MIGRATABLE; at most RM_STRIPE_MAX; 1: no
 *                        striping); config file [client] tcp-streams
 *   REMORA_STRIPE_MIN    copies of at least this many bytes are striped
 *                        (default RM_STRIPE_MIN_DEFAULT)
 *
 * Not striped: shm sessions (they have their own data path), connections
 * through the network emulator (each connection has its own emulated link,
 * so striping would multiply the emulated bandwidth), and a copy that finds
 * the pool busy with another thread's copy (it goes over its own channel).
 * A helper whose connection is lost fails the copy with that error and
 * turns striping off for that server; the session and every other channel
 * go on. A helper that cannot connect at all costs nothing but speed. */
#ifndef RM_STRIPE_H
#define RM_STRIPE_H

#include <cuda.h>
#include <stddef.h>

#include "chan.h"

#define RM_STRIPE_MAX 16
#define RM_STRIPE_STREAMS_DEFAULT 8
#define RM_STRIPE_MIN_DEFAULT ((size_t)4 << 20)
#define RM_STRIPE_PART_MIN ((size_t)1 << 20) /* no part is smaller */

/* One part: bytes [off, off + len) of the copy, over channel ch (the
 * helper's own); returns when they have arrived. */
typedef CUresult (*rm_stripe_part_cb)(rm_chan_t *ch, size_t off, size_t len, void *arg);

/* How many parts a copy of n bytes over ch is striped into; 1: not striped. */
int rm_stripe_parts(const rm_chan_t *ch, size_t n);
/* Runs part(ch_k, off_k, len_k, arg) for parts covering [0, n) on parts
 * helpers, each in the caller's current context, and waits for all of
 * them. The first failure is returned, after every part has ended. A part
 * whose helper could not connect (the server's --max-channels) is copied
 * over ch afterwards, and striping to that server stops. When the pool is
 * taken, *striped is 0 and nothing ran (the caller copies unstriped). */
CUresult rm_stripe_run(rm_chan_t *ch, size_t n, int parts, rm_stripe_part_cb part, void *arg, int *striped);

#endif
