/* Unit test: MD2 (RFC 1319 vectors), HMAC-MD2, and the answer to cudart's
 * integrity check against the real driver's answers (notes/dark-api.md). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cudart_check.h"
#include "md2.h"

static void expect_hex(const uint8_t *d, const char *hex, const char *what)
{
    char got[33];
    for (int i = 0; i < 16; i++)
        snprintf(got + 2 * i, 3, "%02x", d[i]);
    if (strcmp(got, hex) != 0)
        fprintf(stderr, "%s: %s, want %s\n", what, got, hex);
    CHECK(strcmp(got, hex) == 0);
}

static void expect_md2(const char *s, const char *hex)
{
    uint8_t d[RM_MD2_LEN];
    rm_md2(s, strlen(s), d);
    expect_hex(d, hex, s);
}

/* The device and process the driver answered for. */
static rm_check_input_t vector_input(uint32_t rt_version, uint64_t timestamp, const rm_check_device_t *dev)
{
    return (rm_check_input_t){.driver_version = 13000,
                              .rt_version = rt_version,
                              .pid = 769,
                              .tid = 0xac069740u,
                              .cudart_table = 0x7fd2abc4c680ull,
                              .check_table = 0x7fd2abc4c660ull,
                              .check_fn = 0x7fd2a65ab350ull,
                              .timestamp = timestamp,
                              .devices = dev,
                              .ndevices = 1};
}

int main(void)
{
    expect_md2("", "8350e5a3e24c153df2275c9f80692773");
    expect_md2("a", "32ec01ec4a6dac72c0ab96fb34c0b5d1");
    expect_md2("abc", "da853b0d3f88d99b30283a69e6ded6bb");
    expect_md2("message digest", "ab4f496bfb2a530b219ff33031fe06b0");
    expect_md2("abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b");
    expect_md2("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
               "d5976f79d83d3a0dc9806c3c66f3efd8");

    /* Streaming in odd pieces gives the same digest. */
    const char *msg = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
    rm_md2_t c;
    uint8_t d[RM_MD2_LEN];
    rm_md2_init(&c);
    for (size_t i = 0, step = 1; i < strlen(msg); i += step, step = step % 7 + 1)
        rm_md2_update(&c, msg + i, i + step <= strlen(msg) ? step : strlen(msg) - i);
    rm_md2_final(&c, d);
    expect_hex(d, "d5976f79d83d3a0dc9806c3c66f3efd8", "streamed");

    rm_check_device_t dev = {.uuid = {0x87, 0x16, 0xc4, 0xa0, 0x94, 0x15, 0x28, 0xc4, 0x6c, 0xb2, 0x9e, 0x94,
                                      0x4b, 0x36, 0xd2, 0x0c},
                             .pci_domain = 0,
                             .pci_bus = 0,
                             .pci_device = 6};
    rm_check_input_t in = vector_input(13002, 0x64a365ee, &dev);
    rm_cudart_check_answer(&in, d);
    expect_hex(d, "02b394ec3005fc7b95d98f2c364ebc10", "check 13002 0x64a365ee");
    in = vector_input(13002, 0xdeadbeefcafef00dull, &dev);
    rm_cudart_check_answer(&in, d);
    expect_hex(d, "504dcff100eac7785693b53fc91f7147", "check 13002 0xdeadbeefcafef00d");
    in = vector_input(13000, 12345, &dev);
    rm_cudart_check_answer(&in, d);
    expect_hex(d, "5c67cb031c184133e8d14c1faa83d38e", "check 13000");
    in = vector_input(13001, 99, NULL);
    in.ndevices = 0;
    rm_cudart_check_answer(&in, d);
    expect_hex(d, "5c67cb031c184118e8d14c1faa83d38e", "check 13001");
    /* Every input counts: another thread id gives another answer. */
    in = vector_input(13002, 0x64a365ee, &dev);
    in.tid ^= 1;
    rm_cudart_check_answer(&in, d);
    CHECK(memcmp(d, "\x02\xb3\x94\xec", 4) != 0);
    printf("test_cudart_check: ok\n");
    return 0;
}
