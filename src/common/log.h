/* Logging to stderr, level from REMORA_LOG=error|warn|info|debug|trace.
 * Quiet by default (warnings and errors) so the client library does not
 * disturb the CUDA program it lives in. */
#ifndef RM_LOG_H
#define RM_LOG_H

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
#define RM_ERROR(...) RM_LOG(RM_LOG_ERROR, __VA_ARGS__)
#define RM_WARN(...) RM_LOG(RM_LOG_WARN, __VA_ARGS__)
#define RM_INFO(...) RM_LOG(RM_LOG_INFO, __VA_ARGS__)
#define RM_DEBUG(...) RM_LOG(RM_LOG_DEBUG, __VA_ARGS__)
#define RM_TRACE(...) RM_LOG(RM_LOG_TRACE, __VA_ARGS__)

#endif
