/* Unit test: the server's request dispatch on the fake backend, fed valid
 * requests, requests naming handles and memory the session does not own,
 * and thousands of random and mutated requests for every opcode. Nothing
 * may crash (ASan/UBSan), every bad request must fail with an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "rm_handlers.h"


static rm_backend_t backend;
static rm_session_t session;
static rm_sv_t sv;

/* Run one encoded request; returns its result, *ok = decoded. */
static CUresult run(uint16_t op, const rm_wbuf_t *req, rm_wbuf_t *rep, int *ok)
{
    /* exact-size heap copy: ASan catches any read past the request */
    uint8_t *copy = malloc(req->len ? req->len : 1);
    memcpy(copy, req->data, req->len);
    rm_rbuf_t in;
    rm_rbuf_init(&in, copy, req->len);
    rm_wbuf_reset(rep);
    CUresult r = rm_dispatch(&sv, op, &in, rep, ok);
    free(copy);
    return r;
}

static uint64_t primary_ctx;

static uint64_t setup(void)
{
    rm_wbuf_t w, rep;
    int ok;
    rm_wbuf_init(&w);
    rm_wbuf_init(&rep);
    rm_init_req_t init = {0};
    rm_enc_init_req(&w, &init);
    CHECK(run(RM_OP_INIT, &w, &rep, &ok) == CUDA_SUCCESS && ok);

    rm_wbuf_reset(&w);
    rm_primary_ctx_retain_req_t retain = {.device = 0};
    rm_enc_primary_ctx_retain_req(&w, &retain);
    CHECK(run(RM_OP_PRIMARY_CTX_RETAIN, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_rbuf_t r;
    rm_primary_ctx_retain_rep_t ctx;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_primary_ctx_retain_rep(&r, &ctx) == RM_OK && ctx.pctx);
    primary_ctx = ctx.pctx;

    rm_wbuf_reset(&w);
    rm_ctx_set_current_req_t cur = {.ctx = ctx.pctx};
    rm_enc_ctx_set_current_req(&w, &cur);
    CHECK(run(RM_OP_CTX_SET_CURRENT, &w, &rep, &ok) == CUDA_SUCCESS);

    rm_wbuf_reset(&w);
    rm_mem_alloc_req_t alloc = {.bytes = 4096};
    rm_enc_mem_alloc_req(&w, &alloc);
    CHECK(run(RM_OP_MEM_ALLOC, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_mem_alloc_rep_t mem;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_mem_alloc_rep(&r, &mem) == RM_OK && mem.dptr);
    rm_wbuf_free(&w);
    rm_wbuf_free(&rep);
    return mem.dptr;
}

static void test_validation(uint64_t dptr)
{
    rm_wbuf_t w, rep;
    int ok;
    rm_wbuf_init(&w);
    rm_wbuf_init(&rep);
    char data[64] = {0};

    /* inside the allocation: fine; straddling its end or elsewhere: refused */
    rm_memcpy_htod_req_t cp = {.dst = dptr + 4096 - 64, .data = data, .data_len = 64};
    rm_enc_memcpy_htod_req(&w, &cp);
    CHECK(run(RM_OP_MEMCPY_HTOD, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_wbuf_reset(&w);
    cp.dst = dptr + 4096 - 32;
    rm_enc_memcpy_htod_req(&w, &cp);
    CHECK(run(RM_OP_MEMCPY_HTOD, &w, &rep, &ok) == CUDA_ERROR_INVALID_VALUE);
    rm_wbuf_reset(&w);
    cp.dst = (uint64_t)(uintptr_t)&sv; /* a real address of this process */
    rm_enc_memcpy_htod_req(&w, &cp);
    CHECK(run(RM_OP_MEMCPY_HTOD, &w, &rep, &ok) == CUDA_ERROR_INVALID_VALUE);

    /* made-up and wrong-kind handles */
    rm_wbuf_reset(&w);
    rm_stream_synchronize_req_t ss = {.stream = 0x0400000100000007ull};
    rm_enc_stream_synchronize_req(&w, &ss);
    CHECK(run(RM_OP_STREAM_SYNCHRONIZE, &w, &rep, &ok) == CUDA_ERROR_INVALID_HANDLE);
    rm_wbuf_reset(&w);
    rm_stream_create_req_t sc = {.flags = 0};
    rm_enc_stream_create_req(&w, &sc);
    CHECK(run(RM_OP_STREAM_CREATE, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_rbuf_t r;
    rm_stream_create_rep_t stream;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_stream_create_rep(&r, &stream) == RM_OK);
    rm_wbuf_reset(&w);
    rm_event_query_req_t eq = {.event = stream.stream}; /* a stream id used as an event */
    rm_enc_event_query_req(&w, &eq);
    CHECK(run(RM_OP_EVENT_QUERY, &w, &rep, &ok) == CUDA_ERROR_INVALID_HANDLE);
    /* destroyed handles stay dead */
    rm_wbuf_reset(&w);
    rm_stream_destroy_req_t sd = {.stream = stream.stream};
    rm_enc_stream_destroy_req(&w, &sd);
    CHECK(run(RM_OP_STREAM_DESTROY, &w, &rep, &ok) == CUDA_SUCCESS);
    CHECK(run(RM_OP_STREAM_DESTROY, &w, &rep, &ok) == CUDA_ERROR_INVALID_HANDLE);

    /* freeing memory that is not ours */
    rm_wbuf_reset(&w);
    rm_mem_free_req_t mf = {.dptr = dptr + 16};
    rm_enc_mem_free_req(&w, &mf);
    CHECK(run(RM_OP_MEM_FREE, &w, &rep, &ok) == CUDA_ERROR_INVALID_VALUE);

    /* unknown opcodes */
    rm_wbuf_reset(&w);
    CHECK(run(0, &w, &rep, &ok) == CUDA_ERROR_NOT_SUPPORTED && !ok);
    CHECK(run(RM_OP_COUNT, &w, &rep, &ok) == CUDA_ERROR_NOT_SUPPORTED && !ok);
    CHECK(run(0xffff, &w, &rep, &ok) == CUDA_ERROR_NOT_SUPPORTED && !ok);
    rm_wbuf_free(&w);
    rm_wbuf_free(&rep);
}

/* Functions and globals of an unloaded module are gone with it. */
static void test_unload(void)
{
    rm_wbuf_t w, rep;
    rm_rbuf_t r;
    int ok;
    rm_wbuf_init(&w);
    rm_wbuf_init(&rep);
    static const char image[] = "any image: the fake backend does not parse it";
    rm_module_load_req_t ml = {.image = image, .image_len = sizeof image};
    rm_enc_module_load_req(&w, &ml);
    CHECK(run(RM_OP_MODULE_LOAD, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_module_load_rep_t mod;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_module_load_rep(&r, &mod) == RM_OK);

    rm_wbuf_reset(&w);
    rm_module_get_function_req_t gf = {.module = mod.module, .name = "rm_null"};
    rm_enc_module_get_function_req(&w, &gf);
    CHECK(run(RM_OP_MODULE_GET_FUNCTION, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_module_get_function_rep_t fn;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_module_get_function_rep(&r, &fn) == RM_OK);

    rm_wbuf_reset(&w);
    rm_module_get_global_req_t gg = {.module = mod.module, .name = "rm_counter"};
    rm_enc_module_get_global_req(&w, &gg);
    CHECK(run(RM_OP_MODULE_GET_GLOBAL, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_module_get_global_rep_t glob;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_module_get_global_rep(&r, &glob) == RM_OK);

    rm_wbuf_t launch;
    rm_wbuf_init(&launch);
    rm_launch_req_t ln = {.func = fn.func, .grid_x = 1, .grid_y = 1, .grid_z = 1, .block_x = 1, .block_y = 1,
                          .block_z = 1};
    rm_enc_launch_req(&launch, &ln);
    CHECK(run(RM_OP_LAUNCH, &launch, &rep, &ok) == CUDA_SUCCESS);
    rm_wbuf_t set;
    rm_wbuf_init(&set);
    rm_memset_req_t ms = {.dst = glob.dptr, .value = 1, .elem_size = 4, .count = 1};
    rm_enc_memset_req(&set, &ms);
    CHECK(run(RM_OP_MEMSET, &set, &rep, &ok) == CUDA_SUCCESS);

    rm_wbuf_reset(&w);
    rm_module_unload_req_t mu = {.module = mod.module};
    rm_enc_module_unload_req(&w, &mu);
    CHECK(run(RM_OP_MODULE_UNLOAD, &w, &rep, &ok) == CUDA_SUCCESS);
    CHECK(run(RM_OP_LAUNCH, &launch, &rep, &ok) == CUDA_ERROR_INVALID_HANDLE);
    CHECK(run(RM_OP_MEMSET, &set, &rep, &ok) == CUDA_ERROR_INVALID_VALUE);
    rm_wbuf_free(&w);
    rm_wbuf_free(&rep);
    rm_wbuf_free(&launch);
    rm_wbuf_free(&set);
}

/* A library's module dies with the library; the library outlives a context. */
static void test_library_module(void)
{
    rm_wbuf_t w, rep;
    rm_rbuf_t r;
    int ok;
    rm_wbuf_init(&w);
    rm_wbuf_init(&rep);
    static const char image[] = "library image";
    rm_library_load_req_t ll = {.image = image, .image_len = sizeof image};
    rm_enc_library_load_req(&w, &ll);
    CHECK(run(RM_OP_LIBRARY_LOAD, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_library_load_rep_t lib;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_library_load_rep(&r, &lib) == RM_OK);
    rm_wbuf_reset(&w);
    rm_library_get_module_req_t gm = {.library = lib.library};
    rm_enc_library_get_module_req(&w, &gm);
    CHECK(run(RM_OP_LIBRARY_GET_MODULE, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_library_get_module_rep_t mod;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_library_get_module_rep(&r, &mod) == RM_OK);
    rm_wbuf_reset(&w);
    rm_library_unload_req_t lu = {.library = lib.library};
    rm_enc_library_unload_req(&w, &lu);
    CHECK(run(RM_OP_LIBRARY_UNLOAD, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_wbuf_reset(&w);
    rm_module_get_function_req_t gf = {.module = mod.module, .name = "rm_null"};
    rm_enc_module_get_function_req(&w, &gf);
    CHECK(run(RM_OP_MODULE_GET_FUNCTION, &w, &rep, &ok) == CUDA_ERROR_INVALID_HANDLE);
    rm_wbuf_free(&w);
    rm_wbuf_free(&rep);
}

/* A created context takes its streams and memory with it when destroyed. */
static void test_ctx_destroy(uint64_t primary)
{
    rm_wbuf_t w, rep;
    rm_rbuf_t r;
    int ok;
    rm_wbuf_init(&w);
    rm_wbuf_init(&rep);
    rm_ctx_create_req_t cc = {.flags = 0, .device = 0};
    rm_enc_ctx_create_req(&w, &cc);
    CHECK(run(RM_OP_CTX_CREATE, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_ctx_create_rep_t ctx;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_ctx_create_rep(&r, &ctx) == RM_OK);

    rm_wbuf_reset(&w);
    rm_stream_create_req_t sc = {0};
    rm_enc_stream_create_req(&w, &sc);
    CHECK(run(RM_OP_STREAM_CREATE, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_stream_create_rep_t stream;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_stream_create_rep(&r, &stream) == RM_OK);
    rm_wbuf_reset(&w);
    rm_mem_alloc_req_t ma = {.bytes = 256};
    rm_enc_mem_alloc_req(&w, &ma);
    CHECK(run(RM_OP_MEM_ALLOC, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_mem_alloc_rep_t mem;
    rm_rbuf_init(&r, rep.data, rep.len);
    CHECK(rm_dec_mem_alloc_rep(&r, &mem) == RM_OK);

    rm_wbuf_reset(&w);
    rm_ctx_destroy_req_t cd = {.ctx = ctx.pctx};
    rm_enc_ctx_destroy_req(&w, &cd);
    CHECK(run(RM_OP_CTX_DESTROY, &w, &rep, &ok) == CUDA_SUCCESS);

    rm_wbuf_reset(&w);
    rm_ctx_set_current_req_t cur = {.ctx = primary};
    rm_enc_ctx_set_current_req(&w, &cur);
    CHECK(run(RM_OP_CTX_SET_CURRENT, &w, &rep, &ok) == CUDA_SUCCESS);
    rm_wbuf_reset(&w);
    rm_stream_synchronize_req_t ss = {.stream = stream.stream};
    rm_enc_stream_synchronize_req(&w, &ss);
    CHECK(run(RM_OP_STREAM_SYNCHRONIZE, &w, &rep, &ok) == CUDA_ERROR_INVALID_HANDLE);
    rm_wbuf_reset(&w);
    rm_memset_req_t ms = {.dst = mem.dptr, .value = 1, .elem_size = 4, .count = 1};
    rm_enc_memset_req(&w, &ms);
    CHECK(run(RM_OP_MEMSET, &w, &rep, &ok) == CUDA_ERROR_INVALID_VALUE);
    rm_wbuf_free(&w);
    rm_wbuf_free(&rep);
}

static void test_fuzz(uint64_t dptr)
{
    rm_wbuf_t w, rep;
    int ok;
    rm_wbuf_init(&w);
    rm_wbuf_init(&rep);
    srand(12345);
    for (int iter = 0; iter < 20000; iter++) {
        uint16_t op = (uint16_t)(1 + rand() % (RM_OP_COUNT - 1));
        if (op == RM_OP_SEGMENT_ADD) /* needs an fd on an shm socket; tested end to end */
            continue;
        rm_wbuf_reset(&w);
        size_t len = (size_t)(rand() % 96);
        for (size_t i = 0; i < len; i++) {
            /* bias toward plausible values: small numbers, our pointer, zeros */
            int k = rand() % 4;
            uint8_t b = k == 0 ? 0 : k == 1 ? (uint8_t)(rand() % 4) : (uint8_t)rand();
            rm_wbuf_put(&w, &b, 1);
        }
        if (len >= 8 && rand() % 2)
            memcpy(w.data, &dptr, 8);
        CUresult r = run(op, &w, &rep, &ok);
        if (!ok)
            CHECK(r != CUDA_SUCCESS);
    }
    rm_wbuf_free(&w);
    rm_wbuf_free(&rep);
}

int main(void)
{
    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
    rm_backend_fake_fill(&backend);
    rm_session_init(&session, &backend, 1);
    sv.s = &session;
    sv.b = &backend;
    CHECK(rm_conn_open(RM_SCHEME_TCP, sp[0], RM_ROLE_SERVER, &sv.conn) == RM_OK);
    uint64_t dptr = setup();
    test_validation(dptr);
    test_unload();
    test_ctx_destroy(primary_ctx);
    test_library_module();
    test_fuzz(dptr);
    rm_conn_close(sv.conn);
    close(sp[1]);
    free(sv.scratch);
    rm_session_destroy(&session);
    printf("PASS dispatch\n");
    return 0;
}
