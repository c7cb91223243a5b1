/* Client: calls that carry a file descriptor on the channel's Unix socket
 * beside the request or the reply (shm:// only; sv_fd.c is the server's
 * half). The request is encoded into ch (rm_chan_begin) before the call. */
#ifndef RM_CL_FDPASS_H
#define RM_CL_FDPASS_H

#include <cuda.h>

#include "chan.h"

/* Whether ch can carry fds (its transport is shm://). */
int rm_cl_fd_channel(rm_chan_t *ch);
/* Send the request, then fd (which stays the caller's), and wait for the reply. */
CUresult rm_cl_call_sending_fd(rm_chan_t *ch, int fd, rm_rbuf_t *reply);
/* Send the request, wait for the reply and, when it succeeded, take the
 * fd that came before it into *fd. */
CUresult rm_cl_call_receiving_fd(rm_chan_t *ch, rm_rbuf_t *reply, int *fd);

#endif
