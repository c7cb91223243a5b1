/* The socket under a TLS connection, as OpenSSL sees it (a BIO of
 * remora's own): sends use MSG_NOSIGNAL, so a dead peer never raises
 * SIGPIPE in the host program; an interrupted call is retried. On a
 * session's stream, reads busy-poll the spin budget before they sleep, as
 * the tcp transport's do, so a reply due in microseconds costs no wake-up,
 * and the records of a write are gathered into sends of up to 256 KiB,
 * sent when full and at BIO_flush (OpenSSL flushes its handshake and
 * alerts; the transport flushes after each of its writes), so that a bulk
 * copy is not a system call and a loopback wake-up per 16 KiB record. Kernel TLS (OpenSSL's
 * SSL_OP_ENABLE_KTLS) is enabled on OpenSSL's own socket BIO inside it:
 * once the kernel encrypts, its sends and reads go through that one (with
 * SIGPIPE blocked around the sends), since it carries the record types
 * that kernel TLS needs beside the data. */
#ifndef RM_TLS_BIO_H
#define RM_TLS_BIO_H

#include <openssl/bio.h>

/* A BIO on the connected socket fd (not closed when the BIO is freed).
 * stream: reads spin and sends are gathered (the session's stream; not
 * TLS #1, which the listener steps on a non-blocking socket). NULL when
 * out of memory. */
BIO *rm_tls_bio_new(int fd, int stream);
/* While hold is 1, reads take nothing from the socket and ask OpenSSL to
 * retry (SSL_ERROR_WANT_READ): the caller looks at what came first. */
void rm_tls_bio_hold_reads(BIO *b, int hold);

#endif
