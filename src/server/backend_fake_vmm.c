/* Fake backend, the virtual memory management API (and IPC, which it does
 * not emulate), done with the host's own
 * VM: a reserved range is PROT_NONE address space, an allocation is a memfd,
 * cuMemMap maps the memfd over the range (so a mapping is real shared memory,
 * and two mappings of one allocation see the same bytes), cuMemUnmap puts
 * the PROT_NONE reservation back. Granularity: 2 MiB, as on the H100. */
#define _GNU_SOURCE
#include "backend_fake.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define FAKE_GRANULE ((size_t)2 << 20)
/* Reservations come from their own address range, beside fake device memory. */
#define FAKE_VMM_BASE ((uintptr_t)0x300000000000ull)

struct rm_fake_vmm_alloc {
    int fd;
    size_t size;
    int device;
    unsigned users; /* its handle (until released) and each mapping */
};

typedef struct {
    uintptr_t base;
    size_t size;
} fake_reservation_t;

static uintptr_t fake_vmm_next = FAKE_VMM_BASE;
static rm_fake_set_t fake_reservations; /* fake_reservation_t * */
static rm_fake_set_t fake_allocs;       /* struct rm_fake_vmm_alloc * */

static bool fake_aligned(size_t v) { return v % FAKE_GRANULE == 0; }

static void fake_alloc_unref(struct rm_fake_vmm_alloc *a)
{
    if (--a->users)
        return;
    rm_fake_set_del(&fake_allocs, a);
    rm_fake_state.dev[a->device].used -= a->size;
    close(a->fd);
    free(a);
}

void rm_fake_vmm_unmapped(rm_fake_range_t *r)
{
    /* back to reserved address space */
    mmap((void *)r->base, r->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    fake_alloc_unref(r->backing);
}

/* The reservation holding all of [p, p+n), or NULL. */
static fake_reservation_t *fake_reservation_of(uintptr_t p, size_t n)
{
    for (size_t i = 0; i < fake_reservations.len; i++) {
        fake_reservation_t *r = fake_reservations.items[i];
        if (p >= r->base && n <= r->size && p - r->base <= r->size - n)
            return r;
    }
    return NULL;
}

static CUresult fake_cuMemGetAllocationGranularity(size_t *granularity, const CUmemAllocationProp *prop,
                                                   CUmemAllocationGranularity_flags option)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!granularity || !prop || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED ||
                               prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *granularity = FAKE_GRANULE; /* minimum and recommended alike */
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                         unsigned long long flags)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!ptr || size == 0 || !fake_aligned(size) || (alignment & (alignment - 1))))
        rc = CUDA_ERROR_INVALID_VALUE;
    fake_reservation_t *r = rc == CUDA_SUCCESS ? malloc(sizeof *r) : NULL;
    if (rc == CUDA_SUCCESS && !r)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    void *got = MAP_FAILED;
    if (rc == CUDA_SUCCESS && addr) /* a hint: taken when free */
        got = mmap((void *)addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                   -1, 0);
    size_t align = alignment > FAKE_GRANULE ? alignment : FAKE_GRANULE;
    for (int tries = 0; rc == CUDA_SUCCESS && got == MAP_FAILED && tries < 64; tries++) {
        uintptr_t want = (fake_vmm_next + align - 1) & ~(uintptr_t)(align - 1);
        fake_vmm_next = want + size;
        got = mmap((void *)want, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                   -1, 0);
    }
    if (rc == CUDA_SUCCESS && got == MAP_FAILED)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS) {
        r->base = (uintptr_t)got, r->size = size;
        if (!rm_fake_set_add(&fake_reservations, r)) {
            munmap(got, size);
            rc = CUDA_ERROR_OUT_OF_MEMORY;
        }
    }
    if (rc == CUDA_SUCCESS)
        *ptr = r->base;
    else
        free(r);
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemAddressFree(CUdeviceptr ptr, size_t size)
{
    CUresult rc = rm_fake_enter();
    fake_reservation_t *r = rc == CUDA_SUCCESS ? fake_reservation_of(ptr, size) : NULL;
    if (rc == CUDA_SUCCESS && (!r || r->base != ptr || r->size != size))
        rc = CUDA_ERROR_INVALID_VALUE;
    for (uintptr_t g = ptr; rc == CUDA_SUCCESS && g < ptr + size; g += FAKE_GRANULE)
        if (rm_fake_range_find(g))
            rc = CUDA_ERROR_INVALID_VALUE; /* still mapped */
    if (rc == CUDA_SUCCESS) {
        munmap((void *)ptr, size);
        rm_fake_set_del(&fake_reservations, r);
        free(r);
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size, const CUmemAllocationProp *prop,
                                 unsigned long long flags)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!handle || !prop || size == 0 || !fake_aligned(size) || flags ||
                               prop->type != CU_MEM_ALLOCATION_TYPE_PINNED ||
                               prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE || prop->location.id < 0 ||
                               prop->location.id >= rm_fake_state.ndev))
        rc = CUDA_ERROR_INVALID_VALUE;
    rm_fake_device_t *d = rc == CUDA_SUCCESS ? &rm_fake_state.dev[prop->location.id] : NULL;
    if (rc == CUDA_SUCCESS && size > rm_fake_state.mem_total - d->used)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    struct rm_fake_vmm_alloc *a = rc == CUDA_SUCCESS ? calloc(1, sizeof *a) : NULL;
    if (rc == CUDA_SUCCESS && !a)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS) {
        a->fd = memfd_create("remora-fake-vmm", MFD_CLOEXEC);
        if (a->fd < 0 || ftruncate(a->fd, (off_t)size) != 0 || !rm_fake_set_add(&fake_allocs, a)) {
            if (a->fd >= 0)
                close(a->fd);
            rc = CUDA_ERROR_OUT_OF_MEMORY;
        }
    }
    if (rc == CUDA_SUCCESS) {
        a->size = size, a->device = prop->location.id, a->users = 1;
        d->used += size;
        *handle = (CUmemGenericAllocationHandle)(uintptr_t)a;
    } else {
        free(a);
    }
    return rm_fake_leave(rc);
}

