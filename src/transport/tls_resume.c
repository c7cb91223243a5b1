/* The client's kept TLS sessions, one per host name (see tls_resume.h). */
#include "tls_resume.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SESSIONS 8 /* hosts remembered; the oldest makes room */

static const unsigned char sid_ctx[] = "remora";

static struct {
    char host[256];
    SSL_SESSION *session;
} kept[SESSIONS];
static unsigned next_slot;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* A child forked while another thread held the lock must not inherit it held. */
static void after_fork_child(void) { pthread_mutex_init(&lock, NULL); }

__attribute__((constructor)) static void install_fork_handler(void) { pthread_atfork(NULL, NULL, after_fork_child); }

void rm_tls_resume_server(SSL_CTX *ctx)
{
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_timeout(ctx, RM_TLS_TICKET_S);
}

static int slot_of(const char *host)
{
    for (int i = 0; i < SESSIONS; i++)
        if (kept[i].session && strcmp(kept[i].host, host) == 0)
            return i;
    return -1;
}

/* OpenSSL's new-session callback: 1 keeps the reference it hands over. */
static int keep_session(SSL *ssl, SSL_SESSION *session)
{
    const char *host = SSL_get_app_data(ssl);
    if (!host || !SSL_SESSION_is_resumable(session))
        return 0;
    pthread_mutex_lock(&lock);
    int i = slot_of(host);
    if (i < 0)
        i = (int)(next_slot++ % SESSIONS);
    SSL_SESSION_free(kept[i].session);
    kept[i].session = session;
    snprintf(kept[i].host, sizeof kept[i].host, "%s", host);
    pthread_mutex_unlock(&lock);
    return 1;
}

void rm_tls_resume_client(SSL_CTX *ctx)
{
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_session);
}

void rm_tls_resume_offer(SSL *ssl, const char *host)
{
    SSL_set_app_data(ssl, (void *)host);
    pthread_mutex_lock(&lock);
    int i = slot_of(host);
    if (i >= 0)
        SSL_set_session(ssl, kept[i].session); /* takes its own reference */
    pthread_mutex_unlock(&lock);
}
