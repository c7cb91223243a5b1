/* Message header checks (see msg.h). */
#include "msg.h"

rm_status rm_msg_check_request(const rm_msg_hdr_t *h)
{
    if (h->len > RM_MAX_MSG)
        return RM_ERR_TOO_BIG;
    if (h->flags & RM_MSG_REPLY)
        return RM_ERR_PROTO;
    return RM_OK;
}
