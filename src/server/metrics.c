/* Prometheus metrics (metrics.h): the text format, and the little HTTP a
 * scrape needs (one request per connection, answered and closed). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "transport.h"

static void put(rm_wbuf_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(rm_wbuf_t *w, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        rm_wbuf_put(w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A label value: at most 63 bytes, with \ " and newlines escaped. */
static void label_value(char *out, size_t len, const char *s, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < max && s[i] && o + 3 < len; i++) {
        char ch = s[i];
        if (ch == '\\' || ch == '"' || ch == '\n') {
            out[o++] = '\\';
            ch = ch == '\n' ? 'n' : ch;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
}

static void family(rm_wbuf_t *w, const char *name, const char *type, const char *help)
{
    put(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One series per session: field(i). */
#define PER_SESSION(w, name, type, help, value)                                                   \
    do {                                                                                          \
        family((w), (name), (type), (help));                                                      \
        for (uint32_t i = 0; i < n; i++)                                                          \
            put((w), "%s{session=\"%llu\"} %llu\n", (name), (unsigned long long)v[i].session_id,  \
                (unsigned long long)(value));                                                     \
    } while (0)

/* GPU g of session i has figures: a limit or memory held there. */
static int gpu_known(const rm_counters_t *c, int g)
{
    return rm_counters_get(&c->gpu_mem_limit[g]) || rm_counters_get(&c->gpu_mem_used[g]);
}

/* One series per (session, GPU) with figures: value(c, g). */
static void per_gpu(rm_wbuf_t *w, const char *name, const char *help, const rm_status_session_t *v,
                    const rm_counters_t *const *c, uint32_t n, const uint64_t *(*field)(const rm_counters_t *, int))
{
    family(w, name, "gauge", help);
    for (uint32_t i = 0; i < n; i++)
        for (int g = 0; g < RM_COUNTERS_GPUS; g++)
            if (gpu_known(c[i], g))
                put(w, "%s{session=\"%llu\",gpu=\"%d\"} %llu\n", name, (unsigned long long)v[i].session_id, g,
                    (unsigned long long)rm_counters_get(field(c[i], g)));
}

static const uint64_t *gpu_used(const rm_counters_t *c, int g) { return &c->gpu_mem_used[g]; }
static const uint64_t *gpu_limit(const rm_counters_t *c, int g) { return &c->gpu_mem_limit[g]; }

/* One series per session: a ratio given in thousandths. */
static void ratio(rm_wbuf_t *w, const char *name, const char *help, const rm_status_session_t *v, uint32_t n,
                  uint32_t (*permille)(const rm_status_session_t *))
{
    family(w, name, "gauge", help);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = permille(&v[i]);
        put(w, "%s{session=\"%llu\"} %u.%03u\n", name, (unsigned long long)v[i].session_id, p / 1000, p % 1000);
    }
}

static uint32_t share_used(const rm_status_session_t *v) { return v->gpu_busy_permille; }
static uint32_t share_limit(const rm_status_session_t *v) { return v->compute_share * 10; }

void rm_metrics_render(rm_wbuf_t *w, const rm_status_session_t *v, const rm_counters_t *const *c, uint32_t n)
{
    family(w, "remora_sessions", "gauge", "Client sessions the server holds.");
    put(w, "remora_sessions %u\n", n);
    family(w, "remora_session_info", "gauge", "One per session: its client process (value 1).");
    for (uint32_t i = 0; i < n; i++) {
        char host[160], program[160];
        label_value(host, sizeof host, v[i].host, sizeof v[i].host);
        label_value(program, sizeof program, v[i].program, sizeof v[i].program);
        put(w, "remora_session_info{session=\"%llu\",pid=\"%u\",host=\"%s\",program=\"%s\",transport=\"%s\"} 1\n",
            (unsigned long long)v[i].session_id, v[i].pid, host, program,
            rm_scheme_name((rm_scheme)v[i].scheme));
    }
    PER_SESSION(w, "remora_session_start_time_seconds", "gauge", "When the session started (Unix time).",
                v[i].start_unix_ms / 1000);
    PER_SESSION(w, "remora_session_calls_total", "counter", "Requests the client sent.", v[i].calls);
    PER_SESSION(w, "remora_session_received_bytes_total", "counter",
                "Message bytes the client sent (shared-memory copies are not messages).", v[i].bytes_in);
    PER_SESSION(w, "remora_session_sent_bytes_total", "counter", "Message bytes sent to the client.",
                v[i].bytes_out);
    PER_SESSION(w, "remora_session_memory_used_bytes", "gauge", "Device memory the session holds, all GPUs.",
                v[i].mem_bytes);
    PER_SESSION(w, "remora_session_memory_limit_bytes", "gauge",
                "The highest of the session's per-GPU memory limits (0: no limit).", v[i].mem_limit);
    per_gpu(w, "remora_session_gpu_memory_used_bytes",
            "Device memory the session holds on one GPU (counted on GPUs where it has a limit).", v, c, n, gpu_used);
    per_gpu(w, "remora_session_gpu_memory_limit_bytes", "The session's memory limit on one GPU.", v, c, n, gpu_limit);
    ratio(w, "remora_session_gpu_share_used_ratio",
          "GPU time the session used in the last window, on its busiest GPU (measured on sessions of GPUs where "
          "some session has a share; else 0).", v, n, share_used);
    ratio(w, "remora_session_gpu_share_limit_ratio",
          "The session's compute share (the highest of its GPUs'; 0: none).", v, n, share_limit);
    PER_SESSION(w, "remora_session_gpu_busy_nanoseconds_total", "counter",
                "GPU time the session's kernels took, measured with events (where shares are in force).",
                v[i].gpu_busy_ns);
}

rm_status rm_metrics_address(const char *addr, char *out, size_t len)
{
    const char *hostport = strncmp(addr, "tcp://", 6) == 0 ? addr + 6 : addr;
    if (strstr(hostport, "://") || !strchr(hostport, ':'))
        return RM_ERR_ADDR;
    snprintf(out, len, "tcp://%s", hostport);
    rm_addr_t a;
    return rm_addr_parse(out, &a) == RM_OK && a.scheme == RM_SCHEME_TCP ? RM_OK : RM_ERR_ADDR;
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     type, len);
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, len}};
    if (rm_sock_writev_all(fd, iov, 2) != RM_OK)
        return; /* the scraper went away */
}

void rm_metrics_answer(int fd, const char *body, size_t len)
{
    char req[4096];
    size_t got = 0;
    struct timeval limit = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    while (got < sizeof req - 1) { /* until the request line is in */
        ssize_t r = read(fd, req + got, sizeof req - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n") || strchr(req, '\n'))
            break;
    }
    req[got] = '\0';
    char method[16], path[256], version[16];
    if (sscanf(req, "%15s %255s %15s", method, path, version) != 3 || strncmp(version, "HTTP/", 5) != 0) {
        static const char bad[] = "bad request\n";
        reply(fd, "400 Bad Request", "text/plain", bad, sizeof bad - 1);
    } else if (strcmp(method, "GET") != 0) {
        static const char no[] = "only GET\n";
        reply(fd, "405 Method Not Allowed", "text/plain", no, sizeof no - 1);
    } else if (strcmp(path, "/metrics") != 0 && strcmp(path, "/") != 0) {
        static const char none[] = "not found: metrics are at /metrics\n";
        reply(fd, "404 Not Found", "text/plain", none, sizeof none - 1);
    } else {
        reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
    }
}
