/* Unit test: the server's request dispatch on the fake backend, fed valid
 * requests, requests naming handles and memory the session does not own,
 * and thousands of random and mutated requests for every opcode. Nothing
 * may crash (ASan/UBSan), every bad request must fail with an error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "rm_handlers.h"

static rm_backend_t backend;
static rm_session_t session;
static rm_sv_t sv;
static rm_wbuf_t request, reply;

/* Run one encoded request; returns its result, *ok = decoded. */
static CUresult run(uint16_t op, const rm_wbuf_t *req, int *ok)
{
    /* exact-size heap copy: ASan catches any read past the request */
    uint8_t *copy = malloc(req->len ? req->len : 1);
    memcpy(copy, req->data, req->len);
    rm_rbuf_t in;
    rm_rbuf_init(&in, copy, req->len);
    rm_wbuf_reset(&reply);
    CUresult r = rm_dispatch(&sv, op, &in, &reply, ok);
    free(copy);
    return r;
}

static CUresult run_request(uint16_t op)
{
    int ok;
    CUresult r = run(op, &request, &ok);
    CHECK(ok); /* well-formed requests always decode */
    return r;
}

/* CALL(name, RM_OP_NAME, {fields}): encode that request, run it, return
 * the result. REPLY(name, &out): decode the last reply. */
#define CALL(NAME, OP, ...)                      \
    ({                                           \
        rm_##NAME##_req_t in_ = __VA_ARGS__;     \
        rm_wbuf_reset(&request);                 \
        rm_enc_##NAME##_req(&request, &in_);     \
        run_request(OP);                         \
    })
