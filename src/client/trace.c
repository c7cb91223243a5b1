/* REMORA_TRACE (trace.h): where the lines go, and how they are written. */
#include "trace.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "errors.h"
#include "log.h"

int rm_trace_on;
static int trace_fd = -1;
static __thread int depth; /* traced calls running on this thread */

/* REMORA_TRACE: unset, empty or 0: off; 1: stderr; else a file, appended
 * to (children of the program write to the same one). */
__attribute__((constructor)) static void trace_init(void)
{
    const char *v = getenv("REMORA_TRACE");
    if (!v || !*v || strcmp(v, "0") == 0)
        return;
    if (strcmp(v, "1") == 0) {
        trace_fd = STDERR_FILENO;
    } else if ((trace_fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        RM_WARN("REMORA_TRACE: cannot open %s: calls are not traced", v);
        return;
    }
    rm_trace_on = 1;
}

static void put(rm_trace_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(rm_trace_t *t, const char *fmt, ...)
{
    if (t->len >= sizeof t->buf)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0) /* what did not fit is dropped: len == sizeof buf marks a cut line */
        t->len = t->len + (size_t)n < sizeof t->buf ? t->len + (size_t)n : sizeof t->buf;
}

static void item(rm_trace_t *t)
{
    if (t->n++)
        put(t, ", ");
}

int rm_trace_start(rm_trace_t *t)
{
    if (depth)
        return 0;
    depth++;
    t->len = 0;
    t->n = 0;
    t->t0 = rm_now_ns();
    return 1;
}

void rm_trace_call(rm_trace_t *t, const char *name)
{
    t->t1 = rm_now_ns();
    put(t, "remora-trace %d.%ld %s(", (int)getpid(), (long)syscall(SYS_gettid), name);
}

static void finish(rm_trace_t *t, CUresult r)
{
    const rm_cuda_error_t *e = rm_cuda_error_find((int)r);
    if (e)
        put(t, ") = %s <%.1f us>\n", e->name, (double)(t->t1 - t->t0) / 1e3);
    else
        put(t, ") = %d <%.1f us>\n", (int)r, (double)(t->t1 - t->t0) / 1e3);
    if (t->len == sizeof t->buf) /* cut short: still one line */
        memcpy(t->buf + sizeof t->buf - 5, "...\n", 4), t->len = sizeof t->buf - 1;
    ssize_t w = write(trace_fd, t->buf, t->len); /* one write: lines of threads do not mix */
    (void)w;
}

CUresult rm_trace_end(rm_trace_t *t, CUresult r)
{
    finish(t, r);
    depth--;
    return r;
}

void rm_trace_unsupported(const char *name)
{
    rm_trace_t t;
    if (!rm_trace_start(&t))
        return;
    rm_trace_call(&t, name);
    put(&t, "...");
    rm_trace_end(&t, CUDA_ERROR_NOT_SUPPORTED);
}

void rm_trace_i(rm_trace_t *t, long long v)
{
    item(t);
    put(t, "%lld", v);
}

void rm_trace_u(rm_trace_t *t, unsigned long long v)
{
    item(t);
    put(t, "%llu", v);
}

void rm_trace_x(rm_trace_t *t, unsigned long long v)
{
    item(t);
    put(t, "%#llx", v);
}

void rm_trace_f(rm_trace_t *t, double v)
{
    item(t);
    put(t, "%g", v);
}

void rm_trace_ptr(rm_trace_t *t, const void *p)
{
    item(t);
    put(t, p ? "%p" : "NULL", p);
}

/* Quoted, at most 64 bytes, non-printing bytes as \xNN. */
void rm_trace_str(rm_trace_t *t, const char *s)
{
    if (!s) {
        rm_trace_ptr(t, s);
        return;
    }
    item(t);
    put(t, "\"");
    size_t i = 0;
    for (; s[i] && i < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        put(t, c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? "%c" : "\\x%02x", c);
    }
    put(t, s[i] ? "\"..." : "\"");
}

void rm_trace_struct(rm_trace_t *t)
{
    item(t);
    put(t, "{...}");
}

void rm_trace_open(rm_trace_t *t)
{
    item(t);
    put(t, "[");
    t->n = 0;
}

void rm_trace_close(rm_trace_t *t)
{
    put(t, "]");
    t->n = 1;
}
