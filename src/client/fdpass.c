/* Client: fds beside requests and replies (fdpass.h). */
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "log.h"
#include "transport.h"

#define FD_WAIT_MS 5000

int rm_cl_fd_channel(rm_chan_t *ch)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    return getsockopt(rm_conn_fd(ch->conn), SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

CUresult rm_cl_call_sending_fd(rm_chan_t *ch, int fd, rm_rbuf_t *reply)
{
    CUresult r = rm_chan_post(ch);
    if (r != CUDA_SUCCESS)
        return r;
    char byte = 0;
    if (rm_sock_send_fds(rm_conn_fd(ch->conn), &fd, 1, &byte, 1) != RM_OK)
        RM_WARN("could not pass a file descriptor to the server"); /* it answers that it got none */
    return rm_chan_wait(ch, reply);
}

CUresult rm_cl_call_receiving_fd(rm_chan_t *ch, rm_rbuf_t *reply, int *fd)
{
    CUresult r = rm_chan_post(ch);
    if (r == CUDA_SUCCESS)
        r = rm_chan_wait(ch, reply);
    if (r != CUDA_SUCCESS)
        return r;
    struct pollfd p = {.fd = rm_conn_fd(ch->conn), .events = POLLIN};
    int n = 0;
    char byte;
    if (poll(&p, 1, FD_WAIT_MS) != 1 || rm_sock_recv_fds(p.fd, fd, &n, 1, &byte, 1) != RM_OK || n != 1) {
        RM_ERROR("the server's file descriptor did not arrive");
        return CUDA_ERROR_OPERATING_SYSTEM;
    }
    return CUDA_SUCCESS;
}
