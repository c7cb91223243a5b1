/* A client that keeps its GPU busy: launches rm_spin(US) (on the fake
 * backend, US microseconds of GPU time each) back to back, synchronising
 * every four, writes READY_FILE after the first ones and stops once
 * RELEASE_FILE exists (at most two minutes). For tests that look at a
 * server's compute shares while clients run (compute_share.sh).
 *   client_spin READY_FILE RELEASE_FILE US */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    RM_EXPECT(argc == 4, "usage: client_spin READY_FILE RELEASE_FILE US");
    int us = atoi(argv[3]);
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CUfunction spin = rm_test_function(mod, "rm_spin");
    void *params[] = {&us};
    double start = rm_now_us();
    for (long i = 0; rm_now_us() - start < 120e6; i++) {
        CK(cuLaunchKernel(spin, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL));
        if (i % 4 != 3)
            continue;
        CK(cuCtxSynchronize());
        if (i == 3) {
            FILE *f = fopen(argv[1], "w");
            RM_EXPECT(f && fprintf(f, "%d\n", (int)getpid()) > 0 && fclose(f) == 0, "cannot write %s", argv[1]);
        }
        if (access(argv[2], F_OK) == 0)
            break;
    }
    rm_pass("client_spin");
    return 0;
}
