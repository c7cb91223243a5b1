/* The virtual memory management API (driver calls from a runtime program,
 * as libraries use it): reserve an address range, create physical memory,
 * map it twice (the two views alias), set access, use it from kernels and
 * copies, retain its handle from an address (as NCCL does) and map that
 * too, share an allocation as a POSIX file descriptor and import it (not
 * over remora's TCP, so reported in '#' lines), unmap and free. */
#include <unistd.h>

#include "rt.h"

int main()
{
    RT_CHECK(cudaFree(0)); /* the runtime's context, current from here on */
    CUmemAllocationProp prop = {};
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = 0;
    size_t gran = 0;
    CU_CHECK(cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
    RT_EXPECT(gran > 0);
    printf("granularity %zu\n", gran);
    const size_t size = 2 * gran;

    CUdeviceptr base = 0;
    CU_CHECK(cuMemAddressReserve(&base, 2 * size, 0, 0, 0));
    CUmemGenericAllocationHandle h;
    CU_CHECK(cuMemCreate(&h, size, &prop, 0));
    CU_CHECK(cuMemMap(base, size, 0, h, 0));
    CU_CHECK(cuMemMap(base + size, size, 0, h, 0)); /* a second view of the same memory */
    CU_CHECK(cuMemRelease(h));                       /* lives on while mapped */
    CUmemAccessDesc desc = {};
    desc.location = prop.location;
    desc.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    CU_CHECK(cuMemSetAccess(base, 2 * size, &desc, 1));
    unsigned long long flags = 0;
    CU_CHECK(cuMemGetAccess(&flags, &prop.location, base + size));
    RT_EXPECT(flags == CU_MEM_ACCESS_FLAGS_PROT_READWRITE);

    const int count = (int)(size / sizeof(unsigned int));
    unsigned int *first = (unsigned int *)base, *second = (unsigned int *)(base + size);
    rm_fill_u32<<<64, 256>>>(first, 0x5eedu, count);
    RT_CHECK(cudaDeviceSynchronize());
    unsigned int tail = 0, head = 0;
    RT_CHECK(cudaMemcpy(&tail, second + count - 1, sizeof tail, cudaMemcpyDeviceToHost));
    RT_EXPECT(tail == 0x5eedu);
    RT_CHECK(cudaMemset(second, 0, sizeof head));
    RT_CHECK(cudaMemcpy(&head, first, sizeof head, cudaMemcpyDefault));
    RT_EXPECT(head == 0);
    printf("two views of one allocation: %#x then %#x\n", tail, head);

    /* the handle behind an address, retained: a third view through it */
    CUmemGenericAllocationHandle again;
    CU_CHECK(cuMemRetainAllocationHandle(&again, (void *)(base + size)));
    CUdeviceptr third = 0;
    CU_CHECK(cuMemAddressReserve(&third, size, 0, 0, 0));
    CU_CHECK(cuMemMap(third, size, 0, again, 0));
    CU_CHECK(cuMemRelease(again));
    CU_CHECK(cuMemSetAccess(third, size, &desc, 1));
    RT_CHECK(cudaMemset(first + 1, 0, sizeof head));
    CU_CHECK(cuMemcpy(third + sizeof head, (CUdeviceptr)(first + count - 1), sizeof tail)); /* writes first[1] */
    unsigned int seen = 0;
    RT_CHECK(cudaMemcpy(&seen, first + 1, sizeof seen, cudaMemcpyDeviceToHost));
    RT_EXPECT(seen == 0x5eedu);
    printf("retained handle: a third view sees %#x\n", seen);
    CU_CHECK(cuMemUnmap(third, size));
    CU_CHECK(cuMemAddressFree(third, size));

    /* shared as a file descriptor and imported: the same memory */
    CUmemAllocationProp shareable = prop;
    shareable.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
    CUmemGenericAllocationHandle sh, imported;
    CU_CHECK(cuMemCreate(&sh, gran, &shareable, 0));
    int fd = -1;
    CUresult e = cuMemExportToShareableHandle(&fd, sh, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0);
    if (e == CUDA_SUCCESS) {
        CU_CHECK(cuMemImportFromShareableHandle(&imported, (void *)(uintptr_t)fd,
                                                CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
        CUdeviceptr views = 0;
        CU_CHECK(cuMemAddressReserve(&views, 2 * gran, 0, 0, 0));
        CU_CHECK(cuMemMap(views, gran, 0, sh, 0));
        CU_CHECK(cuMemMap(views + gran, gran, 0, imported, 0));
        CU_CHECK(cuMemSetAccess(views, 2 * gran, &desc, 1));
        CU_CHECK(cuMemsetD32(views, 0xfeedu, gran / 4));
        unsigned int got = 0;
        CU_CHECK(cuMemcpyDtoH(&got, views + 2 * gran - sizeof got, sizeof got));
        RT_EXPECT(got == 0xfeedu);
        CU_CHECK(cuMemUnmap(views, gran));
        CU_CHECK(cuMemUnmap(views + gran, gran));
        CU_CHECK(cuMemAddressFree(views, 2 * gran));
        CU_CHECK(cuMemRelease(imported));
        close(fd);
        printf("# shared as a file descriptor and imported: the import sees %#x\n", got);
    } else {
        printf("# shared as a file descriptor: not here (%d)\n", (int)e);
    }
    CU_CHECK(cuMemRelease(sh));

    CU_CHECK(cuMemUnmap(base, size));
    CU_CHECK(cuMemUnmap(base + size, size));
    CU_CHECK(cuMemAddressFree(base, 2 * size));
    printf("PASS rt_vmm\n");
    return 0;
}
