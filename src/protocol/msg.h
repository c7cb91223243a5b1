/* Checks of a message header as it arrives, before its payload is read:
 * what a peer cannot be allowed to send (see include/remora/protocol.h). */
#ifndef RM_MSG_H
#define RM_MSG_H

#include "remora/protocol.h"
#include "remora/status.h"

/* A request header a server may read the payload of: RM_OK, or
 * RM_ERR_TOO_BIG (len above RM_MAX_MSG) or RM_ERR_PROTO (a reply flag). */
rm_status rm_msg_check_request(const rm_msg_hdr_t *h);

#endif
