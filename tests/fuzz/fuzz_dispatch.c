/* Fuzz target: the server's dispatch on the fake backend with a live
 * session. Each input is a fresh session (cuInit, the primary context
 * current, one 4 KiB allocation) then up to 32 requests, each a record
 *   u16 op, u16 len, len payload bytes
 * (op's top bit: the payload starts with the session's device pointer, so
 * that range checks are passed as well as failed). A request that does not
 * decode must fail; nothing may crash, leak or read out of bounds. The
 * calls that wait for other channels, the client or a passed fd (fence,
 * host functions, shared segments) are left to the e2e tests. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "rm_handlers.h"

#define MEM_LIMIT (64u << 20) /* the session's quota: no huge host allocations */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rm_backend_t backend;
static int peer = -1; /* the client's end of the channel, drained after each input */
static rm_conn_t *conn;

static CUresult run(rm_sv_t *sv, unsigned op, const void *p, size_t n, rm_wbuf_t *reply, int *ok)
{
    void *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    if (!copy)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(copy, p, n);
    rm_rbuf_t in;
    rm_rbuf_init(&in, copy, n);
    rm_wbuf_reset(reply);
    *ok = 1;
    CUresult r = rm_dispatch(sv, op, &in, reply, ok);
    free(copy);
    return r;
}

/* Encodes and runs one setup request; the reply's first u64 (a handle). */
static uint64_t setup_call(rm_sv_t *sv, unsigned op, rm_wbuf_t *req, rm_wbuf_t *reply)
{
    int ok;
    uint64_t v = 0;
    if (run(sv, op, req->data, req->len, reply, &ok) == CUDA_SUCCESS && reply->len >= 8)
        memcpy(&v, reply->data, 8);
    rm_wbuf_reset(req);
    return v;
}

static void drain(void)
{
    char junk[65536];
    while (read(peer, junk, sizeof junk) > 0)
        ;
}

static int start(void)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0 || rm_conn_open(RM_SCHEME_TCP, sp[0], RM_ROLE_SERVER, &conn) != RM_OK)
        abort();
    peer = sp[1];
    fcntl(peer, F_SETFL, fcntl(peer, F_GETFL) | O_NONBLOCK);
    rm_backend_fake_fill(&backend);
    rm_log_threshold = RM_LOG_ERROR; /* rejected requests are what it is fed */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    if (!started)
        started = !start();
    rm_session_t session;
    rm_session_init(&session, &backend, 1, MEM_LIMIT);
    rm_sv_t sv = {.s = &session, .b = &backend, .conn = conn};
    rm_wbuf_t req, reply;
    rm_wbuf_init(&req);
    rm_wbuf_init(&reply);

    rm_enc_init_req(&req, &(rm_init_req_t){.flags = 0});
    setup_call(&sv, RM_OP_INIT, &req, &reply);
    rm_enc_primary_ctx_req(&req, &(rm_primary_ctx_req_t){.device = 0, .retain = 1});
    uint64_t ctx = setup_call(&sv, RM_OP_PRIMARY_CTX, &req, &reply);
    rm_enc_ctx_set_current_req(&req, &(rm_ctx_set_current_req_t){.ctx = ctx});
    setup_call(&sv, RM_OP_CTX_SET_CURRENT, &req, &reply);
    rm_enc_mem_alloc_req(&req, &(rm_mem_alloc_req_t){.bytes = 4096});
    uint64_t dptr = setup_call(&sv, RM_OP_MEM_ALLOC, &req, &reply);

    for (int calls = 0; calls < 32 && size >= 4; calls++) {
        uint16_t op, len;
        memcpy(&op, data, 2);
        memcpy(&len, data + 2, 2);
        data += 4, size -= 4;
        if (len > size)
            len = (uint16_t)size;
        int with_dptr = (op & 0x8000) != 0;
        op = (uint16_t)((op & 0x7fff) % RM_OP_COUNT);
        if (op == RM_OP_SEGMENT_ADD || op == RM_OP_FENCE || op == RM_OP_HOST_FUNC || op == RM_OP_HOST_FUNC_WAIT)
            continue;
        rm_wbuf_reset(&req);
        rm_wbuf_put(&req, data, len);
        if (with_dptr && len >= 8)
            memcpy(req.data, &dptr, 8);
        data += len, size -= len;
        int ok;
        CUresult r = run(&sv, op, req.data, req.len, &reply, &ok);
        if (!ok && r == CUDA_SUCCESS)
            abort(); /* a request that did not decode succeeded */
        drain();
    }
    free(sv.scratch);
    rm_sv_bulk_free(&sv);
    rm_wbuf_free(&req);
    rm_wbuf_free(&reply);
    rm_session_destroy(&session);
    drain();
    return 0;
}
