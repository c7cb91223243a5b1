/* The replay log of a channel (replay.h). */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include "remora/protocol.h"

static rm_msg_hdr_t header_at(const uint8_t *p)
{
    rm_msg_hdr_t h;
    memcpy(&h, p, sizeof h); /* batched: may be unaligned */
    return h;
}

/* A batch that is not kept: resuming is impossible until it is answered. */
static void lose(rm_replay_t *r, uint32_t last)
{
    r->broken = 1;
    r->broken_upto = last;
}

void rm_replay_add(rm_replay_t *r, const struct iovec *iov, int n, uint32_t last)
{
    size_t add = 0;
    for (int i = 0; i < n; i++)
        add += iov[i].iov_len;
    if (!add)
        return;
    if (r->broken || r->len + add > RM_REPLAY_MAX) {
        lose(r, last);
        return;
    }
    if (r->len + add > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + add)
            cap *= 2;
        uint8_t *b = realloc(r->buf, cap);
        if (!b) {
            lose(r, last);
            return;
        }
        r->buf = b, r->cap = cap;
    }
    size_t start = r->len;
    for (int i = 0; i < n; i++) {
        memcpy(r->buf + r->len, iov[i].iov_base, iov[i].iov_len);
        r->len += iov[i].iov_len;
    }
    for (size_t off = start; off < r->len; off += sizeof(rm_msg_hdr_t) + header_at(r->buf + off).len)
        r->last = header_at(r->buf + off).seq;
}

/* Drop the messages up to seq; whether one of those dropped was a sync one. */
static int drop_to(rm_replay_t *r, uint32_t seq)
{
    size_t off = 0;
    int sync = 0;
    while (off < r->len) {
        rm_msg_hdr_t h = header_at(r->buf + off);
        if (h.seq > seq)
            break;
        sync |= !(h.flags & RM_MSG_ASYNC);
        off += sizeof h + h.len;
    }
    if (off) {
        memmove(r->buf, r->buf + off, r->len - off);
        r->len -= off;
    }
    return sync;
}

void rm_replay_answered(rm_replay_t *r, uint32_t seq)
{
    drop_to(r, seq);
    if (seq > r->base)
        r->base = seq;
    if (r->broken && seq >= r->broken_upto) { /* what was not kept has run */
        r->broken = 0;
        r->len = 0;
    }
}

int rm_replay_resume(rm_replay_t *r, uint32_t done, const uint8_t **p, size_t *n, const char **why)
{
    uint32_t last = r->len ? r->last : r->base;
    if (r->broken)
        *why = "more was sent since the last reply than the client keeps";
    else if (done < r->base)
        *why = "the checkpoint is older than what this thread's calls have seen (calls completed after it)";
    else if (done > last)
        *why = "the checkpoint holds calls this thread did not send";
    else if (drop_to(r, done))
        *why = "a call's reply was lost with the server";
    else {
        r->base = done;
        *p = r->buf;
        *n = r->len;
        return 0;
    }
    return -1;
}

void rm_replay_free(rm_replay_t *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}
