/* The remora commands that talk to a server's listener (status,
 * checkpoint): the server they mean, and a connection after its welcome. */
#ifndef RM_CLI_DIAL_H
#define RM_CLI_DIAL_H

#include <stdint.h>

/* server when given, else $REMORA_SERVER (the config file's [client] server
 * exported by the caller), else RM_DEFAULT_SERVER. */
const char *rm_cli_server(const char *server);
/* Dial addr, send a hello with features and session, read an RM_OK welcome:
 * 0 and *fd, or -1 after saying why on stderr ("remora CMD: ..."). */
int rm_cli_dial(const char *cmd, const char *addr, uint32_t features, uint64_t session, int *fd);

#endif
