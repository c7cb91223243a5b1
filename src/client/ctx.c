/* Client: contexts. The current context is per thread, as in CUDA: kept
 * here in thread-local storage (so cuCtxGetCurrent is local) and mirrored
 * to the server thread that serves this thread's channel. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ctx_current.h"
#include "device.h"
#include "export.h"
#include "primary_state.h"
#include "remora/protocol.h"
#include "route.h"
#include "rm_stubs.h"
#include "xt.h"

#define CTX_STACK 16
#define MAX_CTXS 256

/* The thread's context stack; its top is the current context. */
static __thread CUcontext stack[CTX_STACK];
static __thread int depth;
/* What each server's thread for this thread has current (REMORA_SERVER may
 * list several servers; a context lives on one of them). */
static __thread CUcontext on_server[RM_MAX_SERVERS];

static CUcontext top(void) { return depth ? stack[depth - 1] : NULL; }

CUcontext rm_ctx_current(void) { return top(); }

/* Which device each context belongs to (for cuCtxGetDevice). */
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    CUcontext ctx;
    CUdevice dev;
} ctx_map[MAX_CTXS];

/* A forked child starts with no context, as a new client. */
static void after_fork_child(void)
{
    depth = 0;
    memset(on_server, 0, sizeof on_server);
    pthread_mutex_init(&map_lock, NULL);
    memset(ctx_map, 0, sizeof ctx_map);
}

__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static void remember(CUcontext ctx, CUdevice dev)
{
    pthread_mutex_lock(&map_lock);
    int free_slot = -1;
    for (int i = 0; i < MAX_CTXS; i++) {
        if (ctx_map[i].ctx == ctx)
            goto out;
        if (!ctx_map[i].ctx && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0)
        ctx_map[free_slot].ctx = ctx, ctx_map[free_slot].dev = dev;
out:
    pthread_mutex_unlock(&map_lock);
}

static void forget(CUcontext ctx)
{
    pthread_mutex_lock(&map_lock);
    for (int i = 0; i < MAX_CTXS; i++)
        if (ctx_map[i].ctx == ctx)
            ctx_map[i].ctx = NULL;
    pthread_mutex_unlock(&map_lock);
}

static int device_of(CUcontext ctx, CUdevice *dev)
{
    int found = 0;
    pthread_mutex_lock(&map_lock);
    for (int i = 0; i < MAX_CTXS && !found; i++)
        if (ctx_map[i].ctx == ctx)
            *dev = ctx_map[i].dev, found = 1;
    pthread_mutex_unlock(&map_lock);
    return found;
}

static CUresult set_on(int srv, CUcontext ctx)
{
    if (ctx == on_server[srv])
        return CUDA_SUCCESS;
    rm_ctx_set_current_req_t in = {.ctx = (uint64_t)(uintptr_t)ctx};
    int before = rm_route_pin(srv);
    CUresult r = rm_call_ctx_set_current(&in);
    rm_route_unpin(before);
    if (r == CUDA_SUCCESS)
        on_server[srv] = ctx;
    return r;
}

/* Mirror the top of the stack to the server thread of its server (the
 * others keep theirs: calls go to the current context's server); with no
 * context current, to every server thread that has one. */
static CUresult sync_server(void)
{
    CUcontext ctx = top();
    if (ctx)
        return set_on(rm_route_handle((uint64_t)(uintptr_t)ctx), ctx);
    CUresult r = CUDA_SUCCESS;
    for (int srv = 0; srv < RM_MAX_SERVERS && r == CUDA_SUCCESS; srv++)
        if (on_server[srv])
            r = set_on(srv, NULL);
    return r;
}

static CUresult push(CUcontext ctx)
{
    if (depth == CTX_STACK)
        return CUDA_ERROR_INVALID_VALUE;
    stack[depth++] = ctx;
    return sync_server();
}

static CUresult primary(CUcontext *pctx, CUdevice dev, int retain)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    rm_primary_state_forget(dev); /* the server retains it, and may make it active */
    rm_primary_ctx_req_t in = {.device = dev, .retain = (uint32_t)retain};
    rm_primary_ctx_rep_t out;
    if ((r = rm_call_primary_ctx(&in, &out)) != CUDA_SUCCESS)
        return r;
    *pctx = (CUcontext)(uintptr_t)out.pctx;
    remember(*pctx, dev);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuDevicePrimaryCtxRetain)(CUcontext *pctx, CUdevice dev) { return primary(pctx, dev, 1); }

/* cudart's interface, entry [2]: the primary context's handle, not retained. */
CUresult rm_xt_primary_ctx_get(CUcontext *pctx, CUdevice dev) { return primary(pctx, dev, 0); }

/* What the runtime stored for the primary context dies with it: before the
 * reset (its destructors may still use the context), and after the last
 * release when that made it inactive. */
