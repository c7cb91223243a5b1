/* REMORA_TRACE: every driver call the program makes, strace-like, with its
 * arguments, result and time, to stderr (REMORA_TRACE=1) or appended to a
 * file (REMORA_TRACE=FILE), one line a call:
 *
 *   remora-trace 4242.4242 cuMemAlloc_v2([0x7f5a00000000], 1024) = CUDA_SUCCESS <3.1 us>
 *
 * Each exported entry point cuX (gen/rm_trace.c, generated from the
 * implementations' own prototypes) tests rm_trace_on and, when it is 0,
 * jumps straight to its implementation RM_IMPL(cuX); when it is set, a cold
 * copy times the call and writes the line. Calls the library makes to
 * entry points of its own, inside a traced call, are not shown: only what
 * the program called. Out-parameters (a non-const pointer to a value or a
 * handle) show the value written, [like this], after a successful call. */
#ifndef RM_TRACE_H
#define RM_TRACE_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"

extern int rm_trace_on; /* set once, before main, from REMORA_TRACE */

typedef struct {
    uint64_t t0, t1;
    size_t len;
    unsigned n; /* items written at this level (for the commas) */
    char buf[1024];
} rm_trace_t;

/* 0 inside another traced call (then call the implementation untraced),
 * else 1 with the clock started. */
int rm_trace_start(rm_trace_t *t);
/* The call returned: stop the clock, begin the line with its name. */
void rm_trace_call(rm_trace_t *t, const char *name);
/* Ends the line with the result and the time, writes it; returns r. */
CUresult rm_trace_end(rm_trace_t *t, CUresult r);

/* Arguments, in order. */
void rm_trace_i(rm_trace_t *t, long long v);
void rm_trace_u(rm_trace_t *t, unsigned long long v);
void rm_trace_x(rm_trace_t *t, unsigned long long v);
void rm_trace_f(rm_trace_t *t, double v);
void rm_trace_ptr(rm_trace_t *t, const void *p);
void rm_trace_str(rm_trace_t *t, const char *s);
void rm_trace_struct(rm_trace_t *t);
/* [ and ] around what an out-parameter points to. */
void rm_trace_open(rm_trace_t *t);
void rm_trace_close(rm_trace_t *t);

/* A value of any arithmetic or enum type: device addresses and other
 * 64-bit handles (unsigned long long) in hex, the rest in decimal. */
#define RM_TRACE_VAL(t, v)                                                                          \
    _Generic((v), float: rm_trace_f, double: rm_trace_f, unsigned long long: rm_trace_x,            \
             unsigned long: rm_trace_u, unsigned int: rm_trace_u, default: rm_trace_i)(t, v)

/* An out-parameter p: the value it points to after a successful call,
 * else the pointer. show is RM_TRACE_VAL or rm_trace_ptr. */
#define RM_TRACE_OUT(t, p, ok, show) \
    do {                             \
        if ((ok) && (p)) {           \
            rm_trace_open(t);        \
            show(t, *(p));           \
            rm_trace_close(t);       \
        } else {                     \
            rm_trace_ptr(t, p);      \
        }                            \
    } while (0)

/* A non-const char *: the string after a successful call, else the pointer. */
#define RM_TRACE_OUTSTR(t, s, ok) ((ok) && (s) ? rm_trace_str(t, s) : rm_trace_ptr(t, s))

/* The exported entry point name(decl) of the implementation RM_IMPL(name):
 * when tracing is off, a jump to it after one branch; else traced_name,
 * which runs it and writes its line (show: the argument statements, which
 * see the call's result as r). name must not be a macro: #undef it first. */
#ifndef RM_UNTRACED
#define RM_TRACED(name, decl, args, show)                          \
    CUresult CUDAAPI RM_IMPL(name) decl;                           \
    static __attribute__((noinline, cold)) CUresult traced_##name decl \
    {                                                              \
        rm_trace_t t;                                              \
        if (!rm_trace_start(&t))                                   \
            return RM_IMPL(name) args;                             \
        CUresult r = RM_IMPL(name) args;                           \
        rm_trace_call(&t, #name);                                  \
        show return rm_trace_end(&t, r);                           \
    }                                                              \
    RM_EXPORT CUresult CUDAAPI name decl                           \
    {                                                              \
        if (__builtin_expect(rm_trace_on, 0))                      \
            return traced_##name args;                             \
        return RM_IMPL(name) args;                                 \
    }
#else
/* The cuda_untraced build (lib-untraced/, for bench/run only): the entry
 * point without the test of rm_trace_on, to measure what the test costs. */
#define RM_TRACED(name, decl, args, show) \
    CUresult CUDAAPI RM_IMPL(name) decl;  \
    RM_EXPORT CUresult CUDAAPI name decl { return RM_IMPL(name) args; }
#endif

/* An unimplemented entry point was called (its arguments are unknown). */
void rm_trace_unsupported(const char *name);

#endif
