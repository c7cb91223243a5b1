/* Connections of the remora commands to a server's listener (dial.h). */
#include "dial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remora/protocol.h"
#include "secret.h"
#include "transport.h"

const char *rm_cli_server(const char *server)
{
    const char *env = getenv("REMORA_SERVER");
    return server ? server : env && *env ? env : RM_DEFAULT_SERVER;
}

int rm_cli_dial(const char *cmd, const char *addr, uint32_t features, uint64_t session, int *fd)
{
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
    if ((st = rm_sock_write_all(*fd, &h, sizeof h)) != RM_OK || (st = rm_sock_read_all(*fd, &w, sizeof w)) != RM_OK) {
        fprintf(stderr, "remora %s: no answer from remora server %s: %s\n", cmd, addr, rm_status_str(st));
    } else if (w.magic != RM_PROTO_MAGIC) {
        fprintf(stderr, "remora %s: %s is not a remora server\n", cmd, addr);
    } else if (w.status != RM_OK) {
        w.message[sizeof w.message - 1] = 0;
        fprintf(stderr, "remora %s: remora server %s refused: %s\n", cmd, addr, w.message);
    } else {
        return 0;
    }
    close(*fd);
    return -1;
}
