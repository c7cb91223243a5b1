/* Fuzz target: a message as a peer sends it, a 24-byte header and its
 * payload, through the header check and then the decoder of its op
 * (rm_dec_any reaches every generated decoder, requests and replies). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "rm_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rm_msg_hdr_t h;
    if (size < sizeof h)
        return 0;
    memcpy(&h, data, sizeof h);
    size_t n = size - sizeof h;
    if (!(h.flags & RM_MSG_REPLY) && rm_msg_check_request(&h) != RM_OK)
        return 0;
    /* the payload in a block of its own size, as the server reads it, so
     * that any read past its end is seen */
    uint8_t *payload = malloc(n ? n : 1);
    if (!payload)
        return 0;
    memcpy(payload, data + sizeof h, n);
    rm_rbuf_t r;
    rm_rbuf_init(&r, payload, n);
    rm_status st = rm_dec_any(h.op, (h.flags & RM_MSG_REPLY) != 0, &r);
    if (st == RM_OK && (r.bad || r.left))
        abort(); /* a decoder accepted what it did not consume */
    free(payload);
    return 0;
}
