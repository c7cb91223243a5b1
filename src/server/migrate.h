/* remora migrate, in the source session's worker: move the running session
 * to another server. The worker dials the target's listener with a
 * migrate hello (the session's id and key, the target's token) and sends
 * the session as a migration stream (the checkpoint's sections,
 * docs/checkpoint-format.md): pre-copy rounds of device memory while the
 * program runs (the allocations dirtied since the last round, mm.h), until
 * the dirty bytes stop shrinking or after the round limit; then it makes
 * the session quiet (as a checkpoint does), sends the session, its objects
 * and the memory still dirty, and once the target says the session is
 * ready there, commits: from then on each of its channels answers the
 * client's next request with RM_MSG_MOVED (the address to join) and runs
 * nothing, and the worker stops taking channels and exits once the
 * client's have closed. Anything failing before the commit leaves the
 * session running here, untouched. */
#ifndef RM_MIGRATE_H
#define RM_MIGRATE_H

#include "remora/protocol.h"
#include "server.h"
#include "sv.h"

#define RM_MIGRATE_LINGER_S 60 /* a moved session's worker waits this long for the client's channels to close */
#define RM_MIGRATE_IO_MS 120000 /* the target's answers (it restores meanwhile) */
#define RM_MIGRATE_COMMIT 'C'   /* the source's last byte of a migration: the target keeps the session */

/* RM_OK and *out filled (rounds, bytes, pause), or an error with
 * out->message; the session then runs on here. */
rm_status rm_session_migrate(rm_session_t *s, const rm_migrate_request_t *req, rm_migrate_reply_t *out);
/* Serve one remora migrate connection (fd, after its hello) on a thread of
 * its own: the welcome, the request, the migration, the reply. */
int rm_migrate_start(rm_session_t *s, int fd, const rm_channel_msg_t *msg);

#endif
