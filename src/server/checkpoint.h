/* remora checkpoint, in a session's worker: make the session quiet (every
 * call in progress finishes, no new one starts, every context
 * synchronised: a running kernel is waited for, not interrupted), write
 * its checkpoint (ckpt_file.h) into a directory, and let it run on. */
#ifndef RM_CHECKPOINT_H
#define RM_CHECKPOINT_H

#include "ckpt_file.h"
#include "remora/protocol.h"
#include "server.h"
#include "sv.h"

#define RM_CKPT_QUIET_S 30 /* how long a checkpoint waits for the session to become quiet */

/* Shared with migration (migrate.h): whether host functions of the
 * session are queued or kept (a stream then waits for the client, which
 * waits for the quiet session: it cannot be synchronised); synchronise
 * every context of the session (*first: one of them, NULL if none; the
 * first error); the session section (ckpt_records.h). */
int rm_session_gated(rm_session_t *s);
CUresult rm_session_sync(rm_session_t *s, CUcontext *first);
rm_status rm_ckpt_session_save(rm_ckpt_t *c, rm_session_t *s);

/* RM_OK and *out filled, or an error with out->message saying why. */
rm_status rm_session_checkpoint(rm_session_t *s, const char *dir, rm_ckpt_reply_t *out);
/* What a channel hands a thread of its own (a checkpoint, a migration):
 * the session, the channel's socket and what the listener sent with it. */
typedef struct {
    rm_session_t *s;
    int fd;
    rm_channel_msg_t msg;
} rm_channel_job_t;
/* fn on a detached thread with a malloc'd rm_channel_job_t it frees; -1 if
 * it could not start (nothing then to free). */
int rm_channel_job_start(void *(*fn)(void *), rm_session_t *s, int fd, const rm_channel_msg_t *msg);

/* Serve one remora checkpoint connection (fd, after its hello) on a thread
 * of its own: the welcome, the request, the checkpoint, the reply. */
int rm_checkpoint_start(rm_session_t *s, int fd, const rm_channel_msg_t *msg);

#endif
