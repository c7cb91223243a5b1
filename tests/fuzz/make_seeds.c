/* Writes the seed corpora of the fuzz targets into DIR/messages, DIR/hello
 * and DIR/image: a few valid inputs each, made with the generated encoders
 * and the protocol's own structures so that they follow the spec as it
 * changes. Usage: make_seeds DIR */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "remora/protocol.h"
#include "rm_ops.h"

static int put(const char *dir, const char *sub, const char *name, const void *a, size_t na, const void *b,
               size_t nb)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(a, 1, na, f) == na && fwrite(b, 1, nb, f) == nb;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* One message: header and the encoded payload in w (reset after). */
static int message(const char *dir, const char *name, unsigned op, unsigned flags, rm_wbuf_t *w)
{
    rm_msg_hdr_t h = {.len = (uint32_t)w->len, .op = (uint16_t)op, .flags = (uint16_t)flags, .seq = 1};
    int r = put(dir, "messages", name, &h, sizeof h, w->data, w->len);
    rm_wbuf_reset(w);
    return r;
}

static int messages(const char *dir)
{
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    int r = 0;
    rm_enc_init_req(&w, &(rm_init_req_t){.flags = 0});
    r |= message(dir, "init_req", RM_OP_INIT, 0, &w);
    rm_enc_mem_alloc_req(&w, &(rm_mem_alloc_req_t){.bytes = 4096});
    r |= message(dir, "mem_alloc_req", RM_OP_MEM_ALLOC, 0, &w);
    rm_enc_mem_alloc_rep(&w, &(rm_mem_alloc_rep_t){.dptr = 0x7f0000000000ull});
    r |= message(dir, "mem_alloc_rep", RM_OP_MEM_ALLOC, RM_MSG_REPLY, &w);
    rm_enc_module_get_function_req(&w, &(rm_module_get_function_req_t){.module = 1, .name = "vector_add"});
    r |= message(dir, "module_get_function_req", RM_OP_MODULE_GET_FUNCTION, 0, &w);
    uint64_t params[3] = {0x7f0000000000ull, 0x7f0000001000ull, 256};
    rm_enc_launch_req(&w, &(rm_launch_req_t){.func = 2, .grid_x = 1, .grid_y = 1, .grid_z = 1, .block_x = 256,
                                              .block_y = 1, .block_z = 1, .params = params,
                                              .params_len = sizeof params});
    r |= message(dir, "launch_req", RM_OP_LAUNCH, RM_MSG_ASYNC, &w);
    uint32_t waits[4] = {1, 0, 7, 0};
    rm_enc_fence_req(&w, &(rm_fence_req_t){.waits = waits, .waits_len = sizeof waits});
    r |= message(dir, "fence_req", RM_OP_FENCE, 0, &w);
    rm_wbuf_free(&w);
    return r;
}

static int hellos(const char *dir)
{
    rm_hello_t h = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .pid = 42};
    strcpy(h.host, "seedhost");
    strcpy(h.program, "seed");
    int r = put(dir, "hello", "new_session", "\0", 1, &h, sizeof h); /* first byte: server without a token */
    strcpy(h.token, "fuzz-token");
    h.session_id = 3, h.channel = 1, h.incarnation = 0;
    r |= put(dir, "hello", "join_with_token", "\1", 1, &h, sizeof h);
    h.features = RM_FEAT_STATUS;
    r |= put(dir, "hello", "status", "\1", 1, &h, sizeof h);
    return r;
}

