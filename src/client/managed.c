/* Managed memory (see managed.h): the table of managed allocations, the
 * write detection, the copies at coherence points, and the cuMem* calls
 * that name managed memory. */
#define _GNU_SOURCE
#include "managed.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan.h"
#include "device.h"
#include "export.h"
#include "log.h"
#include "memory.h"

#define MAX_MANAGED 1024
#define PAGE 4096u
#define NO_LOCATION (-2) /* neither a device nor CU_DEVICE_CPU */

/* A slot is live while base != 0; the fault handler reads base/span
 * without a lock, so they are set before and cleared after the rest. */
typedef struct {
    uint64_t base;  /* the address: host mapping and device memory */
    uint64_t size;  /* bytes asked for */
    uint64_t span;  /* bytes mapped here: size rounded up to pages */
    uint64_t alloc; /* the device allocation holding it (base rounded up) */
    int host_dirty; /* the CPU wrote since the last copy (mapping writable) */
    int dev_dirty;  /* device work may have written since the last copy */
    int read_mostly, preferred, last_prefetch;
} managed_t;

static managed_t table[MAX_MANAGED];
static int nslots; /* slots ever used (high-water mark) */
static int live;   /* live allocations: the hooks' fast path */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static struct sigaction previous;
static __thread int copying; /* this thread is making coherence copies */

static uint64_t page_up(uint64_t n) { return (n + PAGE - 1) / PAGE * PAGE; }

/* A write to a clean allocation: make it writable and dirty. Anything
 * else goes to the handler that was installed before ours. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
    uint64_t a = (uint64_t)(uintptr_t)si->si_addr;
    int n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++) {
        managed_t *m = &table[i];
        uint64_t base = __atomic_load_n(&m->base, __ATOMIC_ACQUIRE);
        if (base && a >= base && a < base + m->span) {
            __atomic_store_n(&m->host_dirty, 1, __ATOMIC_RELEASE);
            mprotect((void *)(uintptr_t)base, m->span, PROT_READ | PROT_WRITE);
            return;
        }
    }
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, si, uc);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        sigaction(SIGSEGV, &previous, NULL); /* the access faults again, as if we were not here */
    }
}

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &previous) != 0)
        RM_WARN("managed memory: no SIGSEGV handler (%m): host writes are not detected");
}

static managed_t *find(uint64_t p)
{
    for (int i = 0; i < nslots; i++)
        if (table[i].base && p >= table[i].base && p < table[i].base + table[i].size)
            return &table[i];
    return NULL;
}

/* The managed allocation holding [p, p+n), under lock. */
static managed_t *find_range(CUdeviceptr p, size_t n)
{
    managed_t *m = find(p);
    return m && n <= m->base + m->size - p ? m : NULL;
}

/* A coherence copy failed (or reported an earlier async call's error):
 * the program learns it at its next synchronising call. */
static void keep_error(CUresult r, const char *what, const managed_t *m)
{
    RM_WARN("managed memory [%#llx, +%llu): %s copy: error %d", (unsigned long long)m->base,
            (unsigned long long)m->size, what, (int)r);
    CUresult ignored;
    rm_chan_t *ch = rm_chan_current(&ignored);
    if (ch && ch->deferred == CUDA_SUCCESS)
        ch->deferred = r;
}

/* Copies with the hooks off (they are copies of this module). */
static void push(managed_t *m)
{
    mprotect((void *)(uintptr_t)m->base, m->span, PROT_READ); /* later writes fault again */
    __atomic_store_n(&m->host_dirty, 0, __ATOMIC_RELEASE);
    CUresult r = cuMemcpyHtoD_v2(m->base, (const void *)(uintptr_t)m->base, m->size);
    if (r != CUDA_SUCCESS)
        keep_error(r, "host -> device", m);
}

static void pull(managed_t *m)
{
    mprotect((void *)(uintptr_t)m->base, m->span, PROT_READ | PROT_WRITE);
    CUresult r = cuMemcpyDtoH_v2((void *)(uintptr_t)m->base, m->base, m->size);
    if (r != CUDA_SUCCESS)
        keep_error(r, "device -> host", m);
    mprotect((void *)(uintptr_t)m->base, m->span, PROT_READ);
    m->dev_dirty = 0;
}

/* Run cb on every live allocation, with the hooks off for this thread. */
typedef void (*visit_cb)(managed_t *m, const uint64_t *arg);

static void visit(visit_cb cb, const uint64_t *arg)
{
    if (!__atomic_load_n(&live, __ATOMIC_ACQUIRE) || copying)
        return;
    pthread_mutex_lock(&lock);
    copying = 1;
    for (int i = 0; i < nslots; i++)
        if (table[i].base)
            cb(&table[i], arg);
    copying = 0;
    pthread_mutex_unlock(&lock);
}

/* arg: the range device work may write, {dst, n}. */
static void before_work(managed_t *m, const uint64_t *arg)
{
    if (__atomic_load_n(&m->host_dirty, __ATOMIC_ACQUIRE))
        push(m);
    if (arg[1] == SIZE_MAX || (arg[0] < m->base + m->size && m->base < arg[0] + arg[1]))
        m->dev_dirty = 1;
}

