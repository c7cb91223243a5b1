/* Unit test of the client's replay log (src/client/replay.c, included: the
 * client library is not linked into unit tests): messages answered are
 * dropped; a resume from the checkpoint's progress sends again exactly the
 * messages after it; a checkpoint older than an answer, newer than what was
 * sent, or one that ran a sync call whose reply was lost is refused; a log
 * past its limit gives up until what it could not keep is answered. */
#include "../../src/client/replay.c"

#include <stdio.h>

#include "check.h"

/* Batch messages seq first..last (sync where sync[i]), payload of i bytes each. */
static void send_batch(rm_replay_t *r, uint32_t first, uint32_t last, const int *sync)
{
    uint8_t buf[4096];
    size_t n = 0;
    for (uint32_t s = first; s <= last; s++) {
        rm_msg_hdr_t h = {.len = s % 7, .op = 1, .flags = sync && sync[s - first] ? 0 : RM_MSG_ASYNC, .seq = s};
        memcpy(buf + n, &h, sizeof h);
        memset(buf + n + sizeof h, (int)s, h.len);
        n += sizeof h + h.len;
    }
    struct iovec iov[2] = {{buf, n / 2}, {buf + n / 2, n - n / 2}}; /* split anywhere, as refs split a batch */
    rm_replay_add(r, iov, 2, last);
}

static uint32_t first_seq(const uint8_t *p, size_t n)
{
    CHECK(n >= sizeof(rm_msg_hdr_t));
    return header_at(p).seq;
}

int main(void)
{
    rm_replay_t r = {0};
    const uint8_t *p;
    size_t n;
    const char *why;
    int sync[] = {0, 0, 1};
    send_batch(&r, 1, 3, sync);        /* two async calls and a sync one */
    rm_replay_answered(&r, 3);         /* answered: all three ran */
    CHECK(r.len == 0 && r.base == 3);
    send_batch(&r, 4, 9, NULL);        /* async calls, no answer yet */
    rm_replay_t copy = r;
    copy.buf = malloc(r.len);
    memcpy(copy.buf, r.buf, r.len);
    CHECK(rm_replay_resume(&r, 6, &p, &n, &why) == 0 && first_seq(p, n) == 7);
    size_t expect = 0;
    for (uint32_t s = 7; s <= 9; s++)
        expect += sizeof(rm_msg_hdr_t) + s % 7;
    CHECK(n == expect);
    CHECK(rm_replay_resume(&copy, 3, &p, &n, &why) == 0 && first_seq(p, n) == 4); /* the checkpoint ran none */
    rm_replay_free(&copy);
    rm_replay_free(&r);

    send_batch(&r, 1, 5, NULL);
    rm_replay_answered(&r, 5);
    CHECK(rm_replay_resume(&r, 4, &p, &n, &why) == -1 && strstr(why, "older"));
    CHECK(rm_replay_resume(&r, 6, &p, &n, &why) == -1 && strstr(why, "did not send"));
    CHECK(rm_replay_resume(&r, 5, &p, &n, &why) == 0 && n == 0);
    int lost[] = {1, 0};
    send_batch(&r, 6, 7, lost); /* a sync call, then an async one */
    CHECK(rm_replay_resume(&r, 6, &p, &n, &why) == -1 && strstr(why, "reply was lost"));
    rm_replay_free(&r);

    r.len = RM_REPLAY_MAX - 10; /* nearly full: the next batch does not fit */
    send_batch(&r, 1, 2, NULL);
    CHECK(r.broken);
    r.len = 0;
    send_batch(&r, 3, 4, NULL); /* not kept either: its predecessors are not */
    CHECK(rm_replay_resume(&r, 0, &p, &n, &why) == -1 && strstr(why, "more was sent"));
    rm_replay_answered(&r, 2);
    CHECK(r.broken);
    rm_replay_answered(&r, 4); /* everything not kept has run */
    CHECK(!r.broken);
    send_batch(&r, 5, 6, NULL);
    CHECK(rm_replay_resume(&r, 4, &p, &n, &why) == 0 && first_seq(p, n) == 5);
    rm_replay_free(&r);
    printf("replay ok\n");
    return 0;
}
