/* Client: wire statistics (stats.h). */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "export.h"
#include "remora/protocol.h"
#include "rm_ops.h"

typedef struct {
    uint64_t messages, round_trips, bytes_out, bytes_in, wait_ns;
} op_stats_t;

static uint64_t round_trips, messages; /* always counted */
static op_stats_t per_op[RM_OP_COUNT];
static int detailed = -1; /* -1 until REMORA_STATS is read */

static void print_table(void)
{
    uint64_t total_rt = 0;
    fprintf(stderr, "remora statistics (REMORA_STATS): per protocol operation\n");
    fprintf(stderr, "%-32s %10s %10s %12s %12s %12s %10s\n", "operation", "messages", "round-trips",
            "bytes-out", "bytes-in", "waited-ms", "mean-us");
    for (unsigned op = 0; op < RM_OP_COUNT; op++) {
        const op_stats_t *s = &per_op[op];
        if (!s->messages)
            continue;
        total_rt += s->round_trips;
        fprintf(stderr, "%-32s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12.3f %10.2f\n",
                rm_op_name(op), s->messages, s->round_trips, s->bytes_out, s->bytes_in, s->wait_ns / 1e6,
                s->round_trips ? s->wait_ns / 1e3 / (double)s->round_trips : 0.0);
    }
    fprintf(stderr, "total: %" PRIu64 " messages, %" PRIu64 " round trips\n",
            __atomic_load_n(&messages, __ATOMIC_RELAXED), total_rt);
}

int rm_stats_detailed(void)
{
    int d = __atomic_load_n(&detailed, __ATOMIC_RELAXED);
    if (d < 0) {
        const char *env = getenv("REMORA_STATS");
        d = env && env[0] && env[0] != '0';
        int expected = -1;
        if (__atomic_compare_exchange_n(&detailed, &expected, d, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) && d)
            atexit(print_table);
        d = __atomic_load_n(&detailed, __ATOMIC_RELAXED);
    }
    return d;
}

void rm_stats_message(uint16_t op, int sync, size_t bytes)
{
    __atomic_add_fetch(&messages, 1, __ATOMIC_RELAXED);
    if (sync)
        __atomic_add_fetch(&round_trips, 1, __ATOMIC_RELAXED);
    if (!rm_stats_detailed() || op >= RM_OP_COUNT)
        return;
    op_stats_t *s = &per_op[op];
    __atomic_add_fetch(&s->messages, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->bytes_out, bytes, __ATOMIC_RELAXED);
    if (sync)
        __atomic_add_fetch(&s->round_trips, 1, __ATOMIC_RELAXED);
}

void rm_stats_reply(uint16_t op, size_t bytes, uint64_t ns)
{
    if (!rm_stats_detailed() || op >= RM_OP_COUNT)
        return;
    __atomic_add_fetch(&per_op[op].bytes_in, bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&per_op[op].wait_ns, ns, __ATOMIC_RELAXED);
}

/* For programs and benchmarks that count their own cost (bench_torch.py
 * reads it through ctypes): round trips and messages since start-up. */
RM_EXPORT uint64_t remora_round_trips(void) { return __atomic_load_n(&round_trips, __ATOMIC_RELAXED); }
RM_EXPORT uint64_t remora_messages(void) { return __atomic_load_n(&messages, __ATOMIC_RELAXED); }
