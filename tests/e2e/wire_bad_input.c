/* e2e (wire level): a raw client speaks the protocol to a running server
 * and sends what a broken or hostile peer would: a wrong protocol version,
 * a bad magic, malformed requests, unknown opcodes, handles and memory of
 * another session, an oversized header. Each gets an error; the server
 * keeps serving the well-behaved session throughout. Needs REMORA_SERVER. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cuda.h>

#include "check.h"
#include "remora/protocol.h"
#include "rm_ops.h"
#include "transport.h"


typedef struct {
    rm_conn_t *conn;
    uint32_t seq;
    uint8_t reply[1 << 16];
    uint32_t reply_len;
} peer_t;

static rm_addr_t addr;

static int dial(void)
{
    int fd;
    CHECK(rm_sock_dial(&addr, 0, &fd) == RM_OK);
    return fd;
}

static rm_hello_t hello(void)
{
    rm_hello_t h = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .pid = (uint32_t)getpid()};
    const char *token = getenv("REMORA_TOKEN");
    if (token)
        snprintf(h.token, sizeof h.token, "%s", token);
    return h;
}

/* Handshake with a hello; returns the welcome. */
static rm_welcome_t greet(int fd, const rm_hello_t *h)
{
    rm_welcome_t w;
    CHECK(rm_sock_write_all(fd, h, sizeof *h) == RM_OK);
    CHECK(rm_sock_read_all(fd, &w, sizeof w) == RM_OK);
    return w;
}

static void open_session(peer_t *p)
{
    int fd = dial();
    rm_hello_t h = hello();
    rm_welcome_t w = greet(fd, &h);
    CHECK(w.status == RM_OK);
    CHECK(rm_conn_open(addr.scheme, fd, RM_ROLE_CLIENT, &p->conn) == RM_OK);
    p->seq = 0;
}

/* Send one sync request (raw payload) and read its reply; returns status. */
static uint32_t call_raw(peer_t *p, uint16_t op, const void *payload, uint32_t len)
{
    rm_msg_hdr_t h = {.len = len, .op = op, .seq = ++p->seq};
    CHECK(rm_conn_write(p->conn, &h, sizeof h) == RM_OK);
    if (len)
        CHECK(rm_conn_write(p->conn, payload, len) == RM_OK);
    rm_msg_hdr_t r;
    CHECK(rm_conn_read(p->conn, &r, sizeof r) == RM_OK);
    CHECK(r.flags & RM_MSG_REPLY);
    CHECK(r.seq == h.seq);
    CHECK(r.len <= sizeof p->reply);
    if (r.len)
        CHECK(rm_conn_read(p->conn, p->reply, r.len) == RM_OK);
    p->reply_len = r.len;
    return r.status;
}

static uint32_t call(peer_t *p, uint16_t op, const rm_wbuf_t *w) { return call_raw(p, op, w->data, (uint32_t)w->len); }

