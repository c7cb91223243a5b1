/* e2e (remora only): a VMM allocation shared as a POSIX file descriptor.
 * Over shm:// the fd is the server's own: imported in this process it is
 * a second handle on the same memory, and a forked child (a session of its
 * own, served by another worker) that imports the inherited fd writes what
 * the parent then reads. Over TCP both calls answer
 * CUDA_ERROR_NOT_SUPPORTED: the server is as if on another host. Handle
 * types other than POSIX fds are not supported either way. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static CUmemAllocationProp prop;
static size_t size;

/* Map handle at a fresh reserved range, readable and writable. */
static CUdeviceptr map(CUmemGenericAllocationHandle h)
{
    CUdeviceptr va = 0;
    CK(cuMemAddressReserve(&va, size, 0, 0, 0));
    CK(cuMemMap(va, size, 0, h, 0));
    CUmemAccessDesc desc = {.location = prop.location, .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
    CK(cuMemSetAccess(va, size, &desc, 1));
    return va;
}

static unsigned read_word(CUdeviceptr p)
{
    unsigned v = 0;
    CK(cuMemcpyDtoH(&v, p, sizeof v));
    return v;
}

/* The child: a new session that imports the parent's fd and writes to it. */
static int child(int fd)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    CUmemGenericAllocationHandle h;
    CK(cuMemImportFromShareableHandle(&h, (void *)(uintptr_t)fd, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
    CUdeviceptr va = map(h);
    RM_EXPECT(read_word(va) == 0xabcd1234u, "the child reads %#x", read_word(va));
    CK(cuMemsetD32(va, 0x5678u, 1));
    CK(cuCtxSynchronize());
    return 0;
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    rm_test_init(&dev, &ctx);
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = dev;
    prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
    CK(cuMemGetAllocationGranularity(&size, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
    CUmemGenericAllocationHandle h;
    CK(cuMemCreate(&h, size, &prop, 0));
    CUdeviceptr va = map(h);
    CK(cuMemsetD32(va, 0xabcd1234u, size / 4));

    int fd = -1;
    CK_EXPECT(cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_FABRIC, 0), CUDA_ERROR_NOT_SUPPORTED);
    const char *server = getenv("REMORA_SERVER");
    if (server && strncmp(server, "tcp://", 6) == 0) {
        CK_EXPECT(cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0),
                  CUDA_ERROR_NOT_SUPPORTED);
        CUmemGenericAllocationHandle other;
        CK_EXPECT(cuMemImportFromShareableHandle(&other, (void *)(uintptr_t)0, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR),
                  CUDA_ERROR_NOT_SUPPORTED);
        printf("PASS remora_vmm_share (refused over TCP)\n");
        return 0;
    }
    CK(cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
    RM_EXPECT(fd >= 0, "exported fd %d", fd);

    /* imported here: the same memory under a second handle */
    CUmemGenericAllocationHandle again;
    CK(cuMemImportFromShareableHandle(&again, (void *)(uintptr_t)fd, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
    CUdeviceptr second = map(again);
    RM_EXPECT(read_word(second + size - 4) == 0xabcd1234u, "the second view reads %#x", read_word(second));

    /* imported by another session */
    fflush(stdout);
    pid_t pid = fork();
    RM_EXPECT(pid >= 0, "fork");
    if (pid == 0)
        _exit(child(fd));
    int status = 0;
    RM_EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child failed (%#x)", status);
    RM_EXPECT(read_word(va) == 0x5678u, "the parent reads %#x after the child wrote", read_word(va));

    /* an fd that is not an allocation */
    int pipe_fds[2];
    RM_EXPECT(pipe(pipe_fds) == 0, "pipe");
    CUmemGenericAllocationHandle bad;
    RM_EXPECT(cuMemImportFromShareableHandle(&bad, (void *)(uintptr_t)pipe_fds[0],
                                             CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) != CUDA_SUCCESS,
              "a pipe was imported");
    close(pipe_fds[0]);
    close(pipe_fds[1]);

    CK(cuMemUnmap(second, size));
    CK(cuMemAddressFree(second, size));
    CK(cuMemRelease(again));
    CK(cuMemUnmap(va, size));
    CK(cuMemAddressFree(va, size));
    CK(cuMemRelease(h));
    close(fd);
    printf("PASS remora_vmm_share\n");
    return 0;
}
