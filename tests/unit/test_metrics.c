/* remora-server's metrics text (src/server/metrics.c) and its published
 * per-GPU figures (rm_quota_publish, src/server/quota.c): label values are
 * escaped, per-GPU series appear only for GPUs with figures, the share
 * gauges are 0 (GPU 0 at least), and --metrics takes HOST:PORT or
 * tcp://HOST:PORT only. */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "quota.h"

static int has(const rm_wbuf_t *w, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    return memmem(w->data, w->len, want, strlen(want)) != NULL;
}

static void render(void)
{
    rm_status_session_t v = {.session_id = 7, .pid = 42, .scheme = 1, .calls = 3, .bytes_in = 100, .bytes_out = 50,
                             .mem_bytes = 4096, .mem_limit = 1 << 20, .start_unix_ms = 1700000000123ull,
                             .compute_share = 30, .gpu_busy_permille = 285, .gpu_busy_ns = 123456789};
    strcpy(v.host, "box");
    strcpy(v.program, "a\"b\\c\nd");
    static rm_counters_t c;
    rm_quota_t q;
    rm_quota_init(&q, 7, 1 << 20);
    rm_quota_publish(&q, c.gpu_mem_used, c.gpu_mem_limit, RM_COUNTERS_GPUS);
    CHECK(c.gpu_mem_limit[0] == 0); /* nothing published before the client asks */
    CHECK(rm_quota_request(&q, 2, 0) == 1 << 20);
    int taken;
    CHECK(rm_quota_take(&q, 2, 4096, "test", &taken) == CUDA_SUCCESS && taken);
    CHECK(c.gpu_mem_used[2] == 4096 && c.gpu_mem_limit[2] == 1 << 20);
    const rm_counters_t *cs[1] = {&c};
    rm_wbuf_t w;
    rm_wbuf_init(&w);
    rm_wbuf_put(&w, "\n", 1); /* so that every line follows a newline */
    rm_metrics_render(&w, &v, cs, 1);
    rm_wbuf_put(&w, "", 1);
    CHECK(!w.oom);
    CHECK(has(&w, "# TYPE remora_sessions gauge"));
    CHECK(has(&w, "remora_sessions 1"));
    CHECK(has(&w, "remora_session_info{session=\"7\",pid=\"42\",host=\"box\",program=\"a\\\"b\\\\c\\nd\","
                  "transport=\"shm\"} 1"));
    CHECK(has(&w, "# TYPE remora_session_calls_total counter"));
    CHECK(has(&w, "remora_session_calls_total{session=\"7\"} 3"));
    CHECK(has(&w, "remora_session_received_bytes_total{session=\"7\"} 100"));
    CHECK(has(&w, "remora_session_sent_bytes_total{session=\"7\"} 50"));
    CHECK(has(&w, "remora_session_memory_used_bytes{session=\"7\"} 4096"));
    CHECK(has(&w, "remora_session_memory_limit_bytes{session=\"7\"} 1048576"));
    CHECK(has(&w, "remora_session_start_time_seconds{session=\"7\"} 1700000000"));
    CHECK(has(&w, "remora_session_gpu_memory_used_bytes{session=\"7\",gpu=\"2\"} 4096"));
    CHECK(has(&w, "remora_session_gpu_memory_limit_bytes{session=\"7\",gpu=\"2\"} 1048576"));
    CHECK(!memmem(w.data, w.len, "gpu_memory_used_bytes{session=\"7\",gpu=\"0\"}", 40));
    CHECK(has(&w, "remora_session_gpu_share_used_ratio{session=\"7\"} 0.285"));
    CHECK(has(&w, "remora_session_gpu_share_limit_ratio{session=\"7\"} 0.300"));
    CHECK(has(&w, "remora_session_gpu_busy_nanoseconds_total{session=\"7\"} 123456789"));
    rm_quota_give(&q, 2, 4096);
    CHECK(c.gpu_mem_used[2] == 0);
    rm_wbuf_free(&w);
    rm_quota_destroy(&q);
}

static void addresses(void)
{
    char out[300];
    CHECK(rm_metrics_address("127.0.0.1:9400", out, sizeof out) == RM_OK && strcmp(out, "tcp://127.0.0.1:9400") == 0);
    CHECK(rm_metrics_address("tcp://0.0.0.0:0", out, sizeof out) == RM_OK && strcmp(out, "tcp://0.0.0.0:0") == 0);
    const char *bad[] = {"", "9400", "nowhere", "shm://x", "http://127.0.0.1:9400", "127.0.0.1:notaport"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(rm_metrics_address(bad[i], out, sizeof out) != RM_OK);
}

int main(void)
{
    render();
    addresses();
    puts("test_metrics: ok");
    return 0;
}
