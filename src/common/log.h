/* Logging to stderr, level from REMORA_LOG=error|warn|info|debug|trace.
 * Quiet by default (warnings and errors) so the client library does not
 * disturb the CUDA program it lives in. */
#ifndef RM_LOG_H
#define RM_LOG_H

#include "ratelimit.h"

typedef enum { RM_LOG_ERROR, RM_LOG_WARN, RM_LOG_INFO, RM_LOG_DEBUG, RM_LOG_TRACE } rm_log_level;

extern int rm_log_threshold; /* -1 until first use */
int rm_log_level_now(void);
void rm_log_set_prefix(const char *who); /* e.g. "client", "server" */
void rm_log_write(rm_log_level lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define RM_LOG(lvl, ...)                                          \
    do {                                                          \
        if ((int)(lvl) <= rm_log_level_now())                     \
            rm_log_write((lvl), __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)
/* A warning a peer can cause at will (a rejected request): at most
 * RM_LOG_BURST per RM_LOG_WINDOW_MS from each call site; the next one let
 * through first says how many were suppressed. */
#define RM_LOG_BURST 10
#define RM_LOG_WINDOW_MS 10000
#define RM_WARN_LIMITED(...)                                                                           \
    do {                                                                                               \
        static rm_ratelimit_t rl_ = RM_RATELIMIT_INIT(RM_LOG_BURST, RM_LOG_WINDOW_MS);                 \
        uint64_t dropped_;                                                                             \
        if (RM_LOG_WARN <= rm_log_level_now() && rm_ratelimit_allow(&rl_, &dropped_)) {                \
            if (dropped_)                                                                              \
                rm_log_write(RM_LOG_WARN, __FILE__, __LINE__, "(%llu more like the next suppressed)", \
                             (unsigned long long)dropped_);                                            \
            rm_log_write(RM_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__);                                \
        }                                                                                              \
    } while (0)
#define RM_ERROR(...) RM_LOG(RM_LOG_ERROR, __VA_ARGS__)
#define RM_WARN(...) RM_LOG(RM_LOG_WARN, __VA_ARGS__)
#define RM_INFO(...) RM_LOG(RM_LOG_INFO, __VA_ARGS__)
#define RM_DEBUG(...) RM_LOG(RM_LOG_DEBUG, __VA_ARGS__)
#define RM_TRACE(...) RM_LOG(RM_LOG_TRACE, __VA_ARGS__)

#endif
