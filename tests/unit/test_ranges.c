/* The range table (src/common/ranges.c): lookups, and the byte total that
 * remora status reports as a session's memory, through every way a range
 * comes and goes (add, replace at the same base, delete, delete by tag),
 * and overlap queries. */
#include <stdio.h>

#include "check.h"
#include "ranges.h"

int main(void)
{
    rm_ranges_t r;
    rm_range_t found;
    uint64_t size = 0;
    rm_ranges_init(&r);
    CHECK(rm_ranges_bytes(&r) == 0);
    CHECK(rm_ranges_add(&r, 0x1000, 0x100, 1) == 0);
    CHECK(rm_ranges_add(&r, 0x3000, 0x200, 2) == 0);
    CHECK(rm_ranges_add(&r, 0x2000, 0x300, 1) == 0);
    CHECK(rm_ranges_bytes(&r) == 0x600);
    CHECK(rm_ranges_contains(&r, 0x2000, 0x300) && !rm_ranges_contains(&r, 0x2000, 0x301));
    CHECK(rm_ranges_find(&r, 0x3010, &found) == 0 && found.base == 0x3000 && found.tag == 2);
    CHECK(rm_ranges_add(&r, 0x2000, 0x80, 1) == 0); /* replaced */
    CHECK(rm_ranges_bytes(&r) == 0x380);
    CHECK(rm_ranges_del(&r, 0x3000, &size) == 0 && size == 0x200);
    CHECK(rm_ranges_del(&r, 0x3000, &size) != 0);
    CHECK(rm_ranges_bytes(&r) == 0x180);
    CHECK(rm_ranges_add(&r, 0x5000, 0x1000, 3) == 0);
    rm_ranges_del_tag(&r, 1);
    CHECK(rm_ranges_bytes(&r) == 0x1000);
    CHECK(!rm_ranges_contains(&r, 0x1000, 1) && rm_ranges_contains(&r, 0x5000, 0x1000));
    /* overlap: any shared address, not only a range's base */
    CHECK(rm_ranges_overlap(&r, 0x4fff, 2, &found) == 0 && found.base == 0x5000);
    CHECK(rm_ranges_overlap(&r, 0x5800, 0x10000, &found) == 0 && found.base == 0x5000);
    CHECK(rm_ranges_overlap(&r, 0x4000, 0x1000, &found) != 0);
    CHECK(rm_ranges_overlap(&r, 0x6000, 0x1000, &found) != 0);
    CHECK(rm_ranges_overlap(&r, 0x5000, 0, &found) != 0);
    rm_ranges_destroy(&r);
    printf("PASS ranges\n");
    return 0;
}
