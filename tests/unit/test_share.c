/* Compute shares (src/server/share.c, pace.c): busy time is credited to
 * the buckets it covered and leaves the window as time goes on; a session
 * may run below its share, past it only while nobody below theirs waits
 * (lending) and never when pinned; sessions with a share take turns, a
 * waiter gets the turn after the holder's quantum and once its work is done;
 * a session without a share runs beside them, never taking or waiting for
 * the turn, and is not paced or measured; the GPUs' counts of waiting
 * sessions follow the shares set and cleared; a client's request lowers the
 * operator's share and never raises it. Time is given, never read: nothing
 * here waits. */
#include <stdio.h>

#include "check.h"
#include "pace.h"
#include "share.h"

#define MS 1000000ull
#define T0 (1000000ull * RM_SHARE_WINDOW_NS) /* any time far from 0 */

static void window(rm_share_table_t *t)
{
    rm_share_slot_t *s = &t->slot[0][0];
    rm_share_credit(t, 0, 0, T0, 12 * MS); /* 12 ms ending now: three buckets */
    CHECK(rm_share_window(s, T0) == 12 * MS && s->busy_ns == 12 * MS);
    CHECK(rm_share_window(&t->gpu[0], T0) == 12 * MS);
    CHECK(rm_share_window(&t->slot[0][1], T0) == 0 && rm_share_window(&t->slot[1][0], T0) == 0);
    /* half a window later all of it is still in; a window later none */
    CHECK(rm_share_window(s, T0 + RM_SHARE_WINDOW_NS / 2) == 12 * MS);
    CHECK(rm_share_window(s, T0 + RM_SHARE_WINDOW_NS + 20 * MS) == 0);
    /* a run longer than the window counts in it as the window, in all whole */
    rm_share_credit(t, 1, 0, T0, 3 * RM_SHARE_WINDOW_NS);
    uint64_t w = rm_share_window(&t->slot[1][0], T0);
    CHECK(w <= RM_SHARE_WINDOW_NS && w >= RM_SHARE_WINDOW_NS - RM_SHARE_BUCKET_NS);
    CHECK(t->slot[1][0].busy_ns == 3 * RM_SHARE_WINDOW_NS);
    /* bad slots and GPUs are ignored */
    rm_share_credit(t, 99, 0, T0, MS);
    rm_share_credit(t, 0, RM_SHARE_DEVICES, T0, MS);
    rm_share_clear(t, 1);
    CHECK(rm_share_window(&t->slot[1][0], T0) == 0 && t->slot[1][0].busy_ns == 0);
    rm_share_clear(t, 0);
}

static void may_run(rm_share_table_t *t)
{
    uint64_t now = T0 + 10 * RM_SHARE_WINDOW_NS;
    rm_share_set(t, 0, 2, 30, 1); /* slot 0: pinned 30% */
    rm_share_set(t, 1, 2, 70, 0); /* slot 1: lending 70% */
    CHECK(t->slot[0][2].percent == 30 && t->slot[1][2].percent == 70 && t->slot[0][3].percent == 0);
    /* below its share: it takes the free turn */
    CHECK(rm_share_may_run(t, 0, 2, now, 0) && t->turn[2].holder == 1);
    rm_share_credit(t, 0, 2, now, 29 * MS);
    CHECK(rm_share_entitled(t, 0, 2, now, 0) && rm_share_may_run(t, 0, 2, now, 0));
    CHECK(!rm_share_entitled(t, 0, 2, now, 2 * MS)); /* what it started counts */
    /* another below its share finds the turn taken: it waits, and the holder
     * goes on only for the rest of its quantum */
    CHECK(!rm_share_may_run(t, 1, 2, now, 0) && t->slot[1][2].waiting && t->turn[2].waiters == 1);
    CHECK(rm_share_may_run(t, 0, 2, now + RM_SHARE_QUANTUM_NS / 2, 0));
    CHECK(!rm_share_may_run(t, 0, 2, now + RM_SHARE_QUANTUM_NS, 0));
    /* the holder's work is done: the turn passes */
    rm_share_idle(t, 1, 2); /* not the holder: nothing */
    CHECK(t->turn[2].holder == 1);
    rm_share_idle(t, 0, 2);
    CHECK(t->turn[2].holder == 0);
    CHECK(rm_share_may_run(t, 1, 2, now, 0) && t->turn[2].holder == 2 && t->turn[2].waiters == 0);
    rm_share_idle(t, 1, 2);
    /* pinned and past its share: never, even with the GPU free */
    rm_share_credit(t, 0, 2, now, 2 * MS);
    CHECK(!rm_share_may_run(t, 0, 2, now, 0) && t->turn[2].holder == 0 && !t->slot[0][2].waiting);
    /* lending and past its share: while nobody below theirs waits */
    rm_share_credit(t, 1, 2, now, 80 * MS);
    CHECK(!rm_share_entitled(t, 1, 2, now, 0));
    CHECK(rm_share_may_run(t, 1, 2, now, 0) && t->turn[2].holder == 2);
    rm_share_set(t, 3, 2, 0, 0); /* slot 3: no share: beside the turn, which it neither takes nor waits for */
    CHECK(rm_share_may_run(t, 3, 2, now, 0) && t->turn[2].holder == 2 && t->turn[2].waiters == 0);
    CHECK(!t->slot[3][2].waiting && rm_share_may_run(t, 1, 2, now, 0)); /* the lender goes on */
    rm_share_idle(t, 1, 2);
    CHECK(rm_share_may_run(t, 3, 2, now, 0) && t->turn[2].holder == 0); /* a free turn stays free */
    /* later, the work has left the window: below the share again */
    CHECK(rm_share_entitled(t, 0, 2, now + RM_SHARE_WINDOW_NS + RM_SHARE_BUCKET_NS, 0));
    /* 100 and above is no share; setting it twice counts once; clear lowers
     * the counts and frees the turn */
    rm_share_set(t, 0, 2, 30, 1);
    rm_share_set(t, 1, 2, 100, 0);
    CHECK(t->slot[1][2].percent == 0 && t->slot[0][2].percent == 30);
    rm_share_set(t, 3, 2, 40, 0);
    CHECK(rm_share_may_run(t, 3, 2, now, 0) && t->turn[2].holder == 4);
    CHECK(!rm_share_may_run(t, 0, 2, now, 0) && t->turn[2].waiters == 0); /* pinned, past its share */
    rm_share_set(t, 0, 2, 90, 1);
    CHECK(!rm_share_may_run(t, 0, 2, now, 0) && t->turn[2].waiters == 1);
    rm_share_clear(t, 3);
    rm_share_clear(t, 0);
    CHECK(t->turn[2].holder == 0 && t->turn[2].waiters == 0);
    rm_share_clear(t, 1);
    CHECK(t->slot[0][2].percent == 0);
    rm_share_set(t, 0, RM_SHARE_DEVICES, 30, 0); /* ignored */
}

