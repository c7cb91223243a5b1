/* Client: cuGetProcAddress (both ABIs).
 * A base name resolves to its newest versioned symbol remora exports
 * (cuMemAlloc -> cuMemAlloc_v2), the per-thread-stream flavour first when
 * asked for. Unknown names get a NULL pointer and SYMBOL_NOT_FOUND. */
#include <cuda.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "log.h"
#include "proctable.h"

static void *lookup(const char *name)
{
    size_t lo = 0, hi = rm_proc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rm_proc_table[mid].name, name);
        if (c == 0)
            return rm_proc_table[mid].fn;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Versioned entry points whose ABI changed after CUDA 11: a caller built
 * for an older CUDA must get the older one (remora exports only the newer,
 * so it gets the older name's stub, which says so). */
static const struct {
    const char *name;
    int since; /* CUDA version that introduced it */
} introduced[] = {
    {"cuCtxCreate_v3", 11040},        {"cuCtxCreate_v4", 12050},      {"cuDeviceGetUuid_v2", 11040},
    {"cuEventElapsedTime_v2", 12080}, {"cuGetProcAddress_v2", 12000}, {"cuCtxGetDevice_v2", 13000},
    {"cuCtxSynchronize_v2", 13000},   {"cuStreamBeginCapture_v2", 10010}, {"cuStreamGetCaptureInfo_v2", 11030},
    {"cuStreamGetCaptureInfo_v3", 12030}, {"cuMemPrefetchAsync_v2", 12020}, {"cuMemAdvise_v2", 12020},
};

static int available(const char *name, int cuda_version)
{
    for (size_t i = 0; i < sizeof introduced / sizeof introduced[0]; i++)
        if (strcmp(introduced[i].name, name) == 0)
            return cuda_version >= introduced[i].since;
    return 1;
}

static void *lookup_for(const char *name, int cuda_version)
{
    return available(name, cuda_version) ? lookup(name) : NULL;
}

static void *resolve(const char *symbol, int cuda_version, cuuint64_t flags)
{
    static const char *const versions[] = {"_v4", "_v3", "_v2", ""};
    static const char *const ptds[] = {"_ptsz", "_ptds"};
    char name[160];
    if (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)
        for (int v = 0; v < 4; v++)
            for (int p = 0; p < 2; p++) {
                snprintf(name, sizeof name, "%s%s%s", symbol, versions[v], ptds[p]);
                void *fn = lookup_for(name, cuda_version);
                if (fn)
                    return fn;
            }
    for (int v = 0; v < 4; v++) {
        snprintf(name, sizeof name, "%s%s", symbol, versions[v]);
        void *fn = lookup_for(name, cuda_version);
        if (fn)
            return fn;
    }
    return NULL;
}

CUresult CUDAAPI RM_IMPL(cuGetProcAddress_v2)(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags,
                                              CUdriverProcAddressQueryResult *status)
{
    if (!symbol || !pfn)
        return CUDA_ERROR_INVALID_VALUE;
    void *fn = strlen(symbol) < 128 ? resolve(symbol, cuda_version, flags) : NULL;
    *pfn = fn;
    if (status)
        *status = fn ? CU_GET_PROC_ADDRESS_SUCCESS : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    if (!fn)
        RM_DEBUG("cuGetProcAddress: %s is not provided by remora", symbol);
    /* As driver 580 does (measured): an unknown name is a successful
     * query whose status says SYMBOL_NOT_FOUND. Without a status to
     * report it in, NOT_FOUND. */
    return fn || status ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

/* The CUDA 11.3-12.x signature, still exported under the plain name. */
CUresult CUDAAPI RM_IMPL(cuGetProcAddress)(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags)
{
    return cuGetProcAddress_v2(symbol, pfn, cuda_version, flags, NULL);
}
