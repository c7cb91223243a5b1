/* Fuzz target: the bytes a client opens a connection with, checked as the
 * listener does: the preamble once 8 bytes are in, then the whole hello
 * against a server token (empty or not, from the input's first byte). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *want = data[0] & 1 ? "fuzz-token" : "";
    data++, size--;
    rm_hello_t h = {0};
    memcpy(&h, data, size < sizeof h ? size : sizeof h);
    char why[128];
    if (size < 8 || rm_hello_check_preamble(&h, why, sizeof why) != RM_OK || size < sizeof h)
        return 0;
    rm_status st = rm_hello_check(&h, want, why, sizeof why);
    if (strnlen(h.token, sizeof h.token) == sizeof h.token || strnlen(h.host, sizeof h.host) == sizeof h.host ||
        strnlen(h.program, sizeof h.program) == sizeof h.program)
        abort(); /* a string the listener would log or keep is unterminated */
    if (st == RM_OK && strcmp(h.token, want) != 0)
        abort(); /* a wrong token accepted */
    if (st == RM_OK && (h.channel >= RM_MAX_CHANNELS || h.incarnation == UINT32_MAX))
        abort(); /* a slot or incarnation that fences cannot name accepted */
    return 0;
}
