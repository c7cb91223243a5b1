/* The checks of a client's hello (include/remora/protocol.h), apart from
 * the sockets they arrive on: each says what to answer a client it refuses. */
#ifndef RM_HELLO_H
#define RM_HELLO_H

#include <stddef.h>

#include "remora/protocol.h"
#include "remora/status.h"

/* Magic and version, checkable once the first 8 bytes are in: RM_OK, or
 * RM_ERR_PROTO / RM_ERR_VERSION with the client's message in why[n]. */
rm_status rm_hello_check_preamble(const rm_hello_t *h, char *why, size_t n);
/* A complete hello: terminates its strings in place, refuses a channel slot
 * or incarnation out of range (RM_ERR_PROTO) and compares its token with
 * want ("": the server has none) in constant time. RM_OK, or RM_ERR_PROTO /
 * RM_ERR_AUTH with the client's message in why[n] (never the token). */
rm_status rm_hello_check(rm_hello_t *h, const char *want, char *why, size_t n);

#endif
