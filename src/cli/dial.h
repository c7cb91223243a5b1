/* The remora commands that talk to a server's listener (status,
 * checkpoint): the server they mean, and a connection after its welcome. */
#ifndef RM_CLI_DIAL_H
#define RM_CLI_DIAL_H

#include <stddef.h>
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
/* A checkpoint directory as the server is told it (relative to the
 * caller's directory) in a request: 0, or -1 after saying it is too long. */
int rm_cli_request_dir(const char *cmd, const char *dir, char *out, size_t n);
/* Send a checkpoint or restore request on the dialled connection and read
 * the reply (no deadline: a big session takes its time; over tls:// inside
 * a TLS connection of its own); closes it. 0, or -1 after saying why. */
int rm_cli_ckpt_exchange(const char *cmd, const char *addr, rm_cli_conn_t *c, const char *dir, void *reply, size_t n);
/* The same with any request (remora migrate's). */
int rm_cli_exchange(const char *cmd, const char *addr, rm_cli_conn_t *c, const void *req, size_t req_n, void *reply,
                    size_t n);

#endif