#define REPLY(NAME, outp)                                       \
    do {                                                        \
        rm_rbuf_t b_;                                           \
        rm_rbuf_init(&b_, reply.data, reply.len);               \
        CHECK(rm_dec_##NAME##_rep(&b_, (outp)) == RM_OK);       \
    } while (0)

static uint64_t primary_ctx;

/* cuInit, the primary context made current, one allocation of 4 KiB. */
static uint64_t setup(void)
{
    CHECK(CALL(init, RM_OP_INIT, {0}) == CUDA_SUCCESS);
    CHECK(CALL(primary_ctx, RM_OP_PRIMARY_CTX, {.device = 0, .retain = 1}) == CUDA_SUCCESS);
    rm_primary_ctx_rep_t ctx;
    REPLY(primary_ctx, &ctx);
    CHECK(ctx.pctx);
    primary_ctx = ctx.pctx;
    CHECK(CALL(ctx_set_current, RM_OP_CTX_SET_CURRENT, {.ctx = ctx.pctx}) == CUDA_SUCCESS);
    CHECK(CALL(mem_alloc, RM_OP_MEM_ALLOC, {.bytes = 4096}) == CUDA_SUCCESS);
    rm_mem_alloc_rep_t mem;
    REPLY(mem_alloc, &mem);
    CHECK(mem.dptr);
    return mem.dptr;
}

/* Bulk copy data (RM_SV_BULK_MIN bytes and more) goes back from the
 * channel's page-locked bulk buffer, small copies from the scratch buffer. */
static void test_bulk_buffer(void)
{
    CHECK(CALL(mem_alloc, RM_OP_MEM_ALLOC, {.bytes = 2 * RM_SV_BULK_MIN}) == CUDA_SUCCESS);
    rm_mem_alloc_rep_t mem;
    REPLY(mem_alloc, &mem);
    CHECK(CALL(memcpy_dtoh, RM_OP_MEMCPY_DTOH, {.src = mem.dptr, .bytes = 2 * RM_SV_BULK_MIN}) == CUDA_SUCCESS);
    CHECK(sv.bulk && sv.bulk_pinned && rm_wbuf_total(&reply) >= 2 * RM_SV_BULK_MIN);
    CHECK(CALL(memcpy_dtoh, RM_OP_MEMCPY_DTOH, {.src = mem.dptr, .bytes = RM_SV_BULK_MIN - 1}) == CUDA_SUCCESS);
    CHECK(sv.scratch_cap >= RM_SV_BULK_MIN - 1);
    CHECK(CALL(mem_free, RM_OP_MEM_FREE, {.dptr = mem.dptr}) == CUDA_SUCCESS);
}

static void test_validation(uint64_t dptr)
{
    char data[64] = {0};
    /* a device-to-host copy outside the session's memory is refused before
     * the reply's scratch buffer grows to its size (the first copy here) */
    CHECK(sv.scratch_cap == 0);
    CHECK(CALL(memcpy_dtoh, RM_OP_MEMCPY_DTOH, {.src = dptr + 4096, .bytes = RM_CHUNK}) == CUDA_ERROR_INVALID_VALUE);
    CHECK(sv.scratch_cap == 0 && !sv.bulk);
    /* inside the allocation: fine; straddling its end or elsewhere: refused */
    CHECK(CALL(memcpy_htod, RM_OP_MEMCPY_HTOD, {.dst = dptr + 4096 - 64, .data = data, .data_len = 64}) ==
          CUDA_SUCCESS);
    CHECK(CALL(memcpy_htod, RM_OP_MEMCPY_HTOD, {.dst = dptr + 4096 - 32, .data = data, .data_len = 64}) ==
          CUDA_ERROR_INVALID_VALUE);
    CHECK(CALL(memcpy_htod, RM_OP_MEMCPY_HTOD, {.dst = (uint64_t)(uintptr_t)&sv, .data = data, .data_len = 64}) ==
          CUDA_ERROR_INVALID_VALUE); /* a real address of this process */

    /* made-up and wrong-kind handles */
    CHECK(CALL(stream_synchronize, RM_OP_STREAM_SYNCHRONIZE, {.stream = 0x0400000100000007ull}) ==
          CUDA_ERROR_INVALID_HANDLE);
    CHECK(CALL(stream_create, RM_OP_STREAM_CREATE, {.flags = 0}) == CUDA_SUCCESS);
    rm_stream_create_rep_t stream;
    REPLY(stream_create, &stream);
    CHECK(CALL(event_query, RM_OP_EVENT_QUERY, {.event = stream.stream}) == CUDA_ERROR_INVALID_HANDLE);
    /* destroyed handles stay dead */
    CHECK(CALL(stream_destroy, RM_OP_STREAM_DESTROY, {.stream = stream.stream}) == CUDA_SUCCESS);
    CHECK(CALL(stream_destroy, RM_OP_STREAM_DESTROY, {.stream = stream.stream}) == CUDA_ERROR_INVALID_HANDLE);
    /* freeing memory that is not ours */
    CHECK(CALL(mem_free, RM_OP_MEM_FREE, {.dptr = dptr + 16}) == CUDA_ERROR_INVALID_VALUE);
    /* a 2D memset whose range overflows */
    CHECK(CALL(memset_2d, RM_OP_MEMSET_2D,
               {.dst = dptr, .pitch = 1ull << 32, .value = 1, .elem_size = 1, .width = 1, .height = (1ull << 32) + 1}) ==
          CUDA_ERROR_INVALID_VALUE);

    /* unknown opcodes */
    int ok;
    rm_wbuf_reset(&request);
    CHECK(run(0, &request, &ok) == CUDA_ERROR_NOT_SUPPORTED && !ok);
    CHECK(run(RM_OP_COUNT, &request, &ok) == CUDA_ERROR_NOT_SUPPORTED && !ok);
    CHECK(run(0xffff, &request, &ok) == CUDA_ERROR_NOT_SUPPORTED && !ok);
}

/* A fatbin wrapper names memory of the client's process: as an image sent to
 * the server (where its pointer would be read) it is refused. */
static void test_wrapper_image(void)
{
    struct {
        uint32_t magic, version;
        uint64_t data, more;
    } wrapper = {0x466243B1u, 1, 0x1000, 0};
    CHECK(CALL(module_load, RM_OP_MODULE_LOAD, {.image = &wrapper, .image_len = sizeof wrapper}) ==
          CUDA_ERROR_INVALID_IMAGE);
    CHECK(CALL(library_load, RM_OP_LIBRARY_LOAD, {.image = &wrapper, .image_len = sizeof wrapper}) ==
          CUDA_ERROR_INVALID_IMAGE);
}

/* Functions and globals of an unloaded module are gone with it. */
static void test_unload(void)
{
    static const char image[] = "any image: the fake backend does not parse it";
    CHECK(CALL(module_load, RM_OP_MODULE_LOAD, {.image = image, .image_len = sizeof image}) == CUDA_SUCCESS);
    rm_module_load_rep_t mod;
    REPLY(module_load, &mod);
    CHECK(CALL(module_get_function, RM_OP_MODULE_GET_FUNCTION, {.module = mod.module, .name = "rm_null"}) ==
          CUDA_SUCCESS);
    rm_module_get_function_rep_t fn;
    REPLY(module_get_function, &fn);
    CHECK(CALL(module_get_global, RM_OP_MODULE_GET_GLOBAL, {.module = mod.module, .name = "rm_counter"}) ==
          CUDA_SUCCESS);
    rm_module_get_global_rep_t glob;
    REPLY(module_get_global, &glob);

    rm_launch_req_t launch = {.func = fn.func, .grid_x = 1, .grid_y = 1, .grid_z = 1, .block_x = 1, .block_y = 1,
                              .block_z = 1};
    rm_memset_req_t set = {.dst = glob.dptr, .value = 1, .elem_size = 4, .count = 1};
    CHECK(CALL(launch, RM_OP_LAUNCH, launch) == CUDA_SUCCESS);
    CHECK(CALL(memset, RM_OP_MEMSET, set) == CUDA_SUCCESS);
    CHECK(CALL(module_unload, RM_OP_MODULE_UNLOAD, {.module = mod.module}) == CUDA_SUCCESS);
    CHECK(CALL(launch, RM_OP_LAUNCH, launch) == CUDA_ERROR_INVALID_HANDLE);
    CHECK(CALL(memset, RM_OP_MEMSET, set) == CUDA_ERROR_INVALID_VALUE);
}

/* A library's module dies with the library; the library outlives a context. */
static void test_library_module(void)
{
    static const char image[] = "library image";
    CHECK(CALL(library_load, RM_OP_LIBRARY_LOAD, {.image = image, .image_len = sizeof image}) == CUDA_SUCCESS);
    rm_library_load_rep_t lib;
    REPLY(library_load, &lib);
    CHECK(CALL(library_get_module, RM_OP_LIBRARY_GET_MODULE, {.library = lib.library}) == CUDA_SUCCESS);
    rm_library_get_module_rep_t mod;
    REPLY(library_get_module, &mod);
    CHECK(CALL(library_unload, RM_OP_LIBRARY_UNLOAD, {.library = lib.library}) == CUDA_SUCCESS);
    CHECK(CALL(module_get_function, RM_OP_MODULE_GET_FUNCTION, {.module = mod.module, .name = "rm_null"}) ==
          CUDA_ERROR_INVALID_HANDLE);
}

/* A created context takes its streams and memory with it when destroyed. */
static void test_ctx_destroy(void)
{
    CHECK(CALL(ctx_create, RM_OP_CTX_CREATE, {.flags = 0, .device = 0}) == CUDA_SUCCESS);
    rm_ctx_create_rep_t ctx;
    REPLY(ctx_create, &ctx);
    CHECK(CALL(stream_create, RM_OP_STREAM_CREATE, {0}) == CUDA_SUCCESS);
    rm_stream_create_rep_t stream;
    REPLY(stream_create, &stream);
    CHECK(CALL(mem_alloc, RM_OP_MEM_ALLOC, {.bytes = 256}) == CUDA_SUCCESS);
    rm_mem_alloc_rep_t mem;
    REPLY(mem_alloc, &mem);
    CHECK(CALL(ctx_destroy, RM_OP_CTX_DESTROY, {.ctx = ctx.pctx}) == CUDA_SUCCESS);
    CHECK(CALL(ctx_set_current, RM_OP_CTX_SET_CURRENT, {.ctx = primary_ctx}) == CUDA_SUCCESS);
    CHECK(CALL(stream_synchronize, RM_OP_STREAM_SYNCHRONIZE, {.stream = stream.stream}) ==
          CUDA_ERROR_INVALID_HANDLE);
    CHECK(CALL(memset, RM_OP_MEMSET, {.dst = mem.dptr, .value = 1, .elem_size = 4, .count = 1}) ==
          CUDA_ERROR_INVALID_VALUE);
}

/* Handles look like pointers to aligned user-space objects (libraries above
 * the driver treat them as pointers); a tagged or truncated one is refused. */
static void test_handle_shape(void)
{
    CHECK(CALL(stream_create, RM_OP_STREAM_CREATE, {.flags = 0}) == CUDA_SUCCESS);
    rm_stream_create_rep_t out;
    REPLY(stream_create, &out);
    CHECK(out.stream % 16 == 0 && out.stream >= (1ull << 46) && out.stream < (1ull << 47));
    CHECK(CALL(stream_synchronize, RM_OP_STREAM_SYNCHRONIZE, {.stream = out.stream | 1}) ==
          CUDA_ERROR_INVALID_HANDLE);
    CHECK(CALL(stream_synchronize, RM_OP_STREAM_SYNCHRONIZE, {.stream = out.stream & 0xffffffffu}) ==
          CUDA_ERROR_INVALID_HANDLE);
    CHECK(CALL(stream_destroy, RM_OP_STREAM_DESTROY, {.stream = out.stream}) == CUDA_SUCCESS);

    /* an owned handle names its owner, whose kind the id itself tells */
    static int level, mipmap;
    uint64_t owner = rm_handles_put(&session.handles, RM_H_MIPMAP, &mipmap);
    uint64_t id = rm_handles_put_owned(&session.handles, RM_H_ARRAY, &level, owner);
    CHECK(owner && id && rm_handles_kind(id) == RM_H_ARRAY && rm_handles_kind(owner) == RM_H_MIPMAP);
    CHECK(rm_handles_owner(&session.handles, id) == owner);
    CHECK(rm_handles_del(&session.handles, RM_H_ARRAY, id) == 0);
    CHECK(rm_handles_del(&session.handles, RM_H_MIPMAP, owner) == 0);

    /* a session's server tag (the client's index of this server) is in
     * every id it makes; the same id with another server's tag is refused */
    rm_handles_set_tag(&session.handles, 5);
    CHECK(CALL(stream_create, RM_OP_STREAM_CREATE, {.flags = 0}) == CUDA_SUCCESS);
    REPLY(stream_create, &out);
    CHECK(((out.stream >> RM_HANDLE_TAG_SHIFT) & RM_HANDLE_TAG_MASK) == 5 && out.stream < (1ull << 47));
    uint64_t other = out.stream ^ (6ull << RM_HANDLE_TAG_SHIFT); /* tag 3 */
    CHECK(CALL(stream_synchronize, RM_OP_STREAM_SYNCHRONIZE, {.stream = other}) == CUDA_ERROR_INVALID_HANDLE);
    CHECK(CALL(stream_destroy, RM_OP_STREAM_DESTROY, {.stream = out.stream}) == CUDA_SUCCESS);
    rm_handles_set_tag(&session.handles, 0);
}

static void test_fuzz(uint64_t dptr)
{
    int ok;
    srand(12345);
    for (int iter = 0; iter < 20000; iter++) {
        uint16_t op = (uint16_t)(1 + rand() % (RM_OP_COUNT - 1));
        /* fd passing, waits for other channels or the client: tested end to end */
        if (op == RM_OP_SEGMENT_ADD || op == RM_OP_FENCE || op == RM_OP_HOST_FUNC || op == RM_OP_HOST_FUNC_WAIT)
            continue;
        rm_wbuf_reset(&request);
        size_t len = (size_t)(rand() % 96);
        for (size_t i = 0; i < len; i++) {
            /* bias toward plausible values: small numbers, our pointer, zeros */
            int k = rand() % 4;
            uint8_t b = k == 0 ? 0 : k == 1 ? (uint8_t)(rand() % 4) : (uint8_t)rand();
            rm_wbuf_put(&request, &b, 1);
        }
        if (len >= 8 && rand() % 2)
            memcpy(request.data, &dptr, 8);
        CUresult r = run(op, &request, &ok);
        if (!ok)
            CHECK(r != CUDA_SUCCESS);
    }
}

/* Two channels of the session destroy one stream at once: the driver must
 * see one destroy (a second would free the object twice on the real
 * driver), the other channel an invalid handle. The first destroy stays in
 * the "driver" until the second channel's attempt has returned, or until a
 * second destroy arrives there (the bug), so the race is not left to luck. */
static CUresult (*fake_stream_destroy)(CUstream);
static int destroys, second_done;

static CUresult slow_stream_destroy(CUstream s)
{
    __atomic_add_fetch(&destroys, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 5000 && !__atomic_load_n(&second_done, __ATOMIC_SEQ_CST) &&
                    __atomic_load_n(&destroys, __ATOMIC_SEQ_CST) < 2;
         i++)
        usleep(1000);
    return __atomic_load_n(&destroys, __ATOMIC_SEQ_CST) == 1 ? fake_stream_destroy(s) : CUDA_SUCCESS;
}

static CUresult destroy_stream(rm_sv_t *c, uint64_t stream)
{
    rm_wbuf_t req, rep;
    rm_wbuf_init(&req);
    rm_wbuf_init(&rep);
    rm_stream_destroy_req_t in = {.stream = stream};
    rm_enc_stream_destroy_req(&req, &in);
    rm_rbuf_t r;
    rm_rbuf_init(&r, req.data, req.len);
    int ok;
    CUresult res = rm_dispatch(c, RM_OP_STREAM_DESTROY, &r, &rep, &ok);
    rm_wbuf_free(&req);
    rm_wbuf_free(&rep);
    return res;
}

typedef struct {
    uint64_t stream;
    CUresult res;
} racer_t;

static void *second_channel(void *arg)
{
    racer_t *r = arg;
    rm_sv_t other = {.s = &session, .b = sv.b, .ctx = sv.ctx};
    while (__atomic_load_n(&destroys, __ATOMIC_SEQ_CST) == 0) /* the first is in the driver */
        usleep(100);
    r->res = destroy_stream(&other, r->stream);
    __atomic_store_n(&second_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_destroy_race(void)
{
    CHECK(CALL(stream_create, RM_OP_STREAM_CREATE, {.flags = 0}) == CUDA_SUCCESS);
    rm_stream_create_rep_t stream;
    REPLY(stream_create, &stream);
    fake_stream_destroy = backend.cuStreamDestroy_v2;
    backend.cuStreamDestroy_v2 = slow_stream_destroy;
    racer_t r = {stream.stream, CUDA_SUCCESS};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, second_channel, &r) == 0);
    CHECK(destroy_stream(&sv, stream.stream) == CUDA_SUCCESS);
    CHECK(pthread_join(t, NULL) == 0);
    backend.cuStreamDestroy_v2 = fake_stream_destroy;
    CHECK(destroys == 1);
    CHECK(r.res == CUDA_ERROR_INVALID_HANDLE);
    CHECK(CALL(stream_destroy, RM_OP_STREAM_DESTROY, {.stream = stream.stream}) == CUDA_ERROR_INVALID_HANDLE);
}

/* Lines the server logs while fn runs (stderr into a temporary file). */
static int log_lines_of(void (*fn)(void))
{
    fflush(stderr);
    int saved = dup(2);
    FILE *f = tmpfile();
    CHECK(saved >= 0 && f && dup2(fileno(f), 2) == 2);
    fn();
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    rewind(f);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    return lines;
}

static void many_bad_requests(void)
{
    for (int i = 0; i < 1000; i++)
        CHECK(CALL(stream_synchronize, RM_OP_STREAM_SYNCHRONIZE, {.stream = 0x0400000100000007ull}) ==
              CUDA_ERROR_INVALID_HANDLE);
}

/* A client sending bad requests in a loop does not flood the log: the
 * warnings are rate-limited (RM_LOG_BURST per window and call site). */
static void test_rejections_rate_limited(void)
{
    int before = rm_log_level_now();
    rm_log_threshold = RM_LOG_WARN;
    int lines = log_lines_of(many_bad_requests);
    rm_log_threshold = before;
    CHECK(lines <= 2 * RM_LOG_BURST); /* earlier tests may have used this window's burst */
}

int main(void)
{
    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
    rm_backend_fake_fill(&backend);
    rm_session_init(&session, &backend, 1, 0);
    sv.s = &session;
    sv.b = &backend;
    rm_wbuf_init(&request);
    rm_wbuf_init(&reply);
    CHECK(rm_conn_open(RM_SCHEME_TCP, sp[0], RM_ROLE_SERVER, &sv.conn) == RM_OK);
    uint64_t dptr = setup();
    test_validation(dptr);
    test_bulk_buffer();
    test_wrapper_image();
    test_unload();
    test_ctx_destroy();
    test_library_module();
    test_handle_shape();
    test_destroy_race();
    test_rejections_rate_limited();
    test_fuzz(dptr);
    rm_conn_close(sv.conn);
    close(sp[1]);
    free(sv.scratch);
    rm_sv_bulk_free(&sv);
    rm_wbuf_free(&request);
    rm_wbuf_free(&reply);
    rm_session_destroy(&session);
    printf("PASS dispatch\n");
    return 0;
}