static void requests(rm_share_table_t *t)
{
    rm_pace_t p;
    rm_pace_init(&p, NULL, 1);
    rm_pace_attach(&p, t, 3, 30, 0, NULL); /* the operator's 30% on every GPU */
    CHECK(t->slot[3][0].percent == 30 && t->slot[3][RM_SHARE_DEVICES - 1].percent == 30);
    CHECK(rm_pace_active(&p, 0) && rm_pace_active(&p, RM_SHARE_DEVICES - 1) && !rm_pace_active(&p, -1));
    CHECK(rm_pace_request(&p, 0, 50) == 30);  /* capped */
    CHECK(rm_pace_request(&p, 1, 20) == 20);  /* lower: its own */
    CHECK(rm_pace_request(&p, 2, 0) == 30);   /* none asked: the operator's */
    CHECK(rm_pace_request(&p, 3, 100) == 30); /* "no share" cannot undo the operator's */
    CHECK(rm_pace_request(&p, RM_SHARE_DEVICES, 10) == 0);
    CHECK(t->slot[3][1].percent == 20 && t->slot[3][0].percent == 30);
    CHECK(rm_pace_max_share(&p, 2) == 30);
    rm_pace_destroy(&p);
    rm_share_clear(t, 3);
    /* no operator share: the client's, on its GPU only */
    rm_pace_init(&p, NULL, 2);
    rm_pace_attach(&p, t, 4, 0, 0, NULL);
    CHECK(!rm_pace_active(&p, 0) && t->slot[4][0].percent == 0);
    CHECK(rm_pace_request(&p, 0, 40) == 40 && t->slot[4][0].percent == 40 && t->slot[4][1].percent == 0);
    CHECK(rm_pace_active(&p, 0) && !rm_pace_active(&p, 1));
    CHECK(rm_pace_max_share(&p, 1) == 40 && rm_pace_max_share(&p, 2) == 0);
    /* an unlimited session beside it on GPU 0 is not paced or measured there */
    rm_pace_t u;
    rm_pace_init(&u, NULL, 3);
    rm_pace_attach(&u, t, 5, 0, 0, NULL);
    CHECK(!rm_pace_active(&u, 0) && rm_share_may_run(t, 5, 0, T0, 0) && t->turn[0].holder == 0);
    rm_pace_destroy(&u);
    CHECK(rm_pace_request(&p, 0, 0) == 0 && t->slot[4][0].percent == 0 && !rm_pace_active(&p, 0));
    rm_pace_destroy(&p);
    rm_share_clear(t, 4);
    rm_share_clear(t, 5);
}

int main(void)
{
    rm_share_table_t *t = rm_share_map(8);
    CHECK(t && t->nslots == 8);
    window(t);
    may_run(t);
    requests(t);
    printf("PASS test_share\n");
    return 0;
}
