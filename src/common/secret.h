/* Comparing secrets (the token, session keys) without leaking through
 * timing where they differ, and the token's length limit. */
#ifndef RM_SECRET_H
#define RM_SECRET_H

#include <stddef.h>

/* 1 if the n bytes at a and b are equal; the time taken depends on n only. */
int rm_ct_equal(const void *a, const void *b, size_t n);

/* Longest token the handshake carries whole (RM_TOKEN_MAX less its NUL).
 * A longer one would be cut on one side and never match: both sides refuse
 * it at start. */
#define RM_TOKEN_LEN_MAX 127
/* 1 if token (NULL: none) is longer than RM_TOKEN_LEN_MAX. */
int rm_token_too_long(const char *token);

#endif
