/* GPU: IPC between two client processes. The parent fills device memory,
 * exports it and an interprocess event, and starts a child process (a new
 * program, so a new CUDA client: through remora a session and worker of its
 * own) that opens both, checks the bytes, overwrites them and records the
 * event; the parent then sees the child's bytes. The fake backend has no
 * memory shared between sessions, so this runs on a GPU only. */
#include "testutil.h"
#include "../common/child.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WORDS = 1 << 20 };

static int child(const char *mem_hex, const char *event_hex)
{
    CUdevice dev;
    CUcontext ctx;
    CUipcMemHandle mh;
    CUipcEventHandle eh;
    rm_test_init(&dev, &ctx);
    RM_EXPECT(rm_from_hex(mem_hex, &mh, sizeof mh) && rm_from_hex(event_hex, &eh, sizeof eh), "handles in hex");
    CUdeviceptr d;
    CUevent done;
    CK(cuIpcOpenMemHandle(&d, mh, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS));
    CK(cuIpcOpenEventHandle(&done, eh));
    unsigned *words = malloc(WORDS * sizeof *words);
    CK(cuMemcpyDtoH(words, d, WORDS * sizeof *words));
    for (int i = 0; i < WORDS; i++)
        RM_EXPECT(words[i] == 0xa5a5a5a5u, "word %d from the parent: %#x", i, words[i]);
    CK(cuMemsetD32(d, 0x0c0ffee0u, WORDS));
    CK(cuEventRecord(done, NULL));
    CK(cuCtxSynchronize());
    CK(cuIpcCloseMemHandle(d));
    CK(cuEventDestroy(done));
    free(words);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argv[3]);
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr d;
    CUevent done;
    CUipcMemHandle mh;
    CUipcEventHandle eh;
    rm_test_init(&dev, &ctx);
    CK(cuMemAlloc(&d, WORDS * sizeof(unsigned)));
    CK(cuMemsetD32(d, 0xa5a5a5a5u, WORDS));
    CK(cuCtxSynchronize());
    CK(cuEventCreate(&done, CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING));
    CK(cuIpcGetMemHandle(&mh, d));
    CK(cuIpcGetEventHandle(&eh, done));
    char mem_hex[2 * sizeof mh + 1], event_hex[2 * sizeof eh + 1];
    rm_to_hex(&mh, sizeof mh, mem_hex);
    rm_to_hex(&eh, sizeof eh, event_hex);

    int status = rm_run_child(mem_hex, event_hex);
    RM_EXPECT(status == 0, "the child succeeded (status %d)", status);
    CK(cuEventSynchronize(done));
    unsigned first = 0, last = 0;
    CK(cuMemcpyDtoH(&first, d, sizeof first));
    CK(cuMemcpyDtoH(&last, d + (WORDS - 1) * sizeof(unsigned), sizeof last));
    RM_EXPECT(first == 0x0c0ffee0u && last == 0x0c0ffee0u, "the child's bytes: %#x %#x", first, last);
    printf("ipc: child read the parent's memory and wrote %#x back\n", first);
    CK(cuEventDestroy(done));
    CK(cuMemFree(d));
    rm_pass("gpu_ipc");
    return 0;
}
