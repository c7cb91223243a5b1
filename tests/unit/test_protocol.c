/* Unit test: the generated codec. Round trips, and every decoder fed
 * truncated, overlong and corrupted input must fail cleanly (run under
 * ASan/UBSan: an out-of-bounds read fails the test). */
#include <stdio.h>
#include <stdlib.h>
#include <elf.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

#include "check.h"
#include "image.h"
#include "msg.h"
#include "rm_ops.h"


static rm_status decode_launch(const void *p, size_t n, rm_launch_req_t *m)
{
    rm_rbuf_t r;
    /* copy into an exact-size heap block so ASan sees any overread */
    void *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    rm_rbuf_init(&r, copy, n);
    rm_status st = rm_dec_launch_req(&r, m);
    free(copy);
    return st;
}

static void test_round_trip(void)
{
    char params[40] = "kernel parameters";
    uint8_t big[100000];
    memset(big, 7, sizeof big);
    rm_launch_req_t in = {.func = 0x0300000100000001ull, .grid_x = 1, .grid_y = 2, .grid_z = 3, .block_x = 4,
                          .block_y = 5, .block_z = 6, .shared_bytes = 7, .stream = 2, .params = params,
                          .params_len = sizeof params, .attrs = big, .attrs_len = sizeof big};
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_enc_launch_req(&w, &in);
    CHECK(!w.oom);
    CHECK(w.nrefs == 1); /* the large blob is referenced, not copied */
    /* flatten as the transport would send it */
    uint8_t *flat = malloc(rm_wbuf_total(&w));
    struct iovec iov[2 * RM_WBUF_MAX_REFS + 1];
    size_t at = 0;
    int n = rm_wbuf_iov(&w, iov);
    for (int i = 0; i < n; i++) {
        memcpy(flat + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    CHECK(at == rm_wbuf_total(&w));
    rm_launch_req_t out;
    rm_rbuf_t r;
    rm_rbuf_init(&r, flat, at);
    CHECK(rm_dec_launch_req(&r, &out) == RM_OK);
    CHECK(out.func == in.func && out.grid_z == 3 && out.block_x == 4 && out.shared_bytes == 7 && out.stream == 2);
    CHECK(out.params_len == sizeof params && memcmp(out.params, params, sizeof params) == 0);
    CHECK(out.attrs_len == sizeof big && memcmp(out.attrs, big, sizeof big) == 0);

    /* every truncation fails */
    for (size_t len = 0; len < at; len += (len < 200 ? 1 : 997))
        CHECK(decode_launch(flat, len, &out) == RM_ERR_PROTO);
    /* trailing garbage fails */
    uint8_t *longer = calloc(1, at + 1);
    memcpy(longer, flat, at);
    CHECK(decode_launch(longer, at + 1, &out) == RM_ERR_PROTO);
    /* a blob length pointing past the end fails */
    uint32_t huge = 0xfffffff0u;
    memcpy(flat + 8 + 7 * 4 + 8, &huge, 4); /* params length field */
    CHECK(decode_launch(flat, at, &out) == RM_ERR_PROTO);
    free(longer);
    free(flat);
    rm_wbuf_free(&w);
}

static void test_cstr(void)
{
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_module_get_function_req_t in = {.module = 5, .name = "rm_vector_add"};
    rm_enc_module_get_function_req(&w, &in);
    rm_module_get_function_req_t out;
    rm_rbuf_t r;
    rm_rbuf_init(&r, w.data, w.len);
    CHECK(rm_dec_module_get_function_req(&r, &out) == RM_OK);
    CHECK(out.module == 5 && strcmp(out.name, "rm_vector_add") == 0);
    /* a string without its terminating NUL fails */
    w.data[w.len - 1] = 'x';
    rm_rbuf_init(&r, w.data, w.len);
    CHECK(rm_dec_module_get_function_req(&r, &out) == RM_ERR_PROTO);
    /* a NUL inside the string fails: "rm_vector" would reach the driver
     * while the peer sent more */
    w.data[w.len - 1] = '\0';
    w.data[w.len - 5] = '\0';
    rm_rbuf_init(&r, w.data, w.len);
    CHECK(rm_dec_module_get_function_req(&r, &out) == RM_ERR_PROTO);
    /* an empty string field (length 0) fails */
    rm_wbuf_reset(&w);
    rm_wbuf_u64(&w, 5);
    rm_wbuf_u32(&w, 0);
    rm_rbuf_init(&r, w.data, w.len);
    CHECK(rm_dec_module_get_function_req(&r, &out) == RM_ERR_PROTO);
    rm_wbuf_free(&w);
}

/* rm_dec_any reaches the decoder of every op, requests and replies, and
 * refuses an op outside rm_op. */
static void test_dec_any(void)
{
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_mem_alloc_req_t in = {.bytes = 4096};
    rm_enc_mem_alloc_req(&w, &in);
    rm_rbuf_t r;
    rm_rbuf_init(&r, w.data, w.len);
    CHECK(rm_dec_any(RM_OP_MEM_ALLOC, 0, &r) == RM_OK);
    rm_rbuf_init(&r, w.data, w.len - 1); /* one byte short */
    CHECK(rm_dec_any(RM_OP_MEM_ALLOC, 0, &r) == RM_ERR_PROTO);
    rm_rbuf_init(&r, w.data, w.len); /* a reply of 8 bytes, the same layout */
    CHECK(rm_dec_any(RM_OP_MEM_ALLOC, 1, &r) == RM_OK);
    rm_rbuf_init(&r, w.data, w.len);
    CHECK(rm_dec_any(RM_OP_NONE, 0, &r) == RM_ERR_PROTO);
    rm_rbuf_init(&r, w.data, w.len);
    CHECK(rm_dec_any(RM_OP_COUNT, 1, &r) == RM_ERR_PROTO);
    /* every op answers for a payload of garbage without reading past it */
    uint8_t *junk = malloc(7);
    memset(junk, 0xff, 7);
    for (unsigned op = RM_OP_NONE + 1; op < RM_OP_COUNT; op++)
        for (int reply = 0; reply < 2; reply++) {
            rm_rbuf_init(&r, junk, 7);
            rm_status st = rm_dec_any(op, reply, &r);
            CHECK(st == RM_OK || st == RM_ERR_PROTO);
        }
    free(junk);
    rm_wbuf_free(&w);
}

static void test_msg_check(void)
{
    rm_msg_hdr_t h = {.len = RM_MAX_MSG, .op = RM_OP_INIT};
    CHECK(rm_msg_check_request(&h) == RM_OK);
    h.len = RM_MAX_MSG + 1;
    CHECK(rm_msg_check_request(&h) == RM_ERR_TOO_BIG);
    h.len = 0, h.flags = RM_MSG_REPLY;
    CHECK(rm_msg_check_request(&h) == RM_ERR_PROTO);
    h.flags = RM_MSG_ASYNC;
    CHECK(rm_msg_check_request(&h) == RM_OK);
}

static void test_image_size(void)
{
    /* fatbin: header (16 bytes) + payload size from the header */
    uint8_t fb[64] = {0};
    uint32_t magic = 0xBA55ED50u;
    uint16_t hdr = 16;
    uint64_t fat = 48;
    memcpy(fb, &magic, 4);
    memcpy(fb + 6, &hdr, 2);
    memcpy(fb + 8, &fat, 8);
    CHECK(rm_image_size(fb, sizeof fb) == 64);
    fat = 1000; /* claims more than is there: reported, callers compare */
    memcpy(fb + 8, &fat, 8);
    CHECK(rm_image_size(fb, sizeof fb) == 1016);
    /* text: up to and including its NUL; none within reach: 0 */
    CHECK(rm_image_size("ptx text", 9) == 9);
    CHECK(rm_image_size("ptx text", 8) == 0);
    CHECK(rm_image_size("", 1) == 1);
    /* a fatbin wrapper stands for its fatbin in the client; its pointer means
     * nothing elsewhere, so as an image it is refused */
    struct {
        uint32_t magic, version;
        const void *data, *more;
    } wrapper = {0x466243B1u, 1, fb, NULL};
    CHECK(rm_image_unwrap(&wrapper) == fb);
    CHECK(rm_image_unwrap(fb) == fb);
    CHECK(rm_image_size(&wrapper, sizeof wrapper) == 0);
}

/* An ELF image of 64-byte header, one section header and one program
 * header, whose fields a test then bends. */
typedef struct {
    Elf64_Ehdr e;
    Elf64_Shdr sh;
    Elf64_Phdr ph;
    uint8_t data[64];
} tiny_elf_t;

static void tiny_elf(tiny_elf_t *t)
{
    memset(t, 0, sizeof *t);
    memcpy(t->e.e_ident, ELFMAG, SELFMAG);
    t->e.e_shoff = offsetof(tiny_elf_t, sh), t->e.e_shnum = 1, t->e.e_shentsize = sizeof t->sh;
    t->e.e_phoff = offsetof(tiny_elf_t, ph), t->e.e_phnum = 1, t->e.e_phentsize = sizeof t->ph;
    t->sh.sh_type = SHT_PROGBITS, t->sh.sh_offset = offsetof(tiny_elf_t, data), t->sh.sh_size = 32;
    t->ph.p_offset = offsetof(tiny_elf_t, data), t->ph.p_filesz = 64;
}

static void test_elf_image_bounds(void)
{
    tiny_elf_t t;
    tiny_elf(&t);
    CHECK(rm_image_size(&t, sizeof t) == sizeof t); /* the segment reaches the end */
    /* a section table that claims to start near 2^64 (the sum overflowed before) */
    t.e.e_shoff = UINT64_MAX - 8;
    CHECK(rm_image_size(&t, sizeof t) == SIZE_MAX);
    tiny_elf(&t);
    t.e.e_phnum = 0xffff, t.e.e_phentsize = 0xffff, t.e.e_phoff = UINT64_MAX / 2; /* no overflow: far past */
    CHECK(rm_image_size(&t, sizeof t) == UINT64_MAX / 2 + 0xffffull * 0xffff);
    t.e.e_phoff = UINT64_MAX - 0xffff;
    CHECK(rm_image_size(&t, sizeof t) == SIZE_MAX);
    /* contents past what arrived, or whose end overflows */
    tiny_elf(&t);
    t.sh.sh_size = 1 << 20;
    CHECK(rm_image_size(&t, sizeof t) == offsetof(tiny_elf_t, data) + (1 << 20));
    t.sh.sh_size = UINT64_MAX;
    CHECK(rm_image_size(&t, sizeof t) == SIZE_MAX);
    t.sh.sh_type = SHT_NOBITS; /* takes no bytes of the file */
    CHECK(rm_image_size(&t, sizeof t) == sizeof t);
    tiny_elf(&t);
    t.ph.p_offset = UINT64_MAX - 1, t.ph.p_filesz = 16;
    CHECK(rm_image_size(&t, sizeof t) == SIZE_MAX);
    /* table entries smaller than the format's */
    tiny_elf(&t);
    t.e.e_shentsize = 8;
    CHECK(rm_image_size(&t, sizeof t) == SIZE_MAX);
    /* a header alone that claims a table beyond what arrived: the table's end */
    tiny_elf(&t);
    CHECK(rm_image_size(&t, sizeof t.e) == offsetof(tiny_elf_t, ph) + sizeof t.ph);
}

static void test_op_table(void)
{
    CHECK(strcmp(rm_op_name(RM_OP_LAUNCH), "launch") == 0);
    CHECK(rm_op_info[RM_OP_LAUNCH].is_async == 1);
    CHECK(rm_op_info[RM_OP_MEM_ALLOC].is_async == 0);
    CHECK(strcmp(rm_op_name(60000), "unknown") == 0);
}

int main(void)
{
    test_round_trip();
    test_cstr();
    test_op_table();
    test_dec_any();
    test_msg_check();
    test_image_size();
    test_elf_image_bounds();
    printf("PASS protocol\n");
    return 0;
}
