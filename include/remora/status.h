/* remora internal status codes: one enum, one string per value.
 * Mapped to CUresult in exactly one place (src/common/status.c). */
#ifndef REMORA_STATUS_H
#define REMORA_STATUS_H

#define RM_STATUS_LIST(X)                                              \
    X(RM_OK, "ok")                                                     \
    X(RM_ERR_IO, "i/o error")                                          \
    X(RM_ERR_CLOSED, "peer closed the connection")                     \
    X(RM_ERR_PROTO, "malformed or unexpected message")                 \
    X(RM_ERR_NOMEM, "out of memory")                                   \
    X(RM_ERR_TIMEOUT, "timed out")                                     \
    X(RM_ERR_AUTH, "authentication failed (wrong REMORA_TOKEN)")       \
    X(RM_ERR_VERSION, "protocol version mismatch")                     \
    X(RM_ERR_INVAL, "invalid argument")                                \
    X(RM_ERR_ADDR, "bad or unsupported address")                       \
    X(RM_ERR_NOT_FOUND, "not found")                                   \
    X(RM_ERR_TOO_BIG, "message too large")                             \
    X(RM_ERR_NOT_SUPPORTED, "not supported")                           \
    X(RM_ERR_LIMIT, "a server limit was reached")

typedef enum {
#define RM_STATUS_ENUM(name, str) name,
    RM_STATUS_LIST(RM_STATUS_ENUM)
#undef RM_STATUS_ENUM
    RM_STATUS_COUNT
} rm_status;

const char *rm_status_str(rm_status s);

#endif
