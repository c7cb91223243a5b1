/* Unit test: secret comparison (equal, each byte position different, n = 0)
 * and the token length limit. That the comparison's time does not depend on
 * where the bytes differ is by construction (no early exit), not measured. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "secret.h"

int main(void)
{
    unsigned char a[16], b[16];
    for (int i = 0; i < 16; i++)
        a[i] = b[i] = (unsigned char)(i * 37 + 1);
    CHECK(rm_ct_equal(a, b, sizeof a));
    CHECK(rm_ct_equal(a, b, 0));
    for (int i = 0; i < 16; i++) {
        b[i] ^= 0x80;
        CHECK(!rm_ct_equal(a, b, sizeof a));
        b[i] ^= 0x80;
    }
    char token[RM_TOKEN_LEN_MAX + 2];
    memset(token, 'x', sizeof token - 1);
    token[sizeof token - 1] = 0;
    CHECK(rm_token_too_long(token)); /* 128 bytes */
    token[RM_TOKEN_LEN_MAX] = 0;
    CHECK(!rm_token_too_long(token)); /* 127 bytes */
    CHECK(!rm_token_too_long(NULL) && !rm_token_too_long(""));
    printf("secret tests passed\n");
    return 0;
}