static int images(const char *dir)
{
    struct {
        Elf64_Ehdr e;
        Elf64_Shdr sh;
        Elf64_Phdr ph;
        uint8_t data[64];
    } elf = {0};
    memcpy(elf.e.e_ident, ELFMAG, SELFMAG);
    elf.e.e_shoff = offsetof(__typeof__(elf), sh), elf.e.e_shnum = 1, elf.e.e_shentsize = sizeof elf.sh;
    elf.e.e_phoff = offsetof(__typeof__(elf), ph), elf.e.e_phnum = 1, elf.e.e_phentsize = sizeof elf.ph;
    elf.sh.sh_type = SHT_PROGBITS, elf.sh.sh_offset = offsetof(__typeof__(elf), data), elf.sh.sh_size = 32;
    elf.ph.p_offset = offsetof(__typeof__(elf), data), elf.ph.p_filesz = 64;
    int r = put(dir, "image", "elf", &elf, sizeof elf, "", 0);
    struct {
        uint32_t magic;
        uint16_t version, header_size;
        uint64_t fat_size;
        uint8_t body[32];
    } fatbin = {.magic = 0xBA55ED50u, .version = 1, .header_size = 16, .fat_size = 32};
    r |= put(dir, "image", "fatbin", &fatbin, sizeof fatbin, "", 0);
    static const char ptx[] = ".version 8.0\n.target sm_90\n.address_size 64\n"
                              ".visible .entry k()\n{\n\tret;\n}\n";
    r |= put(dir, "image", "ptx", ptx, sizeof ptx, "", 0);
    return r;
}

/* Appends one dispatch record (see fuzz_dispatch.c): op, with its top bit
 * when the payload starts with the session's device pointer, the payload
 * length, then the payload encoded in w (reset after). */
static void record(rm_wbuf_t *all, unsigned op, int with_dptr, rm_wbuf_t *w)
{
    uint16_t head[2] = {(uint16_t)(op | (with_dptr ? 0x8000u : 0)), (uint16_t)w->len};
    rm_wbuf_put(all, head, sizeof head);
    rm_wbuf_put(all, w->data, w->len);
    rm_wbuf_reset(w);
}

static int dispatches(const char *dir)
{
    rm_wbuf_t w, all;
    rm_wbuf_init(&w);
    rm_wbuf_init(&all);
    uint8_t bytes[64] = {1, 2, 3};
    rm_enc_memcpy_htod_req(&w, &(rm_memcpy_htod_req_t){.data = bytes, .data_len = sizeof bytes});
    record(&all, RM_OP_MEMCPY_HTOD, 1, &w);
    rm_enc_memset_req(&w, &(rm_memset_req_t){.value = 7, .elem_size = 1, .count = 64});
    record(&all, RM_OP_MEMSET, 1, &w);
    rm_enc_memcpy_dtoh_req(&w, &(rm_memcpy_dtoh_req_t){.bytes = 64});
    record(&all, RM_OP_MEMCPY_DTOH, 1, &w);
    int r = put(dir, "dispatch", "copies", all.data, all.len, "", 0);
    rm_wbuf_reset(&all);
    static const char ptx[] = ".version 8.0\n.target sm_90\n.address_size 64\n.visible .entry rm_vector_add()\n{\n\tret;\n}\n";
    rm_enc_module_load_req(&w, &(rm_module_load_req_t){.image = ptx, .image_len = sizeof ptx});
    record(&all, RM_OP_MODULE_LOAD, 0, &w);
    rm_enc_stream_create_req(&w, &(rm_stream_create_req_t){.flags = 0});
    record(&all, RM_OP_STREAM_CREATE, 0, &w);
    rm_enc_module_get_function_req(&w, &(rm_module_get_function_req_t){.module = 1, .name = "rm_vector_add"});
    record(&all, RM_OP_MODULE_GET_FUNCTION, 0, &w);
    r |= put(dir, "dispatch", "module_stream", all.data, all.len, "", 0);
    rm_wbuf_free(&w);
    rm_wbuf_free(&all);
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    if ((mkdir(argv[1], 0755) != 0 && errno != EEXIST) || messages(argv[1]) || hellos(argv[1]) || images(argv[1]) ||
        dispatches(argv[1])) {
        fprintf(stderr, "make_seeds: cannot write under %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    return 0;
}