static void test_handshake_errors(void)
{
    int fd = dial();
    rm_hello_t h = hello();
    h.version = RM_PROTO_VERSION + 41;
    rm_welcome_t w = greet(fd, &h);
    CHECK(w.status == RM_ERR_VERSION);
    char want[96];
    snprintf(want, sizeof want, "protocol version mismatch: server speaks %u, client %u", RM_PROTO_VERSION,
             RM_PROTO_VERSION + 41);
    CHECK(strcmp(w.message, want) == 0); /* plain numbers, no "4u" */
    close(fd);

    fd = dial();
    h = hello();
    h.session_id = 999999; /* someone else's session, no key */
    w = greet(fd, &h);
    CHECK(w.status == RM_ERR_AUTH);
    close(fd);
    printf("handshake errors ok (%s)\n", w.message);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* A peer that sends half a preamble and stalls holds no one else up, and is
 * dropped after the hello deadline. */
static void test_stalled_hello(void)
{
    int slow = dial();
    rm_hello_t h = hello();
    CHECK(rm_sock_write_all(slow, &h, 4) == RM_OK);
    double t0 = now_s();
    int fd = dial();
    rm_welcome_t w = greet(fd, &h);
    CHECK(w.status == RM_OK);
    CHECK(now_s() - t0 < 1.5);
    close(fd);
    char c;
    CHECK(read(slow, &c, 1) == 0); /* closed by the server, after its deadline */
    close(slow);

    /* more stalled peers than the listener has handshake slots: the oldest
     * give way, and a real client still gets in at once */
    enum { STALLED = 80 };
    int stalled[STALLED];
    for (int i = 0; i < STALLED; i++) {
        stalled[i] = dial();
        CHECK(rm_sock_write_all(stalled[i], &h, 4) == RM_OK);
    }
    t0 = now_s();
    fd = dial();
    w = greet(fd, &h);
    CHECK(w.status == RM_OK);
    CHECK(now_s() - t0 < 1.5);
    close(fd);
    for (int i = 0; i < STALLED; i++)
        close(stalled[i]);
    printf("stalled hellos hold no one up\n");
}

static uint64_t setup_context(peer_t *p)
{
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_init_req_t init = {0};
    rm_enc_init_req(&w, &init);
    CHECK(call(p, RM_OP_INIT, &w) == CUDA_SUCCESS);
    rm_wbuf_reset(&w);
    rm_primary_ctx_req_t retain = {.retain = 1};
    rm_enc_primary_ctx_req(&w, &retain);
    CHECK(call(p, RM_OP_PRIMARY_CTX, &w) == CUDA_SUCCESS);
    uint64_t ctx;
    memcpy(&ctx, p->reply, 8);
    rm_wbuf_reset(&w);
    rm_ctx_set_current_req_t cur = {ctx};
    rm_enc_ctx_set_current_req(&w, &cur);
    rm_msg_hdr_t h = {.len = (uint32_t)w.len, .op = RM_OP_CTX_SET_CURRENT, .flags = RM_MSG_ASYNC, .seq = ++p->seq};
    CHECK(rm_conn_write(p->conn, &h, sizeof h) == RM_OK && rm_conn_write(p->conn, w.data, w.len) == RM_OK);
    rm_wbuf_free(&w);
    return ctx;
}

static uint64_t make_stream(peer_t *p)
{
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_stream_create_req_t sc = {0};
    rm_enc_stream_create_req(&w, &sc);
    CHECK(call(p, RM_OP_STREAM_CREATE, &w) == CUDA_SUCCESS);
    uint64_t id;
    memcpy(&id, p->reply, 8);
    rm_wbuf_free(&w);
    return id;
}

static uint64_t make_alloc(peer_t *p)
{
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_mem_alloc_req_t a = {.bytes = 1 << 20};
    rm_enc_mem_alloc_req(&w, &a);
    CHECK(call(p, RM_OP_MEM_ALLOC, &w) == CUDA_SUCCESS);
    uint64_t d;
    memcpy(&d, p->reply, 8);
    rm_wbuf_free(&w);
    return d;
}

static void test_malformed(peer_t *a, peer_t *b)
{
    uint8_t junk[64];
    memset(junk, 0xa5, sizeof junk);
    /* truncated, padded and garbage requests */
    CHECK(call_raw(a, RM_OP_MEM_ALLOC, junk, 3) == CUDA_ERROR_INVALID_VALUE);
    CHECK(call_raw(a, RM_OP_MEM_ALLOC, junk, 40) == CUDA_ERROR_INVALID_VALUE);
    CHECK(call_raw(a, RM_OP_MODULE_GET_FUNCTION, junk, sizeof junk) == CUDA_ERROR_INVALID_VALUE);
    /* unknown opcodes */
    CHECK(call_raw(a, 0, NULL, 0) == CUDA_ERROR_NOT_SUPPORTED);
    CHECK(call_raw(a, 0xfffe, junk, 8) == CUDA_ERROR_NOT_SUPPORTED);

    /* session b's stream and memory, named by session a */
    uint64_t stream_b = make_stream(b), mem_b = make_alloc(b);
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_stream_synchronize_req_t ss = {stream_b};
    rm_enc_stream_synchronize_req(&w, &ss);
    /* an id only means something in the session that made it: a has no streams */
    CHECK(call(a, RM_OP_STREAM_SYNCHRONIZE, &w) == CUDA_ERROR_INVALID_HANDLE);
    CHECK(call(b, RM_OP_STREAM_SYNCHRONIZE, &w) == CUDA_SUCCESS);
    rm_wbuf_reset(&w);
    rm_memcpy_dtoh_req_t cp = {.src = mem_b, .bytes = 64};
    rm_enc_memcpy_dtoh_req(&w, &cp);
    CHECK(call(a, RM_OP_MEMCPY_DTOH, &w) == CUDA_ERROR_INVALID_VALUE); /* not a's memory */
    CHECK(call(b, RM_OP_MEMCPY_DTOH, &w) == CUDA_SUCCESS);             /* b's own: fine */
    rm_wbuf_free(&w);
    printf("malformed requests rejected, sessions isolated\n");
}

static void test_oversized(peer_t *a, peer_t *b)
{
    rm_msg_hdr_t h = {.len = RM_MAX_MSG + 1, .op = RM_OP_MEM_ALLOC, .seq = 1};
    CHECK(rm_conn_write(a->conn, &h, sizeof h) == RM_OK);
    rm_msg_hdr_t r;
    CHECK(rm_conn_read(a->conn, &r, sizeof r) == RM_ERR_CLOSED); /* the channel is dropped */
    /* the other session is unaffected */
    uint64_t d = make_alloc(b);
    CHECK(d != 0);
    printf("oversized message closes only its channel\n");
}

int main(void)
{
    const char *server = getenv("REMORA_SERVER");
    if (!server) {
        printf("wire_bad_input needs REMORA_SERVER\n");
        return 1;
    }
    CHECK(rm_addr_parse(server, &addr) == RM_OK);
    test_handshake_errors();
    test_stalled_hello();
    peer_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    open_session(a);
    open_session(b);
    setup_context(a);
    setup_context(b);
    test_malformed(a, b);
    test_oversized(a, b);
    rm_conn_close(a->conn);
    rm_conn_close(b->conn);
    free(a);
    free(b);
    printf("PASS wire_bad_input\n");
    return 0;
}
