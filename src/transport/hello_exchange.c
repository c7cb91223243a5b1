/* The hello and welcome, in clear or inside TLS #1 (hello_exchange.h). */
#include "hello_exchange.h"

#include "tls.h"

rm_status rm_hello_exchange(int fd, const rm_addr_t *a, const rm_hello_t *hello, rm_welcome_t *w, rm_conn_t **keep)
{
    rm_hello_t mine = *hello, *h = &mine;
    if (a->scheme == RM_SCHEME_UCX) /* the listener checks that it is one */
        mine.features |= RM_FEAT_UCX;
    rm_conn_t *tls1 = NULL;
    rm_status st = RM_OK;
    if (keep)
        *keep = NULL;
    if (a->scheme == RM_SCHEME_TLS) {
        rm_tls_expect_host(a->host);
        st = rm_tls_hello_open(fd, &tls1);
    }
    if (st != RM_OK)
        return st;
    if (!tls1) { /* tcp://, or a listener without TLS that refused a TLS client in clear, unasked */
        if (a->scheme != RM_SCHEME_TLS)
            st = rm_sock_write_all(fd, h, sizeof *h);
        return st == RM_OK ? rm_sock_read_all(fd, w, sizeof *w) : st;
    }
    if ((st = rm_conn_write(tls1, h, sizeof *h)) == RM_OK)
        st = rm_conn_read(tls1, w, sizeof *w);
    if (st == RM_OK && keep && w->status == RM_OK)
        *keep = tls1;
    else if (st == RM_OK && w->status == RM_OK)
        st = rm_tls_hello_close(tls1);
    else /* refused, or failed: nothing more to say */
        rm_tls_hello_free(tls1);
    return st;
}
