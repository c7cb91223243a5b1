/* The remora commands that talk to a server's listener (status,
 * checkpoint): the server they mean, and a connection after its welcome. */
#ifndef RM_CLI_DIAL_H
#define RM_CLI_DIAL_H

#include <stddef.h>
#include <stdint.h>

/* server when given, else $REMORA_SERVER (the config file's [client] server
 * exported by the caller), else RM_DEFAULT_SERVER. */
const char *rm_cli_server(const char *server);
/* Dial addr, send a hello with features and session, read an RM_OK welcome:
 * 0 and *fd, or -1 after saying why on stderr ("remora CMD: ..."). */
int rm_cli_dial(const char *cmd, const char *addr, uint32_t features, uint64_t session, int *fd);
/* A checkpoint directory as the server is told it (relative to the
 * caller's directory) in a request: 0, or -1 after saying it is too long. */
int rm_cli_request_dir(const char *cmd, const char *dir, char *out, size_t n);
/* Send a checkpoint or restore request on fd and read the reply (no
 * deadline: a big session takes its time); closes fd. 0, or -1 after
 * saying why on stderr. */
int rm_cli_ckpt_exchange(const char *cmd, const char *addr, int fd, const char *dir, void *reply, size_t n);

#endif