static struct rm_fake_vmm_alloc *fake_alloc_of(CUmemGenericAllocationHandle h)
{
    struct rm_fake_vmm_alloc *a = (struct rm_fake_vmm_alloc *)(uintptr_t)h;
    return rm_fake_set_has(&fake_allocs, a) ? a : NULL;
}

/* Shared as its memfd, which another process maps as the same memory. */
static CUresult fake_cuMemExportToShareableHandle(void *shareable, CUmemGenericAllocationHandle handle,
                                                  CUmemAllocationHandleType type, unsigned long long flags)
{
    CUresult rc = rm_fake_enter();
    struct rm_fake_vmm_alloc *a = rc == CUDA_SUCCESS ? fake_alloc_of(handle) : NULL;
    if (rc == CUDA_SUCCESS && (!shareable || !a || type != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR || flags))
        rc = CUDA_ERROR_INVALID_VALUE;
    int fd = rc == CUDA_SUCCESS ? fcntl(a->fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (rc == CUDA_SUCCESS && fd < 0)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS)
        *(int *)shareable = fd;
    return rm_fake_leave(rc);
}

/* An allocation of the current context's device over another one's memfd. */
static CUresult fake_cuMemImportFromShareableHandle(CUmemGenericAllocationHandle *handle, void *os_handle,
                                                    CUmemAllocationHandleType type)
{
    CUcontext ctx = NULL;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    struct stat st;
    int fd = (int)(uintptr_t)os_handle;
    if (rc == CUDA_SUCCESS && (!handle || type != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR || fstat(fd, &st) != 0 ||
                               st.st_size <= 0 || !fake_aligned((size_t)st.st_size)))
        rc = CUDA_ERROR_INVALID_VALUE;
    struct rm_fake_vmm_alloc *a = rc == CUDA_SUCCESS ? calloc(1, sizeof *a) : NULL;
    if (rc == CUDA_SUCCESS && (!a || (a->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 || !rm_fake_set_add(&fake_allocs, a))) {
        if (a && a->fd >= 0)
            close(a->fd);
        free(a);
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (rc == CUDA_SUCCESS) {
        a->size = (size_t)st.st_size, a->device = ctx->device, a->users = 1;
        rm_fake_state.dev[a->device].used += a->size;
        *handle = (CUmemGenericAllocationHandle)(uintptr_t)a;
    }
    return rm_fake_leave(rc);
}

/* The allocation mapped at ptr, with one more user (its new handle). */
static CUresult fake_cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *ptr)
{
    CUresult rc = rm_fake_enter();
    rm_fake_range_t *r = rc == CUDA_SUCCESS ? rm_fake_range_at((uintptr_t)ptr) : NULL;
    if (rc == CUDA_SUCCESS && (!handle || !r || r->kind != RM_FAKE_MEM_VMM))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        struct rm_fake_vmm_alloc *a = r->backing;
        a->users++;
        *handle = (CUmemGenericAllocationHandle)(uintptr_t)a;
    }
    return rm_fake_leave(rc);
}

