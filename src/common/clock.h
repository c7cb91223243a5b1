/* The monotonic clock, in nanoseconds: for spin budgets and deadlines;
 * the wall clock, for times shown to people. */
#ifndef RM_CLOCK_H
#define RM_CLOCK_H

#include <stdint.h>

uint64_t rm_now_ns(void);
/* Milliseconds since the Unix epoch. */
uint64_t rm_wall_ms(void);

#endif
