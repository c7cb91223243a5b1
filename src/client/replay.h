/* What a channel sent since its server last answered, kept (with copies of
 * the caller's memory the messages referenced) while REMORA_RESTORE_FROM
 * is set, so that after its server is lost and the session restored from
 * a checkpoint, the messages the checkpoint had not run can be sent again.
 * A reply to message k means the server ran every message up to k: those
 * are dropped. */
#ifndef RM_CL_REPLAY_H
#define RM_CL_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define RM_REPLAY_MAX ((size_t)256 << 20) /* past this the log gives up (broken) */

typedef struct {
    uint8_t *buf; /* whole messages: header, payload */
    size_t len, cap;
    uint32_t base; /* every message up to this seq was answered for */
    uint32_t last; /* seq of the last message kept */
    int broken;    /* messages up to broken_upto could not be kept: no resume until answered */
    uint32_t broken_upto;
} rm_replay_t;

/* Keep the messages of a batch about to be sent (n iovecs; last: the seq of
 * its last message). */
void rm_replay_add(rm_replay_t *r, const struct iovec *iov, int n, uint32_t last);
/* The server answered message seq. */
void rm_replay_answered(rm_replay_t *r, uint32_t seq);
/* The restored session ran this channel's messages up to done: 0 and
 * [*p, *p + *n) the messages to send again, or -1 with *why (messages
 * were answered after the checkpoint, or a reply was lost with it). */
int rm_replay_resume(rm_replay_t *r, uint32_t done, const uint8_t **p, size_t *n, const char **why);
void rm_replay_free(rm_replay_t *r);

#endif
