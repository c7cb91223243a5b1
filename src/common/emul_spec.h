/* The network emulator's settings (REMORA_EMULATE, the config file's
 * [client] emulate): "rtt=10us,bw=25Gbit,jitter=2us" parsed into numbers.
 * Here, below the transports, so the config file can check a value before
 * anything runs; the emulator itself is src/transport/emul.c.
 *
 *   rtt=T     round-trip propagation delay (or delay=T, one way: rtt = 2T)
 *   bw=R      the link's rate, each direction; absent: no serialization delay
 *   jitter=T  each one-way trip is delay ± up to T, uniformly; at most rtt/2
 * T: a decimal number with ns, us, ms or s. R: a decimal number with bit,
 * Kbit, Mbit, Gbit, Tbit (bits per second) or byte, Kbyte, Mbyte, Gbyte,
 * Tbyte (bytes per second); decimal SI (K = 1000), units case-insensitive. */
#ifndef RM_EMUL_SPEC_H
#define RM_EMUL_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define RM_EMUL_DELAY_MAX_NS 60000000000ull /* a minute: anything longer is a typo */
#define RM_EMUL_BPS_MIN 1e3                 /* bits per second */
#define RM_EMUL_BPS_MAX 1e13

typedef struct {
    uint64_t rtt_ns;
    uint64_t jitter_ns;
    double bits_per_s; /* 0: unlimited */
} rm_emul_spec_t;

/* 0 and *out set (all zero for NULL or ""), or -1 with a message naming the
 * bad field in err ("bw=25Gbt: unknown unit 'Gbt' ..."), *out untouched. */
int rm_emul_spec_parse(const char *spec, rm_emul_spec_t *out, char *err, size_t errlen);
/* Whether the spec changes anything. */
int rm_emul_spec_active(const rm_emul_spec_t *s);

#endif
