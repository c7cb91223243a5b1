/* Hello checks (see hello.h). */
#include "hello.h"

#include <stdio.h>
#include <string.h>

#include "secret.h"

/* The token field compared whole, in constant time (want fits it: the
 * server refuses longer tokens at start). */
static int token_equal(const char *want, const char *got)
{
    char w[RM_TOKEN_MAX] = {0};
    memcpy(w, want, strnlen(want, RM_TOKEN_MAX - 1));
    return rm_ct_equal(w, got, RM_TOKEN_MAX);
}

/* Why a hello's token is refused, or NULL: the client is told which side
 * has what, never the token itself. */
static const char *token_problem(const char *want, const char *got)
{
    if (token_equal(want, got))
        return NULL;
    if (!*want)
        return "the client sent a REMORA_TOKEN, but this server has none (unset it on the client)";
    if (!*got)
        return "missing REMORA_TOKEN: this server requires one";
    return "wrong REMORA_TOKEN";
}

rm_status rm_hello_check_preamble(const rm_hello_t *h, char *why, size_t n)
{
    if (h->magic != RM_PROTO_MAGIC) {
        snprintf(why, n, "not a remora client (bad magic)");
        return RM_ERR_PROTO;
    }
    if (h->version != RM_PROTO_VERSION) {
        snprintf(why, n, "protocol version mismatch: server speaks %u, client %u", RM_PROTO_VERSION,
                 h->version);
        return RM_ERR_VERSION;
    }
    return RM_OK;
}

rm_status rm_hello_check(rm_hello_t *h, const char *want, char *why, size_t n)
{
    h->token[RM_TOKEN_MAX - 1] = h->host[sizeof h->host - 1] = h->program[sizeof h->program - 1] = 0;
    /* fences name a channel by slot and incarnation, and a closed one as
     * incarnation + 1: both must stay in range */
    if (h->channel >= RM_MAX_CHANNELS || h->incarnation == UINT32_MAX) {
        snprintf(why, n, "malformed hello: channel slot %u (at most %u) or incarnation %u out of range", h->channel,
                 RM_MAX_CHANNELS - 1, h->incarnation);
        return RM_ERR_PROTO;
    }
    const char *problem = token_problem(want, h->token);
    if (problem) {
        snprintf(why, n, "authentication failed: %s", problem);
        return RM_ERR_AUTH;
    }
    return RM_OK;
}
