/* Unit test: SHA-256 against the standard test vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sha256.h"

static void expect(const void *data, size_t n, const char *hex)
{
    uint8_t d[RM_SHA256_LEN];
    char got[2 * RM_SHA256_LEN + 1];
    rm_sha256(data, n, d);
    for (int i = 0; i < RM_SHA256_LEN; i++)
        snprintf(got + 2 * i, 3, "%02x", d[i]);
    if (strcmp(got, hex) != 0)
        fprintf(stderr, "sha256 of %zu bytes: %s, want %s\n", n, got, hex);
    CHECK(strcmp(got, hex) == 0);
}

int main(void)
{
    expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    expect(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
    printf("PASS sha256\n");
    return 0;
}
