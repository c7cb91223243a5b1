/* Connections of the remora commands to a server's listener (dial.h). */
#include "dial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remora/protocol.h"
#include "secret.h"
#include "hello_exchange.h"
#include "tls.h"
#include "transport.h"

const char *rm_cli_server(const char *server)
{
    const char *env = getenv("REMORA_SERVER");
    return server ? server : env && *env ? env : RM_DEFAULT_SERVER;
}

int rm_cli_dial(const char *cmd, const char *addr, uint32_t features, uint64_t session, rm_cli_conn_t *c)
{
    int *fd = &c->fd;
    c->tls1 = NULL;
    rm_addr_t a;
    if (rm_addr_parse(addr, &a) != RM_OK) {
        fprintf(stderr, "remora %s: bad server address '%s'\n", cmd, addr);
        return -1;
    }
    const char *token = getenv("REMORA_TOKEN");
    if (rm_token_too_long(token)) {
        fprintf(stderr, "remora %s: REMORA_TOKEN is %zu bytes long; tokens are at most %d bytes\n", cmd,
                strlen(token), RM_TOKEN_LEN_MAX);
        return -1;
    }
    c->scheme = a.scheme;
    rm_status st = rm_sock_dial(&a, rm_connect_timeout_s() * 1000, fd);
    if (st != RM_OK) {
        fprintf(stderr, "remora %s: cannot reach remora server %s: %s\n", cmd, addr, rm_status_str(st));
        return -1;
    }
    rm_hello_t h = {.magic = RM_PROTO_MAGIC, .version = RM_PROTO_VERSION, .features = features,
                    .pid = (uint32_t)getpid(), .session_id = session, .program = "remora"};
    snprintf(h.token, sizeof h.token, "%s", token ? token : "");
    gethostname(h.host, sizeof h.host - 1);
    rm_welcome_t w;
    if ((st = rm_hello_exchange(*fd, &a, &h, &w, &c->tls1)) != RM_OK) {
        fprintf(stderr, "remora %s: no answer from remora server %s: %s\n", cmd, addr, rm_status_str(st));
    } else if (w.magic != RM_PROTO_MAGIC) {
        fprintf(stderr, "remora %s: %s is not a remora server\n", cmd, addr);
    } else if (w.status != RM_OK) {
        w.message[sizeof w.message - 1] = 0;
        fprintf(stderr, "remora %s: remora server %s refused: %s\n", cmd, addr, w.message);
    } else {
        return 0;
    }
    rm_cli_close(c);
    return -1;
}

rm_status rm_cli_read(rm_cli_conn_t *c, void *p, size_t n)
{
    return c->tls1 ? rm_conn_read(c->tls1, p, n) : rm_sock_read_all(c->fd, p, n);
}

void rm_cli_close(rm_cli_conn_t *c)
{
    if (c->tls1)
        rm_tls_hello_free(c->tls1);
    close(c->fd);
}

int rm_cli_request_dir(const char *cmd, const char *dir, char *out, size_t n)
{
    char cwd[2048];
    int k = dir[0] == '/' || !getcwd(cwd, sizeof cwd) ? snprintf(out, n, "%s", dir) : snprintf(out, n, "%s/%s", cwd, dir);
    if (k < 0 || (size_t)k >= n) {
        fprintf(stderr, "remora %s: the directory name is too long\n", cmd);
        return -1;
    }
    return 0;
}

int rm_cli_exchange(const char *cmd, const char *addr, rm_cli_conn_t *c, const void *req, size_t req_n, void *reply,
                    size_t n)
{
    rm_conn_t *conn = NULL;
    rm_status st = c->tls1 ? rm_tls_hello_close(c->tls1) : RM_OK;
    if (st == RM_OK)
        st = rm_sock_set_timeout(c->fd, 0);
    if (st != RM_OK)
        close(c->fd);
    else if ((st = rm_conn_open(c->scheme, c->fd, RM_ROLE_CLIENT, &conn)) == RM_OK) {
        if ((st = rm_conn_write(conn, req, req_n)) == RM_OK)
            st = rm_conn_read(conn, reply, n);
        rm_conn_close(conn);
    }
    if (st != RM_OK)
        fprintf(stderr, "remora %s: no answer from remora server %s: %s\n", cmd, addr, rm_status_str(st));
    return st == RM_OK ? 0 : -1;
}

int rm_cli_ckpt_exchange(const char *cmd, const char *addr, rm_cli_conn_t *c, const char *dir, void *reply, size_t n)
{
    rm_ckpt_request_t req;
    memset(&req, 0, sizeof req);
    snprintf(req.dir, sizeof req.dir, "%s", dir);
    return rm_cli_exchange(cmd, addr, c, &req, sizeof req, reply, n);
}
