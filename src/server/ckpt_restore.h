/* remora restore, in a fresh session worker: recreate the session a
 * checkpoint holds (ckpt_file.h) — every context, module, function, stream
 * and event bound to the handle value the client holds, every allocation
 * mapped at its address with its bytes, the handle table as it was — so
 * that the client's channels can join it and run on. */
#ifndef RM_CKPT_RESTORE_H
#define RM_CKPT_RESTORE_H

#include "remora/protocol.h"
#include "sv.h"

/* RM_OK and *out filled (allocations, bytes, pause_us: how long it took),
 * or an error with out->message; the session is then unusable (the
 * worker exits). The checkpoint must have been taken on a GPU of the
 * model of this server's device 0. */
rm_status rm_session_restore(rm_session_t *s, const char *dir, rm_ckpt_reply_t *out);
/* The same from a migration stream on fd (ckpt_file.h): pre-copy rounds
 * (allocation lists and memory) may come before the session section; out
 * as above, pause_us how long the whole stream took. */
rm_status rm_session_restore_stream(rm_session_t *s, int fd, rm_ckpt_reply_t *out);

#endif
