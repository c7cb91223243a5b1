/* The network emulator: REMORA_EMULATE=rtt=10us,bw=25Gbit[,jitter=2us]
 * (syntax: emul_spec.h; model: emul_link.h) makes the client's connections,
 * over any transport, behave as if the link to the server had that round
 * trip and rate. A connection wrapper, like fault.c; only client-side
 * connections are wrapped, so a server started with the same environment
 * does not delay everything a second time. REMORA_EMULATE is read once, at
 * the first open; a bad value fails every client open (logged once). */
#ifndef RM_EMUL_H
#define RM_EMUL_H

#include "transport.h"

/* Replaces the configuration (tests); NULL or "" turns the emulator off.
 * Affects connections opened afterwards; call it before other threads open
 * any. RM_ERR_INVAL (logged) on a bad spec, the configuration unchanged. */
rm_status rm_emul_set(const char *spec);

/* *out = c for a server-side connection or without emulation, else a
 * wrapper around c that owns it. On failure c is closed. */
rm_status rm_emul_wrap(rm_conn_t *c, rm_role role, rm_conn_t **out);

/* Whether client connections are wrapped (REMORA_EMULATE or rm_emul_set
 * names a link), for callers that must not multiply the emulated link by
 * opening more connections (striped copies). */
int rm_emul_active(void);

/* Waits until the monotonic clock (rm_now_ns) reads t, as the emulator
 * waits for its deadlines: sleeping until shortly before, then spinning. */
void rm_emul_wait_until(uint64_t t);

#endif