/* The allocation lives on while mapped. */
static CUresult fake_cuMemRelease(CUmemGenericAllocationHandle handle)
{
    CUresult rc = rm_fake_enter();
    struct rm_fake_vmm_alloc *a = rc == CUDA_SUCCESS ? fake_alloc_of(handle) : NULL;
    if (rc == CUDA_SUCCESS && !a)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        fake_alloc_unref(a);
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                              unsigned long long flags)
{
    CUresult rc = rm_fake_enter();
    struct rm_fake_vmm_alloc *a = rc == CUDA_SUCCESS ? fake_alloc_of(handle) : NULL;
    if (rc == CUDA_SUCCESS && (!a || flags || size == 0 || !fake_aligned(ptr) || !fake_aligned(size) ||
                               !fake_aligned(offset) || offset > a->size || size > a->size - offset ||
                               !fake_reservation_of(ptr, size)))
        rc = CUDA_ERROR_INVALID_VALUE;
    for (uintptr_t g = ptr; rc == CUDA_SUCCESS && g < ptr + size; g += FAKE_GRANULE)
        if (rm_fake_range_find(g))
            rc = CUDA_ERROR_INVALID_VALUE; /* already mapped */
    if (rc == CUDA_SUCCESS &&
        mmap((void *)ptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, a->fd, (off_t)offset) == MAP_FAILED)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS) {
        rm_fake_range_t r = {.base = ptr, .size = size, .kind = RM_FAKE_MEM_VMM, .backing = a};
        a->users++;
        if ((rc = rm_fake_range_add(r)) != CUDA_SUCCESS)
            rm_fake_vmm_unmapped(&r);
    }
    return rm_fake_leave(rc);
}

/* Applies fn to every mapping that starts inside [ptr, ptr+size); fails
 * unless there is at least one and they cover the range. */
static CUresult fake_each_mapping(CUdeviceptr ptr, size_t size, CUresult (*fn)(rm_fake_range_t *, const void *),
                                  const void *arg)
{
    size_t covered = 0;
    for (uintptr_t g = ptr; g < ptr + size;) {
        rm_fake_range_t *r = rm_fake_range_at(g);
        if (!r || r->kind != RM_FAKE_MEM_VMM || r->base != g)
            return CUDA_ERROR_INVALID_VALUE;
        size_t len = r->size;
        CUresult rc = fn(r, arg); /* may remove r */
        if (rc != CUDA_SUCCESS)
            return rc;
        covered += len, g += len;
    }
    return covered ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

static CUresult fake_unmap_one(rm_fake_range_t *r, const void *unused)
{
    rm_fake_mem_free((void *)r->base); /* drops the range: back to reserved */
    return CUDA_SUCCESS;
}

static CUresult fake_cuMemUnmap(CUdeviceptr ptr, size_t size)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = fake_each_mapping(ptr, size, fake_unmap_one, NULL);
    return rm_fake_leave(rc);
}

