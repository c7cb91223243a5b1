/* Client: the primary contexts' state cache (primary_state.h). */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "export.h"
#include "primary_state.h"
#include "rm_stubs.h"

#define MAX_DEVICES 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int known;
    unsigned flags;
    int active;
    uint64_t changes; /* forgets so far: an answer asked for before one is stale */
} cache[MAX_DEVICES];

static int cached(CUdevice dev) { return dev >= 0 && dev < MAX_DEVICES; }

void rm_primary_state_forget(CUdevice dev)
{
    if (!cached(dev))
        return;
    pthread_mutex_lock(&lock);
    cache[dev].known = 0;
    cache[dev].changes++;
    pthread_mutex_unlock(&lock);
}

/* A forked child is a new session: nothing is known. */
static void after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    memset(cache, 0, sizeof cache);
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

CUresult CUDAAPI RM_IMPL(cuDevicePrimaryCtxGetState)(CUdevice dev, unsigned int *flags, int *active)
{
    if (!flags || !active)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t changes = 0;
    if (cached(dev)) {
        pthread_mutex_lock(&lock);
        int known = cache[dev].known;
        *flags = cache[dev].flags, *active = cache[dev].active, changes = cache[dev].changes;
        pthread_mutex_unlock(&lock);
        if (known)
            return CUDA_SUCCESS;
    }
    rm_primary_ctx_get_state_req_t in = {.device = dev};
    rm_primary_ctx_get_state_rep_t out;
    CUresult r = rm_call_primary_ctx_get_state(&in, &out);
    if (r != CUDA_SUCCESS)
        return r;
    *flags = out.flags, *active = out.active;
    if (cached(dev)) {
        pthread_mutex_lock(&lock);
        if (cache[dev].changes == changes)
            cache[dev].known = 1, cache[dev].flags = out.flags, cache[dev].active = out.active;
        pthread_mutex_unlock(&lock);
    }
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuDevicePrimaryCtxSetFlags_v2)(CUdevice dev, unsigned int flags)
{
    rm_primary_state_forget(dev);
    rm_primary_ctx_set_flags_req_t in = {.device = dev, .flags = flags};
    rm_primary_ctx_set_flags_rep_t out;
    return rm_call_primary_ctx_set_flags(&in, &out);
}
