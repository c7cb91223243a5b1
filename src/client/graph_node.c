/* Client: cuGraphAddNode, which makes a node of any kind from one union of
 * parameters: each kind goes to the call that makes that kind of node;
 * conditional nodes (which exist only this way) go to the server with
 * their handle, and their body graphs come back to be filled. Edges with
 * data (ports, programmatic dependencies) are not supported. */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "graph.h"
#include "log.h"
#include "rm_stubs.h"

/* Body graphs of conditional nodes: CUDA's arrays live as long as their
 * node; remora's are kept for the life of the process. */
typedef struct bodies {
    struct bodies *next;
    CUgraph graphs[];
} bodies_t;

static bodies_t *kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static CUresult add_conditional(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                CUDA_CONDITIONAL_NODE_PARAMS *c)
{
    uint64_t ids[RM_MAX_GNODES];
    CUresult r = rm_cl_gnodes(deps, n, ids);
    if (r == CUDA_SUCCESS && (c->size == 0 || c->size > RM_MAX_GNODES))
        r = CUDA_ERROR_INVALID_VALUE;
    bodies_t *b = r == CUDA_SUCCESS ? malloc(sizeof *b + c->size * sizeof(CUgraph)) : NULL;
    if (r == CUDA_SUCCESS && !b)
        r = CUDA_ERROR_OUT_OF_MEMORY;
    if (r != CUDA_SUCCESS)
        return r;
    rm_graph_add_conditional_node_req_t in = {(uint64_t)(uintptr_t)g, ids, (uint32_t)(n * sizeof ids[0]), c->handle,
                                              (uint32_t)c->type, c->size, (uint64_t)(uintptr_t)c->ctx};
    rm_graph_add_conditional_node_rep_t out = {0};
    if ((r = rm_call_graph_add_conditional_node(&in, &out)) == CUDA_SUCCESS &&
        out.bodies_len != c->size * sizeof(uint64_t))
        r = CUDA_ERROR_UNKNOWN;
    if (r != CUDA_SUCCESS) {
        free(b);
        return r;
    }
    for (unsigned i = 0; i < c->size; i++) {
        uint64_t id;
        memcpy(&id, (const char *)out.bodies + i * sizeof id, sizeof id);
        b->graphs[i] = (CUgraph)(uintptr_t)id;
    }
    pthread_mutex_lock(&kept_lock);
    b->next = kept;
    kept = b;
    pthread_mutex_unlock(&kept_lock);
    c->phGraph_out = b->graphs;
    *ph = (CUgraphNode)(uintptr_t)out.node;
    return CUDA_SUCCESS;
}

static int plain_edges(const CUgraphEdgeData *edges, size_t n)
{
    static const CUgraphEdgeData plain = {0};
    for (size_t i = 0; edges && i < n; i++)
        if (memcmp(&edges[i], &plain, sizeof plain) != 0)
            return 0;
    return 1;
}

CUresult CUDAAPI RM_IMPL(cuGraphAddNode_v2)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps,
                                            const CUgraphEdgeData *edges, size_t n, CUgraphNodeParams *p)
{
    if (!ph || !p)
        return CUDA_ERROR_INVALID_VALUE;
    if (!plain_edges(edges, n)) {
        RM_WARN("cuGraphAddNode: edges with data (ports, programmatic dependencies) are not supported");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    switch (p->type) {
    case CU_GRAPH_NODE_TYPE_EMPTY: return cuGraphAddEmptyNode(ph, g, deps, n);
    case CU_GRAPH_NODE_TYPE_KERNEL: {
        const CUDA_KERNEL_NODE_PARAMS_v3 *k = &p->kernel;
        CUDA_KERNEL_NODE_PARAMS v2 = {k->func, k->gridDimX, k->gridDimY, k->gridDimZ, k->blockDimX, k->blockDimY,
                                      k->blockDimZ, k->sharedMemBytes, k->kernelParams, k->extra, k->kern, k->ctx};
        return cuGraphAddKernelNode_v2(ph, g, deps, n, &v2);
    }
    case CU_GRAPH_NODE_TYPE_MEMSET: {
        const CUDA_MEMSET_NODE_PARAMS_v2 *m = &p->memset;
        CUDA_MEMSET_NODE_PARAMS v1 = {m->dst, m->pitch, m->value, m->elementSize, m->width, m->height};
        return cuGraphAddMemsetNode(ph, g, deps, n, &v1, m->ctx);
    }
    case CU_GRAPH_NODE_TYPE_MEMCPY: return cuGraphAddMemcpyNode(ph, g, deps, n, &p->memcpy.copyParams, p->memcpy.copyCtx);
    case CU_GRAPH_NODE_TYPE_HOST: {
        CUDA_HOST_NODE_PARAMS h = {p->host.fn, p->host.userData};
        return cuGraphAddHostNode(ph, g, deps, n, &h);
    }
    case CU_GRAPH_NODE_TYPE_GRAPH:
        if (p->graph.ownership != CU_GRAPH_CHILD_GRAPH_OWNERSHIP_CLONE) {
            RM_WARN("cuGraphAddNode: child graphs are cloned into their node; moving one in is not supported");
            return CUDA_ERROR_NOT_SUPPORTED;
        }
        return cuGraphAddChildGraphNode(ph, g, deps, n, p->graph.graph);
    case CU_GRAPH_NODE_TYPE_EVENT_RECORD: return cuGraphAddEventRecordNode(ph, g, deps, n, p->eventRecord.event);
    case CU_GRAPH_NODE_TYPE_WAIT_EVENT: return cuGraphAddEventWaitNode(ph, g, deps, n, p->eventWait.event);
    case CU_GRAPH_NODE_TYPE_MEM_ALLOC: {
        CUDA_MEM_ALLOC_NODE_PARAMS_v2 *a = &p->alloc;
        CUDA_MEM_ALLOC_NODE_PARAMS v1 = {a->poolProps, a->accessDescs, a->accessDescCount, a->bytesize, 0};
        CUresult r = cuGraphAddMemAllocNode(ph, g, deps, n, &v1);
        a->dptr = v1.dptr;
        return r;
    }
    case CU_GRAPH_NODE_TYPE_MEM_FREE: return cuGraphAddMemFreeNode(ph, g, deps, n, p->free.dptr);
    case CU_GRAPH_NODE_TYPE_CONDITIONAL: return add_conditional(ph, g, deps, n, &p->conditional);
    default:
        RM_WARN("cuGraphAddNode: nodes of type %d are not supported", (int)p->type);
        return CUDA_ERROR_NOT_SUPPORTED;
    }
}

/* The CUDA 12.3 form, without edge data. */
CUresult CUDAAPI RM_IMPL(cuGraphAddNode)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                         CUgraphNodeParams *p)
{
    return cuGraphAddNode_v2(ph, g, deps, NULL, n, p);
}
