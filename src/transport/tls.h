/* TLS transport (tls://HOST:PORT): the TCP stream wrapped in TLS (OpenSSL).
 * Two TLS connections follow each other on one socket: TLS #1 carries only
 * the remora hello and welcome (the listener's, rm_tls_pending_*; the
 * client's, rm_tls_hello_*) and ends with close_notify both ways; TLS #2,
 * opened by rm_conn_open in the session's worker, carries the stream.
 * Both handshakes run under the connect deadline (REMORA_CONNECT_TIMEOUT),
 * so a peer that does not speak TLS fails with a clear error instead of
 * hanging.
 *
 * Server: rm_tls_server_setup before the listener forks its workers.
 * Client: REMORA_TLS_CA (required; the server's certificate is always
 * verified and its name checked against the address's host),
 * REMORA_TLS_CERT and REMORA_TLS_KEY (a client certificate, for servers
 * that require one).
 *
 * Both sides: REMORA_TLS_KTLS (1, the default: kernel TLS is tried for
 * TLS #2; 0: never). Where the kernel has no tls module, or the cipher is
 * not one it takes, OpenSSL encrypts, as with 0; each stream's log line
 * (info) names the protocol, the cipher and which of the two encrypts.
 * TLS #1 never uses kernel TLS (it would stay on the socket under TLS #2). */
#ifndef RM_TLS_H
#define RM_TLS_H

#include <stddef.h>
#include <sys/uio.h>

#include "remora/status.h"
#include "transport.h"

/* cert and key: PEM files; client_ca: NULL, or PEM CA certificates that
 * every client's certificate must chain to (mutual TLS). Errors are
 * logged with the file and OpenSSL's reason. */
rm_status rm_tls_server_setup(const char *cert, const char *key, const char *client_ca);
/* The host name the next client open on this thread verifies the
 * server's certificate against (the address's host). */
void rm_tls_expect_host(const char *host);

/* The client's TLS #1 on a dialled fd, verified as rm_conn_open's: the
 * hello and welcome go through *out. RM_OK with *out NULL: the server
 * answered in clear (a listener without TLS), its welcome is to be read
 * from fd. */
rm_status rm_tls_hello_open(int fd, rm_conn_t **out);
/* Ends TLS #1 (close_notify both ways) and frees it; fd stays open. */
rm_status rm_tls_hello_close(rm_conn_t *c);
/* Frees TLS #1 without a word to the server (it failed); fd stays open. */
void rm_tls_hello_free(rm_conn_t *c);

/* The listener's TLS #1 on a non-blocking accepted fd. Each step returns
 * 1 when done, 0 while it waits for the socket (*events: POLLIN or
 * POLLOUT), -1 when it failed (a failed handshake is logged). */
typedef struct rm_tls_pending rm_tls_pending_t;
rm_tls_pending_t *rm_tls_pending_new(int fd); /* NULL: logged */
int rm_tls_pending_accept(rm_tls_pending_t *p, short *events);
/* Reads until *got == n. */
int rm_tls_pending_read(rm_tls_pending_t *p, void *buf, size_t n, size_t *got, short *events);
/* Writes it all, blocking a second per write at most. */
rm_status rm_tls_pending_writev(rm_tls_pending_t *p, const struct iovec *iov, int iovcnt);
/* Sends close_notify and waits for the peer's. */
int rm_tls_pending_shutdown(rm_tls_pending_t *p, short *events);
void rm_tls_pending_free(rm_tls_pending_t *p); /* fd stays open */

#endif
