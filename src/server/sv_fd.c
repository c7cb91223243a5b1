/* File descriptors on a channel: over shm:// the channel has a Unix socket
 * beside its rings, on which an fd can follow a request (client to server)
 * or precede a reply (server to client). Over TCP there is none. */
#include <poll.h>
#include <sys/socket.h>

#include "rm_handlers.h"

#define FD_WAIT_MS 5000

static int unix_socket(rm_sv_t *sv)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    int fd = rm_conn_fd(sv->conn);
    return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX ? fd : -1;
}

int rm_sv_receive_fd(rm_sv_t *sv)
{
    struct pollfd p = {.fd = unix_socket(sv), .events = POLLIN};
    int fd = -1, n = 0;
    char byte;
    if (p.fd < 0 || poll(&p, 1, FD_WAIT_MS) != 1 || rm_sock_recv_fds(p.fd, &fd, &n, 1, &byte, 1) != RM_OK ||
        n != 1)
        return -1;
    return fd;
}

int rm_sv_can_send_fd(rm_sv_t *sv) { return unix_socket(sv) >= 0; }

int rm_sv_send_fd(rm_sv_t *sv, int fd)
{
    int sock = unix_socket(sv);
    char byte = 0;
    return sock >= 0 && rm_sock_send_fds(sock, &fd, 1, &byte, 1) == RM_OK ? 0 : -1;
}
