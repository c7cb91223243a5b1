/* Page-locked host memory (see hostmem.h): shared segments with a
 * first-fit allocator, the region registry, and the cuMemHost* calls. */
#define _GNU_SOURCE
#include "hostmem.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan.h"
#include "device.h"
#include "export.h"
#include "fdpass.h"
#include "log.h"
#include "ranges.h"
#include "rm_stubs.h"

#define SEG_ALIGN 4096u
#define SEG_MIN (64u << 20)
#define MAX_SEGS 64
#define MAX_FREE 256

typedef struct {
    uint64_t off, len;
} block_t;

typedef struct {
    uint8_t *base;
    uint64_t size, seg_addr, dev;
    int srv;                /* the server that registered it */
    block_t free[MAX_FREE]; /* sorted by offset, coalesced */
    int nfree;
} segment_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static segment_t segs[MAX_SEGS];
static int nsegs;
static rm_ranges_t regions; /* tag: rm_host_region_t * */
static pthread_once_t regions_once = PTHREAD_ONCE_INIT;

static void regions_init(void) { rm_ranges_init(&regions); }

/* A forked child is a new client: the parent's segments belong to the
 * parent's session (the mappings stay, unused). */
static void after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    nsegs = 0;
    free(regions.v); /* its lock may have been held by a thread the child lacks */
    rm_ranges_init(&regions);
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static uint64_t round_up(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

static int seg_take(segment_t *s, uint64_t n, uint64_t *off)
{
    for (int i = 0; i < s->nfree; i++) {
        if (s->free[i].len < n)
            continue;
        *off = s->free[i].off;
        s->free[i].off += n;
        s->free[i].len -= n;
        if (s->free[i].len == 0)
            memmove(&s->free[i], &s->free[i + 1], (size_t)(--s->nfree - i) * sizeof(block_t));
        return 0;
    }
    return -1;
}

static void seg_give(segment_t *s, uint64_t off, uint64_t n)
{
    int i = 0;
    while (i < s->nfree && s->free[i].off < off)
        i++;
    if (i > 0 && s->free[i - 1].off + s->free[i - 1].len == off) { /* merge left */
        s->free[i - 1].len += n;
        if (i < s->nfree && off + n == s->free[i].off) {
            s->free[i - 1].len += s->free[i].len;
            memmove(&s->free[i], &s->free[i + 1], (size_t)(--s->nfree - i) * sizeof(block_t));
        }
        return;
    }
    if (i < s->nfree && off + n == s->free[i].off) { /* merge right */
        s->free[i].off = off;
        s->free[i].len += n;
        return;
    }
    if (s->nfree == MAX_FREE) {
        RM_WARN("pinned-memory free list full: %llu bytes leak until exit", (unsigned long long)n);
        return;
    }
    memmove(&s->free[i + 1], &s->free[i], (size_t)(s->nfree - i) * sizeof(block_t));
    s->free[i] = (block_t){off, n};
    s->nfree++;
}

/* Create a segment: a memfd mapped here, handed to the server over this
 * thread's channel, registered there. */
static CUresult seg_create(rm_chan_t *ch, uint64_t size, segment_t *s)
{
    int fd = memfd_create("remora-pinned", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    /* sealed against shrinking: the server maps it and must never fault */
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        if (fd >= 0)
            close(fd);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    CUresult r = CUDA_ERROR_OUT_OF_MEMORY;
    if (p == MAP_FAILED)
        goto close_fd;
    rm_segment_add_req_t in = {.size = size, .addr = (uint64_t)(uintptr_t)p};
    rm_enc_segment_add_req(rm_chan_begin(ch, RM_OP_SEGMENT_ADD), &in);
    rm_rbuf_t rb;
    rm_segment_add_rep_t out;
    if ((r = rm_cl_call_sending_fd(ch, fd, &rb)) != CUDA_SUCCESS)
        goto unmap;
    if (rm_dec_segment_add_rep(&rb, &out) != RM_OK) {
        r = rm_chan_bad_reply(ch, "segment_add");
        goto unmap;
    }
    *s = (segment_t){.base = p, .size = size, .seg_addr = out.base, .dev = out.device_base, .srv = ch->srv, .nfree = 1};
    s->free[0] = (block_t){0, size};
    close(fd);
    return CUDA_SUCCESS;
unmap:
    munmap(p, size);
close_fd:
    close(fd);
    return r;
}

/* Carve n bytes from a segment of ch's server, creating one if needed.
 * Under lock. */
static CUresult seg_alloc(rm_chan_t *ch, uint64_t n, segment_t **sp, uint64_t *off)
{
    n = round_up(n ? n : 1, SEG_ALIGN);
    for (int i = 0; i < nsegs; i++)
        if (segs[i].srv == ch->srv && seg_take(&segs[i], n, off) == 0) {
            *sp = &segs[i];
            return CUDA_SUCCESS;
        }
    if (nsegs == MAX_SEGS)
        return CUDA_ERROR_OUT_OF_MEMORY;
    const char *env = getenv("REMORA_SEGMENT_MB");
    uint64_t min = env && atoi(env) > 0 ? (uint64_t)atoi(env) << 20 : SEG_MIN;
    CUresult r = seg_create(ch, round_up(n > min ? n : min, 2u << 20), &segs[nsegs]);
    if (r != CUDA_SUCCESS)
        return r;
    *sp = &segs[nsegs++];
    seg_take(*sp, n, off);
    return CUDA_SUCCESS;
}

static CUresult add_region(rm_host_kind kind, unsigned flags, void *p, size_t n, uint64_t seg_addr, uint64_t dev,
                           int srv)
{
    pthread_once(&regions_once, regions_init);
    rm_host_region_t *g = malloc(sizeof *g);
    if (!g)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *g = (rm_host_region_t){kind, flags, (uintptr_t)p, n, seg_addr, dev, srv};
    if (rm_ranges_add(&regions, (uintptr_t)p, n, (uintptr_t)g) != 0) {
        free(g);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    return CUDA_SUCCESS;
}

const rm_host_region_t *rm_host_find(const void *p, size_t n)
{
    rm_range_t r;
    pthread_once(&regions_once, regions_init);
    if (rm_ranges_find(&regions, (uintptr_t)p, &r) != 0 || (uintptr_t)p + n > r.base + r.size)
        return NULL;
    return (const rm_host_region_t *)r.tag;
}

/* Page-locked memory for the server of ch: in one of its segments over shm. */
static void *alloc_pinned(rm_chan_t *ch, size_t n, unsigned flags, CUresult *r)
{
    if (!rm_chan_is_shm(ch)) {
        void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            *r = CUDA_ERROR_OUT_OF_MEMORY;
            return NULL;
        }
        if ((*r = add_region(RM_HOST_LOCAL, flags, p, n, 0, 0, ch->srv)) != CUDA_SUCCESS) {
            munmap(p, n ? n : 1);
            return NULL;
        }
        return p;
    }
    segment_t *s = NULL;
    uint64_t off = 0;
    pthread_mutex_lock(&lock);
    *r = seg_alloc(ch, n, &s, &off);
    if (*r == CUDA_SUCCESS) {
        *r = add_region(RM_HOST_SEGMENT, flags, s->base + off, n, s->seg_addr + off, s->dev ? s->dev + off : 0,
                        ch->srv);
        if (*r != CUDA_SUCCESS)
            seg_give(s, off, round_up(n ? n : 1, SEG_ALIGN));
    }
    pthread_mutex_unlock(&lock);
    return *r == CUDA_SUCCESS ? s->base + off : NULL;
}

void *rm_host_staging_alloc(rm_chan_t *ch, size_t n, uint64_t *seg_addr)
{
    CUresult r;
    void *p = alloc_pinned(ch, n, 0, &r);
    const rm_host_region_t *g = p ? rm_host_find(p, n) : NULL;
    if (!g || g->kind != RM_HOST_SEGMENT)
        return NULL;
    *seg_addr = g->seg_addr;
    return p;
}

void rm_host_staging_free(void *p) { cuMemFreeHost(p); }

CUresult CUDAAPI RM_IMPL(cuMemHostAlloc)(void **pp, size_t bytes, unsigned int flags)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!pp || bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    rm_chan_t *ch = rm_chan_current(&r);
    void *p = ch ? alloc_pinned(ch, bytes, flags, &r) : NULL;
    if (p)
        *pp = p;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuMemAllocHost_v2)(void **pp, size_t bytes) { return cuMemHostAlloc(pp, bytes, 0); }

CUresult CUDAAPI RM_IMPL(cuMemFreeHost)(void *p)
{
    rm_range_t rg;
    pthread_once(&regions_once, regions_init);
    if (rm_ranges_find(&regions, (uintptr_t)p, &rg) != 0 || rg.base != (uintptr_t)p)
        return CUDA_ERROR_INVALID_VALUE;
    rm_host_region_t *g = (rm_host_region_t *)rg.tag;
    if (g->kind == RM_HOST_REGISTERED)
        return CUDA_ERROR_INVALID_VALUE;
    rm_ranges_del(&regions, rg.base, NULL);
    if (g->kind == RM_HOST_LOCAL) {
        munmap(p, g->size ? g->size : 1);
    } else {
        pthread_mutex_lock(&lock);
        for (int i = 0; i < nsegs; i++)
            if ((uint8_t *)p >= segs[i].base && (uint8_t *)p < segs[i].base + segs[i].size)
                seg_give(&segs[i], (uint64_t)((uint8_t *)p - segs[i].base), round_up(g->size, SEG_ALIGN));
        pthread_mutex_unlock(&lock);
    }
    free(g);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuMemHostGetDevicePointer_v2)(CUdeviceptr *pdptr, void *p, unsigned int flags)
{
    if (!pdptr || flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    const rm_host_region_t *g = rm_host_find(p, 0);
    if (!g)
        return CUDA_ERROR_INVALID_VALUE;
    if (!g->dev) {
        RM_WARN("cuMemHostGetDevicePointer: mapped host memory needs the shm transport and a "
                "registered segment; this memory is not visible to the GPU");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    *pdptr = g->dev + ((uintptr_t)p - g->base);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuMemHostGetFlags)(unsigned int *flags, void *p)
{
    const rm_host_region_t *g = rm_host_find(p, 0);
    if (!flags || !g)
        return CUDA_ERROR_INVALID_VALUE;
    *flags = g->flags;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuMemHostRegister_v2)(void *p, size_t bytes, unsigned int flags)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!p || bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (rm_host_find(p, bytes))
        return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
    if (flags & CU_MEMHOSTREGISTER_DEVICEMAP)
        RM_WARN("cuMemHostRegister: DEVICEMAP of existing memory is not supported by remora; "
                "copies work, kernels cannot see it (use cuMemHostAlloc)");
    /* Remote: the memory stays here; copies from it take the pageable path. */
    return add_region(RM_HOST_REGISTERED, flags, p, bytes, 0, 0, -1);
}

CUresult CUDAAPI RM_IMPL(cuMemHostUnregister)(void *p)
{
    rm_range_t rg;
    pthread_once(&regions_once, regions_init);
    if (rm_ranges_find(&regions, (uintptr_t)p, &rg) != 0 || rg.base != (uintptr_t)p ||
        ((rm_host_region_t *)rg.tag)->kind != RM_HOST_REGISTERED)
        return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
    rm_ranges_del(&regions, rg.base, NULL);
    free((void *)rg.tag);
    return CUDA_SUCCESS;
}
