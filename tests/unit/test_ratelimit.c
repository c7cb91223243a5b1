/* Unit test: the rate limiter (src/common/ratelimit.c) at given times: a
 * burst passes, the rest of the window is refused and counted, the next
 * window passes again and reports what was dropped. */
#include <stdio.h>

#include "check.h"
#include "ratelimit.h"

int main(void)
{
    rm_ratelimit_t r = RM_RATELIMIT_INIT(3, 1000);
    uint64_t dropped = 99;
    for (int i = 0; i < 3; i++) {
        CHECK(rm_ratelimit_allow_at(&r, 5000 + (uint64_t)i, &dropped));
        CHECK(dropped == 0);
    }
    for (int i = 0; i < 7; i++)
        CHECK(!rm_ratelimit_allow_at(&r, 5500, &dropped));
    CHECK(rm_ratelimit_allow_at(&r, 6000, &dropped)); /* a new window */
    CHECK(dropped == 7);
    CHECK(rm_ratelimit_allow_at(&r, 6001, &dropped) && dropped == 0);
    CHECK(rm_ratelimit_allow_at(&r, 100, &dropped)); /* a clock that went back starts over */
    CHECK(rm_ratelimit_allow(&r, &dropped));         /* the monotonic clock */
    printf("ratelimit tests passed\n");
    return 0;
}
