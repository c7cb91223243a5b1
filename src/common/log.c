/* Logging: one line per message, "remora[who pid] LEVEL: text". */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rm_log_threshold = -1;
static const char *log_prefix = "remora";

static int parse_level(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    if (!s || !*s)
        return RM_LOG_WARN;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return RM_LOG_WARN;
}

int rm_log_level_now(void)
{
    int t = __atomic_load_n(&rm_log_threshold, __ATOMIC_RELAXED);
    if (t < 0) {
        t = parse_level(getenv("REMORA_LOG"));
        __atomic_store_n(&rm_log_threshold, t, __ATOMIC_RELAXED);
    }
    return t;
}

void rm_log_set_prefix(const char *who) { log_prefix = who; }

void rm_log_write(rm_log_level lvl, const char *file, int line, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warn", "info", "debug", "trace"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (lvl >= RM_LOG_DEBUG)
        fprintf(stderr, "remora[%s %d] %s: %s (%s:%d)\n", log_prefix, (int)getpid(), tags[lvl], msg,
                base, line);
    else
        fprintf(stderr, "remora[%s %d] %s: %s\n", log_prefix, (int)getpid(), tags[lvl], msg);
}
