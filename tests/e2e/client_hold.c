/* A client that stays: holds 1 MiB of device memory, makes a few calls,
 * writes READY_FILE and waits until RELEASE_FILE exists (at most two
 * minutes), then frees and exits. For tests that look at a server while
 * clients run (cli_status.sh).
 *   client_hold READY_FILE RELEASE_FILE */
#include "testutil.h"

#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    RM_EXPECT(argc == 3, "usage: client_hold READY_FILE RELEASE_FILE");
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, 1 << 20));
    CK(cuMemsetD8(d, 0x5a, 1 << 20));
    CK(cuCtxSynchronize());
    FILE *f = fopen(argv[1], "w");
    RM_EXPECT(f && fprintf(f, "%d\n", (int)getpid()) > 0 && fclose(f) == 0, "cannot write %s", argv[1]);
    for (int i = 0; i < 12000 && access(argv[2], F_OK) != 0; i++)
        usleep(10000);
    CK(cuMemFree(d));
    rm_pass("client_hold");
    return 0;
}
