/* The device-memory limits of a session (src/server/quota.c): a limit is
 * enforced per GPU, taken bytes are kept or given back, charges go by key
 * and by owner, a client's request lowers the operator's limit and never
 * raises it, and a GPU without a limit charges nothing. Also the size
 * syntax of --mem-limit and the client's variables (src/common/size.c). */
#include <stdio.h>

#include "check.h"
#include "quota.h"
#include "size.h"

static void sizes(void)
{
    uint64_t v = 0;
    CHECK(rm_parse_size("1024", &v) == 0 && v == 1024);
    CHECK(rm_parse_size("512M", &v) == 0 && v == 512ull << 20);
    CHECK(rm_parse_size("512MiB", &v) == 0 && v == 512ull << 20);
    CHECK(rm_parse_size("4g", &v) == 0 && v == 4ull << 30);
    CHECK(rm_parse_size("4GB", &v) == 0 && v == 4ull << 30);
    CHECK(rm_parse_size("1T", &v) == 0 && v == 1ull << 40);
    CHECK(rm_parse_size("100b", &v) == 0 && v == 100);
    const char *bad[] = {"", "0", "-1", " 4G", "4 G", "4X", "4Gi", "4GiBs", "G", "99999999999999999999", "16777216T"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(rm_parse_size(bad[i], &v) != 0);
}

int main(void)
{
    sizes();
    rm_quota_t q;
    int taken;
    rm_quota_init(&q, 7, 1000);
    CHECK(rm_quota_limit(&q, 0) == 1000 && rm_quota_limit(&q, 63) == 1000 && rm_quota_limit(&q, 64) == 0);
    /* take, keep, refuse past the limit */
    CHECK(rm_quota_take(&q, 0, 600, "test", &taken) == CUDA_SUCCESS && taken);
    CHECK(rm_quota_keep(&q, 0, 0x1000, 11, 600) == 0);
    CHECK(rm_quota_take(&q, 0, 401, "test", &taken) == CUDA_ERROR_OUT_OF_MEMORY && !taken);
    CHECK(rm_quota_used(&q, 0) == 600);
    CHECK(rm_quota_take(&q, 1, 1000, "test", &taken) == CUDA_SUCCESS && taken); /* another GPU */
    rm_quota_give(&q, 1, 1000);                                                  /* its driver failed */
    CHECK(rm_quota_used(&q, 1) == 0);
    CHECK(rm_quota_take(&q, 0, 400, "test", &taken) == CUDA_SUCCESS);
    CHECK(rm_quota_keep(&q, 0, RM_QUOTA_HANDLE(0x4000000010ull), 0, 400) == 0);
    CHECK(rm_quota_used(&q, 0) == 1000);
    /* by key, by owner */
    rm_quota_release(&q, RM_QUOTA_HANDLE(0x4000000010ull));
    rm_quota_release(&q, 0x9999); /* none there */
    CHECK(rm_quota_used(&q, 0) == 600);
    CHECK(rm_quota_take(&q, 0, 100, "test", &taken) == CUDA_SUCCESS && rm_quota_keep(&q, 0, 0x3000, 12, 100) == 0);
    CHECK(rm_quota_take(&q, 0, 100, "test", &taken) == CUDA_SUCCESS && rm_quota_keep(&q, 0, 0x2000, 11, 100) == 0);
    rm_quota_release_owner(&q, 0); /* handle charges have no owner: nothing */
    CHECK(rm_quota_used(&q, 0) == 800);
    rm_quota_release_owner(&q, 11);
    CHECK(rm_quota_used(&q, 0) == 100);
    /* an address charged again (the end of the first missed) counts once */
    CHECK(rm_quota_take(&q, 0, 50, "test", &taken) == CUDA_SUCCESS && rm_quota_keep(&q, 0, 0x3000, 12, 50) == 0);
    CHECK(rm_quota_used(&q, 0) == 50);
    /* the client's request: lower, never higher */
    CHECK(rm_quota_request(&q, 0, 40) == 40);
    CHECK(rm_quota_take(&q, 0, 1, "test", &taken) == CUDA_ERROR_OUT_OF_MEMORY); /* already past it */
    CHECK(rm_quota_request(&q, 0, 5000) == 1000);
    CHECK(rm_quota_request(&q, 0, 0) == 1000 && rm_quota_request(&q, 64, 10) == 0);
    CHECK(rm_quota_request(&q, 1, 10) == 10 && rm_quota_max_limit(&q, 1) == 1000 && rm_quota_max_limit(&q, 2) == 1000);
    CHECK(rm_quota_request(&q, 0, 20) == 20 && rm_quota_max_limit(&q, 2) == 20);
    rm_quota_destroy(&q);
    /* no operator limit: nothing charged unless the client asks */
    rm_quota_init(&q, 8, 0);
    CHECK(rm_quota_take(&q, 0, 1ull << 62, "test", &taken) == CUDA_SUCCESS && !taken);
    CHECK(rm_quota_used(&q, 0) == 0 && rm_quota_max_limit(&q, 4) == 0);
    CHECK(rm_quota_request(&q, 2, 300) == 300 && rm_quota_max_limit(&q, 4) == 0 && rm_quota_max_limit(&q, 3) == 0);
    CHECK(rm_quota_request(&q, 0, 100) == 100 && rm_quota_request(&q, 1, 200) == 200 && rm_quota_max_limit(&q, 3) == 300);
    CHECK(rm_quota_take(&q, 2, 301, "test", &taken) == CUDA_ERROR_OUT_OF_MEMORY);
    rm_quota_destroy(&q);
    printf("PASS test_quota\n");
    return 0;
}
