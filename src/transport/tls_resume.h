/* TLS session resumption (TLS 1.3 tickets). A client's first full
 * handshake with a server host leaves a session ticket; its later
 * connections to that host (TLS #2 after TLS #1, each striped copy's
 * helper, each new thread) offer it, and the server resumes: it signs
 * nothing and the client checks no certificate chain, while the key
 * exchange stays (each connection has keys of its own: forward secrecy).
 * The listener's workers are forked after the listener made its TLS
 * context, so they hold its ticket key and resume what it issued. A server
 * that cannot resume a ticket (another server, restarted, expired) does a
 * full handshake, verified as always. Tickets last RM_TLS_TICKET_S. */
#ifndef RM_TLS_RESUME_H
#define RM_TLS_RESUME_H

#include <openssl/ssl.h>

#define RM_TLS_TICKET_S 600

/* The server's context: one ticket per handshake, no session cache
 * (tickets carry the session), a session id context (resumption with
 * client certificates needs one). */
void rm_tls_resume_server(SSL_CTX *ctx);
/* The client's context: sessions kept per host name. */
void rm_tls_resume_client(SSL_CTX *ctx);
/* ssl's connection goes to host (a string that outlives ssl): offer the
 * session kept for it, and keep the one the server issues. */
void rm_tls_resume_offer(SSL *ssl, const char *host);

#endif
