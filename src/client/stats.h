/* Client: counts of what a program's CUDA calls cost on the wire. Round
 * trips and messages are always counted (one relaxed atomic add each,
 * nothing beside a round trip's microseconds); with REMORA_STATS=1 a table
 * per protocol operation (messages, round trips, bytes each way, time
 * waited) is also kept and printed to stderr at exit. */
#ifndef RM_CL_STATS_H
#define RM_CL_STATS_H

#include <stddef.h>
#include <stdint.h>

/* A message was sealed: sync (a reply will be waited for) or async. */
void rm_stats_message(uint16_t op, int sync, size_t bytes);
/* A reply arrived, ns after its request was sent (0 when not timed). */
void rm_stats_reply(uint16_t op, size_t bytes, uint64_t ns);
/* Whether per-operation statistics are kept (REMORA_STATS=1). */
int rm_stats_detailed(void);

#endif
