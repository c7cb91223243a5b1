/* Fault injection on the transport write path, so tests can exercise the
 * error paths above it: REMORA_FAULT=key:value[,key:value...] with keys
 *   delay_us              sleep this long before every write
 *   close_after_bytes     shut the connection down once this many bytes are
 *                         written in total (a write crossing the mark sends
 *                         its first part and fails): a peer dying mid-message
 *   truncate_after_bytes  silently drop every byte past this many; the
 *                         connection stays open until closed: a peer hanging
 * Counts are per connection. REMORA_FAULT is read once, at the first open. */
#ifndef RM_FAULT_H
#define RM_FAULT_H

#include "transport.h"

/* Replaces the configuration (tests); NULL or "" turns faults off. Affects
 * connections opened afterwards; call it before other threads open any. */
rm_status rm_fault_set(const char *spec);

/* *out = c when no fault is configured, else a wrapper around c that owns it.
 * On failure c is closed. */
rm_status rm_fault_wrap(rm_conn_t *c, rm_conn_t **out);

#endif
