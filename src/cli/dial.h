/* The remora commands that talk to a server's listener (status,
 * checkpoint): the server they mean, and a connection after its welcome. */
#ifndef RM_CLI_DIAL_H
#define RM_CLI_DIAL_H

#include <stdint.h>

#include "transport.h"

/* server when given, else $REMORA_SERVER (the config file's [client] server
 * exported by the caller), else RM_DEFAULT_SERVER. */
const char *rm_cli_server(const char *server);
/* A connection to a listener: the socket, and over tls:// the TLS
 * connection of the handshake (TLS #1), which carries the rest of a
 * status answer. */
typedef struct {
    int fd;
    rm_conn_t *tls1; /* NULL: in clear */
    rm_scheme scheme;
} rm_cli_conn_t;

/* Dial addr, send a hello with features and session, read an RM_OK welcome:
 * 0 and *c, or -1 after saying why on stderr ("remora CMD: ..."). */
int rm_cli_dial(const char *cmd, const char *addr, uint32_t features, uint64_t session, rm_cli_conn_t *c);
/* More of the answer, through TLS #1 if there is one. */
rm_status rm_cli_read(rm_cli_conn_t *c, void *p, size_t n);
void rm_cli_close(rm_cli_conn_t *c);

#endif
