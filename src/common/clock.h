/* The monotonic clock, in nanoseconds: for spin budgets and deadlines. */
#ifndef RM_CLOCK_H
#define RM_CLOCK_H

#include <stdint.h>

uint64_t rm_now_ns(void);

#endif