CUresult CUDAAPI RM_IMPL(cuDevicePrimaryCtxReset_v2)(CUdevice dev)
{
    CUcontext ctx = NULL;
    CUresult r = rm_xt_primary_ctx_get(&ctx, dev);
    if (r != CUDA_SUCCESS)
        return r;
    rm_xt_cls_context_gone((uint64_t)(uintptr_t)ctx);
    rm_primary_state_forget(dev);
    rm_primary_ctx_reset_req_t in = {.device = dev};
    rm_primary_ctx_reset_rep_t out;
    return rm_call_primary_ctx_reset(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuDevicePrimaryCtxRelease_v2)(CUdevice dev)
{
    rm_primary_state_forget(dev);
    rm_primary_ctx_release_req_t in = {.device = dev};
    rm_primary_ctx_release_rep_t out;
    CUresult r = rm_call_primary_ctx_release(&in, &out);
    CUcontext ctx;
    unsigned flags;
    int active = 1;
    if (r == CUDA_SUCCESS && rm_xt_cls_in_use() && rm_xt_primary_ctx_get(&ctx, dev) == CUDA_SUCCESS &&
        cuDevicePrimaryCtxGetState(dev, &flags, &active) == CUDA_SUCCESS && !active)
        rm_xt_cls_context_gone((uint64_t)(uintptr_t)ctx);
    return r;
}

CUresult CUDAAPI RM_IMPL(cuCtxCreate_v4)(CUcontext *pctx, CUctxCreateParams *params, unsigned int flags,
                                         CUdevice dev)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    if (params && (params->execAffinityParams || params->cigParams))
        return CUDA_ERROR_NOT_SUPPORTED;
    rm_ctx_create_req_t in = {.flags = flags, .device = dev};
    rm_ctx_create_rep_t out;
    if ((r = rm_call_ctx_create(&in, &out)) != CUDA_SUCCESS)
        return r;
    *pctx = (CUcontext)(uintptr_t)out.pctx;
    remember(*pctx, dev);
    on_server[rm_route_handle(out.pctx)] = *pctx; /* the driver made it current on the server thread */
    return push(*pctx);
}

CUresult CUDAAPI RM_IMPL(cuCtxCreate_v2)(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
    return cuCtxCreate_v4(pctx, NULL, flags, dev);
}

CUresult CUDAAPI RM_IMPL(cuCtxDestroy_v2)(CUcontext ctx)
{
    rm_xt_cls_context_gone((uint64_t)(uintptr_t)ctx); /* its destructors may still use it */
    rm_ctx_destroy_req_t in = {.ctx = (uint64_t)(uintptr_t)ctx};
    rm_ctx_destroy_rep_t out;
    CUresult r = rm_call_ctx_destroy(&in, &out);
    if (r == CUDA_SUCCESS)
        forget(ctx);
    if (r == CUDA_SUCCESS && top() == ctx) {
        depth--;
        r = sync_server();
    }
    return r;
}

CUresult CUDAAPI RM_IMPL(cuCtxSetCurrent)(CUcontext ctx)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!ctx)
        depth -= depth > 0;
    else if (depth)
        stack[depth - 1] = ctx;
    else
        stack[depth++] = ctx;
    return sync_server();
}

CUresult rm_ctx_adopt(CUcontext ctx) { return ctx == top() ? CUDA_SUCCESS : RM_IMPL(cuCtxSetCurrent)(ctx); }

CUresult CUDAAPI RM_IMPL(cuCtxGetCurrent)(CUcontext *pctx)
{
    CUresult r = rm_cl_initialized();
    if (r != CUDA_SUCCESS)
        return r;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    *pctx = top();
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuCtxPushCurrent_v2)(CUcontext ctx)
{
    return ctx ? push(ctx) : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult CUDAAPI RM_IMPL(cuCtxPopCurrent_v2)(CUcontext *pctx)
{
    if (depth == 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    CUcontext popped = stack[--depth];
    if (pctx)
        *pctx = popped;
    return sync_server();
}

/* CUDA 13: the device of ctx, or of the current context when ctx is NULL. */
CUresult CUDAAPI RM_IMPL(cuCtxGetDevice_v2)(CUdevice *dev, CUcontext ctx)
{
    if (!dev)
        return CUDA_ERROR_INVALID_VALUE;
    if (!ctx)
        ctx = top();
    return ctx && device_of(ctx, dev) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult CUDAAPI RM_IMPL(cuCtxGetDevice)(CUdevice *dev) { return cuCtxGetDevice_v2(dev, NULL); }

/* CUDA 13: synchronise ctx (NULL: the current context). */
CUresult CUDAAPI RM_IMPL(cuCtxSynchronize_v2)(CUcontext ctx)
{
    if (!ctx || ctx == top())
        return cuCtxSynchronize();
    CUresult r = push(ctx);
    if (r != CUDA_SUCCESS)
        return r;
    r = cuCtxSynchronize();
    CUresult p = cuCtxPopCurrent_v2(NULL);
    return r != CUDA_SUCCESS ? r : p;
}

CUresult CUDAAPI RM_IMPL(cuCtxGetApiVersion)(CUcontext ctx, unsigned int *version)
{
    if (!version)
        return CUDA_ERROR_INVALID_VALUE;
    *version = 3020; /* what the driver reports for contexts of the v2+ API */
    return CUDA_SUCCESS;
}
