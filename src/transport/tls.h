/* TLS transport (tls://HOST:PORT): the TCP stream wrapped in TLS (OpenSSL).
 * The remora hello and welcome cross the raw socket first, as on tcp://;
 * the TLS handshake then runs inside rm_conn_open under the connect
 * deadline (REMORA_CONNECT_TIMEOUT), so a peer that does not speak TLS
 * fails it with a clear error instead of hanging.
 *
 * Server: rm_tls_server_setup before the listener forks its workers.
 * Client: REMORA_TLS_CA (required; the server's certificate is always
 * verified and its name checked against the address's host),
 * REMORA_TLS_CERT and REMORA_TLS_KEY (a client certificate, for servers
 * that require one). */
#ifndef RM_TLS_H
#define RM_TLS_H

#include "remora/status.h"

/* cert and key: PEM files; client_ca: NULL, or PEM CA certificates that
 * every client's certificate must chain to (mutual TLS). Errors are
 * logged with the file and OpenSSL's reason. */
rm_status rm_tls_server_setup(const char *cert, const char *key, const char *client_ca);
/* The host name the next client open on this thread verifies the
 * server's certificate against (the address's host). */
void rm_tls_expect_host(const char *host);

#endif
