/* Unit test: the checks of a client's hello (src/server/hello.c): magic,
 * version, strings terminated in place, the token compared whole, and
 * what a refused client is told. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "hello.h"

static rm_hello_t good_hello(void)
{
    rm_hello_t h = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION};
    strcpy(h.host, "host");
    strcpy(h.program, "prog");
    return h;
}

static void test_preamble(void)
{
    char why[128];
    rm_hello_t h = good_hello();
    CHECK(rm_hello_check_preamble(&h, why, sizeof why) == RM_OK);
    h.magic = 0x12345678;
    CHECK(rm_hello_check_preamble(&h, why, sizeof why) == RM_ERR_PROTO);
    CHECK(strstr(why, "bad magic"));
    h = good_hello();
    h.version = RM_PROTO_VERSION + 1;
    CHECK(rm_hello_check_preamble(&h, why, sizeof why) == RM_ERR_VERSION);
    char want[64];
    snprintf(want, sizeof want, "server speaks %u, client %u", RM_PROTO_VERSION, RM_PROTO_VERSION + 1);
    CHECK(strstr(why, want));
}

static void test_token(void)
{
    char why[128];
    rm_hello_t h = good_hello();
    CHECK(rm_hello_check(&h, "", why, sizeof why) == RM_OK);
    CHECK(rm_hello_check(&h, "secret", why, sizeof why) == RM_ERR_AUTH);
    CHECK(strstr(why, "missing REMORA_TOKEN"));
    strcpy(h.token, "secret");
    CHECK(rm_hello_check(&h, "secret", why, sizeof why) == RM_OK);
    CHECK(rm_hello_check(&h, "", why, sizeof why) == RM_ERR_AUTH);
    CHECK(strstr(why, "this server has none"));
    CHECK(rm_hello_check(&h, "secreT", why, sizeof why) == RM_ERR_AUTH);
    CHECK(strstr(why, "wrong REMORA_TOKEN") && !strstr(why, "secret"));
    /* bytes after the token's NUL are part of the field: refused */
    h.token[10] = 'x';
    CHECK(rm_hello_check(&h, "secret", why, sizeof why) == RM_ERR_AUTH);
}

static void test_terminated(void)
{
    char why[128];
    rm_hello_t h = good_hello();
    memset(h.token, 'a', sizeof h.token);
    memset(h.host, 'b', sizeof h.host);
    memset(h.program, 'c', sizeof h.program);
    rm_hello_check(&h, "", why, sizeof why);
    CHECK(strlen(h.token) == sizeof h.token - 1 && strlen(h.host) == sizeof h.host - 1 &&
          strlen(h.program) == sizeof h.program - 1);
}

/* A slot fences cannot name, or an incarnation whose closed mark (inc + 1)
 * wraps to 0 so that fences on it never wait: refused before the token. */
static void test_channel_range(void)
{
    char why[160];
    rm_hello_t h = good_hello();
    h.channel = RM_MAX_CHANNELS - 1;
    h.incarnation = UINT32_MAX - 1;
    CHECK(rm_hello_check(&h, "", why, sizeof why) == RM_OK);
    h.channel = RM_MAX_CHANNELS;
    CHECK(rm_hello_check(&h, "", why, sizeof why) == RM_ERR_PROTO);
    CHECK(strstr(why, "channel slot"));
    h = good_hello();
    h.incarnation = UINT32_MAX;
    CHECK(rm_hello_check(&h, "", why, sizeof why) == RM_ERR_PROTO);
    CHECK(strstr(why, "incarnation"));
}

int main(void)
{
    test_preamble();
    test_token();
    test_terminated();
    test_channel_range();
    printf("PASS hello\n");
    return 0;
}
