/* An iterative driver-API program for the checkpoint tests: x <- 0.75 x + y
 * over n floats (a big allocation, and a small one of 1000 floats), for a
 * number of steps. Halfway it writes its device addresses to READY_FILE
 * and waits until RELEASE_FILE exists (at most two minutes), so that a test
 * can checkpoint it there; with no files it runs straight through. With
 * "hostfn" it waits in a host function on its stream instead (the session
 * has a host function queued); with "paced" it does not wait there but
 * runs on, each step synchronised and a millisecond apart while
 * RELEASE_FILE is missing, and waits for it only before reading the
 * results, synchronising every 10 ms meanwhile (a test migrates it while
 * it runs: it keeps making calls). Prints the checksums of
 * both results, the same either way. With RM_ITERATE_DEVICES=2 the small
 * pair lives on device 1, in a context (and module) of its own, so that a
 * checkpoint holds a session of two devices.
 *   client_iterate N_FLOATS STEPS [READY_FILE RELEASE_FILE [hostfn|paced]] */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMALL 1000

static CUcontext ctxs[2]; /* the big pair's, the small pair's (the same one unless RM_ITERATE_DEVICES=2) */
static CUfunction scale[2], add[2];

/* On pair k's context. */
static void step(int k, CUdeviceptr x, CUdeviceptr y, int n)
{
    float s = 0.75f;
    CK(cuCtxSetCurrent(ctxs[k]));
    void *sp[] = {&x, &s, &n};
    rm_launch_1d(scale[k], NULL, (size_t)n, sp);
    void *ap[] = {&x, &y, &x, &n};
    rm_launch_1d(add[k], NULL, (size_t)n, ap);
}

static void sync_both(void)
{
    for (int k = 1; k >= 0; k--) { /* ends on the big pair's */
        CK(cuCtxSetCurrent(ctxs[k]));
        CK(cuCtxSynchronize());
    }
}

static void load(int k)
{
    CUmodule mod;
    CK(cuCtxSetCurrent(ctxs[k]));
    rm_test_load_kernels(&mod);
    scale[k] = rm_test_function(mod, "rm_scale_f32");
    add[k] = rm_test_function(mod, "rm_vector_add");
}

static CUdeviceptr upload(int k, const float *h, size_t n)
{
    CUdeviceptr d;
    CK(cuCtxSetCurrent(ctxs[k]));
    CK(cuMemAlloc(&d, n * sizeof *h));
    CK(cuMemcpyHtoD(d, h, n * sizeof *h));
    return d;
}

static void wait_for(const char *release)
{
    for (int i = 0; i < 12000 && access(release, F_OK) != 0; i++)
        usleep(10000);
}

static void wait_calling(const char *release)
{
    for (int i = 0; i < 12000 && access(release, F_OK) != 0; i++) {
        sync_both();
        usleep(10000);
    }
}

static void CUDA_CB wait_in_host_fn(void *release) { wait_for(release); }

static void halfway(const char *ready, const char *release, CUdeviceptr *p, int np, int hostfn, int paced)
{
    sync_both();
    if (hostfn)
        CK(cuLaunchHostFunc(NULL, wait_in_host_fn, (void *)release));
    FILE *f = fopen(ready, "w");
    RM_EXPECT(f != NULL, "cannot write %s", ready);
    fprintf(f, "%d\n", (int)getpid());
    for (int i = 0; i < np; i++)
        fprintf(f, "%#llx\n", (unsigned long long)p[i]);
    RM_EXPECT(fclose(f) == 0, "cannot write %s", ready);
    if (!hostfn && !paced)
        wait_for(release);
}

int main(int argc, char **argv)
{
    RM_EXPECT(argc >= 3 && argc <= 6 && argc != 4,
              "usage: client_iterate N_FLOATS STEPS [READY_FILE RELEASE_FILE [hostfn|paced]]");
    int hostfn = argc == 6 && !strcmp(argv[5], "hostfn"), paced = argc == 6 && !strcmp(argv[5], "paced");
    int n = atoi(argv[1]), steps = atoi(argv[2]);
    RM_EXPECT(n > SMALL && steps > 0, "N_FLOATS > %d and STEPS > 0", SMALL);
    CUdevice dev;
    const char *devices = getenv("RM_ITERATE_DEVICES");
    rm_test_init(&dev, &ctxs[0]);
    ctxs[1] = ctxs[0];
    load(0);
    if (devices && !strcmp(devices, "2")) {
        CUdevice dev1;
        CK(cuDeviceGet(&dev1, 1));
        CK(cuCtxCreate(&ctxs[1], NULL, 0, dev1));
        load(1);
    } else {
        scale[1] = scale[0], add[1] = add[0];
    }
    float *h = malloc((size_t)n * sizeof *h);
    RM_EXPECT(h != NULL, "malloc");
    rm_fill_random_f32(h, (size_t)n, 1);
    CUdeviceptr p[4] = {upload(0, h, (size_t)n), 0, upload(1, h, SMALL), 0};
    rm_fill_random_f32(h, (size_t)n, 2);
    p[1] = upload(0, h, (size_t)n);
    p[3] = upload(1, h, SMALL);
    for (int i = 0; i < steps; i++) {
        if (argc >= 5 && i == steps / 2)
            halfway(argv[3], argv[4], p, 4, hostfn, paced);
        if (paced && i > steps / 2 && access(argv[4], F_OK) != 0) {
            sync_both();
            usleep(1000);
        }
        step(0, p[0], p[1], n);
        step(1, p[2], p[3], SMALL);
    }
    if (paced)
        wait_calling(argv[4]);
    CK(cuCtxSetCurrent(ctxs[0]));
    CK(cuMemcpyDtoH(h, p[0], (size_t)n * sizeof *h));
    printf("big checksum %016llx\n", (unsigned long long)rm_checksum(h, (size_t)n * sizeof *h));
    CK(cuMemcpyDtoH(h, p[2], SMALL * sizeof *h));
    printf("small checksum %016llx\n", (unsigned long long)rm_checksum(h, SMALL * sizeof *h));
    for (int i = 0; i < 4; i++)
        CK(cuMemFree(p[i])); /* unified addressing: from any context */
    if (ctxs[1] != ctxs[0])
        CK(cuCtxDestroy(ctxs[1]));
    free(h);
    rm_pass("client_iterate");
    return 0;
}
