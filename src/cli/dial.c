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
