/* The client's side of the remora handshake on a dialled socket: the hello
 * out, the welcome back; over tls:// both inside a TLS connection of their
 * own (TLS #1, tls.h), so that the token, the program's name and the
 * session key never cross the network in clear. */
#ifndef RM_HELLO_EXCHANGE_H
#define RM_HELLO_EXCHANGE_H

#include "remora/protocol.h"
#include "transport.h"

/* For tls:// the server's certificate is verified against host. With
 * keep NULL, TLS #1 is closed once the welcome is in (the socket then
 * waits for rm_conn_open); else *keep is TLS #1 still open for more of
 * the answer (remora status), or NULL if there is none (tcp://, or a
 * listener that answered in clear). Failures of TLS are logged. */
rm_status rm_hello_exchange(int fd, const rm_addr_t *a, const rm_hello_t *h, rm_welcome_t *w, rm_conn_t **keep);

#endif
