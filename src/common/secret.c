/* Secrets: constant-time comparison and the token limit (see secret.h). */
#include "secret.h"

#include <stdint.h>
#include <string.h>

#include "remora/protocol.h"

_Static_assert(RM_TOKEN_LEN_MAX == RM_TOKEN_MAX - 1, "the hello's token field holds the longest token and a NUL");

int rm_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
}

int rm_token_too_long(const char *token) { return token && strlen(token) > RM_TOKEN_LEN_MAX; }
