/* e2e (remora only; under ASan run with quarantine_size_mb=0, or freed
 * memory stays resident in the quarantine): a big message does not leave
 * its buffers behind. A
 * 96 MiB module image travels in one request; once it is answered the
 * worker gives the buffer back, so its resident memory stays near what it
 * was, not that plus the message's size for the rest of the session. Big
 * copies (chunked) must not keep memory either. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MIB = 1 << 20, COPY = 96 * MIB };

/* Resident bytes of the listener's child (this session's worker). */
static long long worker_rss(void)
{
    const char *listener = getenv("RM_SERVER_PID");
    RM_EXPECT(listener && atoi(listener) > 0, "RM_SERVER_PID is not set: run through with_server.sh");
    char path[128], line[256];
    snprintf(path, sizeof path, "/proc/%s/task/%s/children", listener, listener);
    FILE *f = fopen(path, "r");
    int worker = 0;
    RM_EXPECT(f && fscanf(f, "%d", &worker) == 1 && worker > 0, "no worker under the listener %s", listener);
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/status", worker);
    f = fopen(path, "r");
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    RM_EXPECT(kb > 0, "no VmRSS for worker %d", worker);
    return kb * 1024;
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    long long before = worker_rss();
    char *text = rm_test_text_image(COPY, "limit_buffers");
    CUmodule mod;
    setenv("REMORA_MODULE_CACHE_MIN", "1000000000", 1); /* sent whole, not by hash */
    CK(cuModuleLoadData(&mod, text));
    free(text);
    CK(cuModuleUnload(mod));
    long long after_image = worker_rss();
    printf("# worker resident: %lld MiB, then %lld MiB after a 96 MiB image\n", before / MIB, after_image / MIB);
    RM_EXPECT(after_image < before + 32LL * MIB, "the worker keeps %lld MiB more after a 96 MiB image",
              (after_image - before) / MIB);
    /* each channel that copied keeps its 8 MiB bulk buffer (src/server/sv.h):
     * the bound below allows for the thread's and 4 striping helpers' */
    setenv("REMORA_TCP_STREAMS", "4", 1);
    unsigned char *host = malloc(COPY);
    RM_EXPECT(host != NULL, "malloc");
    memset(host, 0x77, COPY);
    CUdeviceptr d;
    CK(cuMemAlloc(&d, COPY));
    CK(cuMemcpyHtoD(d, host, COPY));
    memset(host, 0, COPY);
    CK(cuMemcpyDtoH(host, d, COPY));
    RM_EXPECT(host[0] == 0x77 && host[COPY - 1] == 0x77, "the copies came back");
    CK(cuCtxSynchronize()); /* one more small request and reply after the big ones */
    long long rss = worker_rss();
    printf("# worker resident: %lld MiB\n", rss / MIB);
    RM_EXPECT(rss < COPY + 64LL * MIB, "the worker keeps %lld MiB after 96 MiB copies", rss / MIB);
    CK(cuMemFree(d));
    free(host);
    printf("PASS limit_buffers\n");
    return 0;
}