static CUresult fake_set_access_one(rm_fake_range_t *r, const void *flags)
{
    r->access = *(const unsigned *)flags;
    return CUDA_SUCCESS;
}

/* One access setting for every device (the fake devices are peers of each other). */
static CUresult fake_cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc, size_t count)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!desc || count == 0 || desc[0].location.type != CU_MEM_LOCATION_TYPE_DEVICE))
        rc = CUDA_ERROR_INVALID_VALUE;
    unsigned flags = rc == CUDA_SUCCESS ? (unsigned)desc[count - 1].flags : 0;
    if (rc == CUDA_SUCCESS)
        rc = fake_each_mapping(ptr, size, fake_set_access_one, &flags);
    return rm_fake_leave(rc);
}

static CUresult fake_cuMemGetAccess(unsigned long long *flags, const CUmemLocation *location, CUdeviceptr ptr)
{
    CUresult rc = rm_fake_enter();
    rm_fake_range_t *r = rc == CUDA_SUCCESS ? rm_fake_range_at(ptr) : NULL;
    if (rc == CUDA_SUCCESS && (!flags || !location || !r || r->kind != RM_FAKE_MEM_VMM))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *flags = r->access;
    return rm_fake_leave(rc);
}

/* IPC is not emulated: each fake session's memory is its worker's own, so
 * there is nothing another process could open. A clear error, not a wrong
 * answer. */
static CUresult fake_ipc_unsupported(void)
{
    RM_WARN("fake backend: IPC handles are not emulated (sessions share no memory)");
    return CUDA_ERROR_NOT_SUPPORTED;
}

static CUresult fake_cuIpcGetMemHandle(CUipcMemHandle *h, CUdeviceptr p) { return fake_ipc_unsupported(); }
static CUresult fake_cuIpcOpenMemHandle_v2(CUdeviceptr *p, CUipcMemHandle h, unsigned int f) { return fake_ipc_unsupported(); }
static CUresult fake_cuIpcCloseMemHandle(CUdeviceptr p) { return fake_ipc_unsupported(); }
static CUresult fake_cuIpcGetEventHandle(CUipcEventHandle *h, CUevent e) { return fake_ipc_unsupported(); }
static CUresult fake_cuIpcOpenEventHandle(CUevent *e, CUipcEventHandle h) { return fake_ipc_unsupported(); }

void rm_fake_fill_vmm(rm_backend_t *out)
{
    out->cuIpcGetMemHandle = fake_cuIpcGetMemHandle;
    out->cuIpcOpenMemHandle_v2 = fake_cuIpcOpenMemHandle_v2;
    out->cuIpcCloseMemHandle = fake_cuIpcCloseMemHandle;
    out->cuIpcGetEventHandle = fake_cuIpcGetEventHandle;
    out->cuIpcOpenEventHandle = fake_cuIpcOpenEventHandle;
    out->cuMemGetAllocationGranularity = fake_cuMemGetAllocationGranularity;
    out->cuMemAddressReserve = fake_cuMemAddressReserve;
    out->cuMemAddressFree = fake_cuMemAddressFree;
    out->cuMemCreate = fake_cuMemCreate;
    out->cuMemRelease = fake_cuMemRelease;
    out->cuMemRetainAllocationHandle = fake_cuMemRetainAllocationHandle;
    out->cuMemExportToShareableHandle = fake_cuMemExportToShareableHandle;
    out->cuMemImportFromShareableHandle = fake_cuMemImportFromShareableHandle;
    out->cuMemMap = fake_cuMemMap;
    out->cuMemUnmap = fake_cuMemUnmap;
    out->cuMemSetAccess = fake_cuMemSetAccess;
    out->cuMemGetAccess = fake_cuMemGetAccess;
}