static void after_sync(managed_t *m, const uint64_t *arg)
{
    (void)arg;
    if (!m->dev_dirty)
        return;
    if (__atomic_load_n(&m->host_dirty, __ATOMIC_ACQUIRE))
        m->dev_dirty = 0; /* written by the CPU since: its copy wins, pushed at the next work */
    else
        pull(m);
}

void rm_managed_before_work(CUdeviceptr dst, size_t n)
{
    const uint64_t range[2] = {dst, n};
    visit(before_work, range);
}

void rm_managed_after_sync(void) { visit(after_sync, NULL); }

CUresult CUDAAPI RM_IMPL(cuMemAllocManaged)(CUdeviceptr *dptr, size_t bytes, unsigned int flags)
{
    if (!dptr || bytes == 0 || (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST))
        return CUDA_ERROR_INVALID_VALUE;
    pthread_once(&handler_once, install_handler);
    uint64_t span = page_up(bytes);
    CUdeviceptr alloc;
    /* a page more, so that whole pages of our own hold the mapping: small
     * device allocations are packed next to each other */
    CUresult r = cuMemAlloc_v2(&alloc, span + PAGE);
    if (r != CUDA_SUCCESS)
        return r;
    uint64_t base = page_up(alloc);
    pthread_mutex_lock(&lock);
    int i = 0;
    while (i < nslots && table[i].base)
        i++;
    if (i == MAX_MANAGED) {
        pthread_mutex_unlock(&lock);
        cuMemFree_v2(alloc);
        RM_ERROR("cuMemAllocManaged: more than %d managed allocations", MAX_MANAGED);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    /* replaces the PROT_NONE reservation of these pages: zeroed, writable,
     * dirty, so the first work copies it to the device */
    void *p = mmap((void *)(uintptr_t)base, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    if (p == MAP_FAILED) {
        pthread_mutex_unlock(&lock);
        cuMemFree_v2(alloc);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    table[i] = (managed_t){0, bytes, span, alloc, 1, 0, 0, NO_LOCATION, NO_LOCATION};
    __atomic_store_n(&table[i].base, base, __ATOMIC_RELEASE);
    if (i == nslots)
        __atomic_store_n(&nslots, i + 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&live, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    *dptr = base;
    return CUDA_SUCCESS;
}

int rm_managed_forget(CUdeviceptr p, CUdeviceptr *alloc)
{
    if (!__atomic_load_n(&live, __ATOMIC_ACQUIRE))
        return -1;
    pthread_mutex_lock(&lock);
    managed_t *m = find(p);
    if (!m || m->base != p) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    __atomic_store_n(&m->base, 0, __ATOMIC_RELEASE);
    /* back to a reservation, until the device range releases it (uva.h) */
    mmap((void *)(uintptr_t)p, m->span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    *alloc = m->alloc;
    __atomic_sub_fetch(&live, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return 0;
}

CUresult rm_managed_attribute(void *data, CUpointer_attribute attr, CUdeviceptr p)
{
    if (!__atomic_load_n(&live, __ATOMIC_ACQUIRE))
        return CUDA_ERROR_NOT_FOUND;
    pthread_mutex_lock(&lock);
    managed_t *m = find(p);
    managed_t c = m ? *m : (managed_t){0};
    pthread_mutex_unlock(&lock);
    if (!m)
        return CUDA_ERROR_NOT_FOUND;
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE: *(unsigned *)data = CU_MEMORYTYPE_DEVICE; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
    case CU_POINTER_ATTRIBUTE_HOST_POINTER: *(CUdeviceptr *)data = p; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED: *(unsigned *)data = 1; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: *(CUdeviceptr *)data = c.base; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: *(size_t *)data = c.size; return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MAPPED: *(unsigned *)data = 1; return CUDA_SUCCESS;
    default: return CUDA_ERROR_NOT_FOUND; /* context, ordinal, ...: the device allocation's, from the server */
    }
}

/* A location remora accepts: the CPU or a device of this server. */
static CUresult location_id(CUmemLocation loc, int *id)
{
    int n;
    if (loc.type == CU_MEM_LOCATION_TYPE_HOST || (loc.type == CU_MEM_LOCATION_TYPE_DEVICE && loc.id == CU_DEVICE_CPU)) {
        *id = CU_DEVICE_CPU;
        return CUDA_SUCCESS;
    }
    if (loc.type != CU_MEM_LOCATION_TYPE_DEVICE || cuDeviceGetCount(&n) != CUDA_SUCCESS || loc.id < 0 || loc.id >= n)
        return CUDA_ERROR_INVALID_DEVICE;
    *id = loc.id;
    return CUDA_SUCCESS;
}

/* Prefetching is a hint: coherence comes from the copies at work and
 * synchronisation (managed.h), so it only records where it was asked to. */
CUresult CUDAAPI RM_IMPL(cuMemPrefetchAsync_v2)(CUdeviceptr p, size_t n, CUmemLocation loc, unsigned int flags,
                                                CUstream s)
{
    int id;
    CUresult r = location_id(loc, &id);
    if (r != CUDA_SUCCESS || flags != 0)
        return r != CUDA_SUCCESS ? r : CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    managed_t *m = n ? find_range(p, n) : NULL;
    if (m)
        m->last_prefetch = id;
    pthread_mutex_unlock(&lock);
    (void)s;
    return m ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI RM_IMPL(cuMemAdvise_v2)(CUdeviceptr p, size_t n, CUmem_advise advice, CUmemLocation loc)
{
    int id = NO_LOCATION;
    int needs_location = advice == CU_MEM_ADVISE_SET_PREFERRED_LOCATION || advice == CU_MEM_ADVISE_SET_ACCESSED_BY ||
                         advice == CU_MEM_ADVISE_UNSET_ACCESSED_BY;
    if (needs_location && location_id(loc, &id) != CUDA_SUCCESS)
        return CUDA_ERROR_INVALID_DEVICE;
    if (advice < CU_MEM_ADVISE_SET_READ_MOSTLY || advice > CU_MEM_ADVISE_UNSET_ACCESSED_BY)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    managed_t *m = n ? find_range(p, n) : NULL;
    if (m && (advice == CU_MEM_ADVISE_SET_READ_MOSTLY || advice == CU_MEM_ADVISE_UNSET_READ_MOSTLY))
        m->read_mostly = advice == CU_MEM_ADVISE_SET_READ_MOSTLY;
    else if (m && advice == CU_MEM_ADVISE_SET_PREFERRED_LOCATION)
        m->preferred = id;
    else if (m && advice == CU_MEM_ADVISE_UNSET_PREFERRED_LOCATION)
        m->preferred = NO_LOCATION;
    pthread_mutex_unlock(&lock);
    return m ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* Attributes are kept per allocation, so a range answers with its
 * allocation's. */
CUresult CUDAAPI RM_IMPL(cuMemRangeGetAttribute)(void *data, size_t size, CUmem_range_attribute attr, CUdeviceptr p,
                                                 size_t n)
{
    if (!data || n == 0)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    managed_t *m = find_range(p, n);
    managed_t c = m ? *m : (managed_t){0};
    pthread_mutex_unlock(&lock);
    if (!m)
        return CUDA_ERROR_INVALID_VALUE;
    int v;
    switch (attr) {
    case CU_MEM_RANGE_ATTRIBUTE_READ_MOSTLY: v = c.read_mostly; break;
    case CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION: v = c.preferred == NO_LOCATION ? CU_DEVICE_INVALID : c.preferred; break;
    case CU_MEM_RANGE_ATTRIBUTE_LAST_PREFETCH_LOCATION:
        v = c.last_prefetch == NO_LOCATION ? CU_DEVICE_INVALID : c.last_prefetch;
        break;
    case CU_MEM_RANGE_ATTRIBUTE_ACCESSED_BY:
        if (size % 4)
            return CUDA_ERROR_INVALID_VALUE;
        memset(data, 0xff, size); /* CU_DEVICE_INVALID: accessed-by is not recorded */
        return CUDA_SUCCESS;
    default:
        RM_WARN("cuMemRangeGetAttribute: attribute %d is not supported by remora", (int)attr);
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    if (size != 4)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(data, &v, 4);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuMemRangeGetAttributes)(void **data, size_t *sizes, CUmem_range_attribute *attrs,
                                                  size_t nattrs, CUdeviceptr p, size_t n)
{
    if (!data || !sizes || !attrs)
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < nattrs; i++) {
        CUresult r = cuMemRangeGetAttribute(data[i], sizes[i], attrs[i], p, n);
        if (r != CUDA_SUCCESS)
            return r;
    }
    return CUDA_SUCCESS;
}

/* Attaching changes nothing here: every managed allocation is kept
 * coherent at every synchronisation, whichever stream it is attached to,
 * and the CPU's copy wins over the device's when the CPU wrote it while
 * the device ran (managed.h). */
CUresult CUDAAPI RM_IMPL(cuStreamAttachMemAsync)(CUstream s, CUdeviceptr p, size_t n, unsigned int flags)
{
    if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST && flags != CU_MEM_ATTACH_SINGLE)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    managed_t *m = find(p);
    int ok = m && (n == 0 ? m->base == p : n <= m->base + m->size - p);
    pthread_mutex_unlock(&lock);
    (void)s;
    return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* The older ABIs name a device where CUDA 13's name a location. */
static CUmemLocation device_location(CUdevice dev)
{
    return (CUmemLocation){dev == CU_DEVICE_CPU ? CU_MEM_LOCATION_TYPE_HOST : CU_MEM_LOCATION_TYPE_DEVICE, dev};
}

CUresult CUDAAPI RM_IMPL(cuMemPrefetchAsync)(CUdeviceptr p, size_t n, CUdevice dev, CUstream s)
{
    return cuMemPrefetchAsync_v2(p, n, device_location(dev), 0, s);
}

CUresult CUDAAPI RM_IMPL(cuMemAdvise)(CUdeviceptr p, size_t n, CUmem_advise advice, CUdevice dev)
{
    return cuMemAdvise_v2(p, n, advice, device_location(dev));
}
