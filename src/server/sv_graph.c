/* Handlers: graph nodes made with the graph API. Node handles belong to
 * their graph (forgotten when it is destroyed). Kernel parameters arrive
 * packed, as for launches; a copy node's host side must be a shared
 * segment, whose memory the graph can read whenever it runs. */
#include <string.h>

#include "log.h"
#include "rm_handlers.h"

int rm_sv_gnodes(rm_sv_t *sv, const void *ids, uint32_t len, CUgraphNode *nodes, size_t *n)
{
    if (len % sizeof(uint64_t) || len / sizeof(uint64_t) > RM_MAX_GNODES)
        return -1;
    *n = len / sizeof(uint64_t);
    for (size_t i = 0; i < *n; i++) {
        uint64_t id;
        memcpy(&id, (const char *)ids + i * sizeof id, sizeof id);
        if (rm_sv_handle_get(sv, RM_H_GNODE, id, (void **)&nodes[i]) != 0)
            return -1;
    }
    return 0;
}

CUresult rm_sv_graph_deps(rm_sv_t *sv, uint64_t graph_id, const void *deps, uint32_t deps_len, CUgraph *g,
                          CUgraphNode *nodes, size_t *n)
{
    if (rm_sv_handle_get(sv, RM_H_GRAPH, graph_id, (void **)g) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    return rm_sv_gnodes(sv, deps, deps_len, nodes, n) == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult rm_sv_node_made(rm_sv_t *sv, CUresult r, CUgraphNode node, uint64_t graph_id, uint64_t *out)
{
    if (r != CUDA_SUCCESS)
        return r;
    *out = rm_handles_put_owned(&sv->s->handles, RM_H_GNODE, node, graph_id);
    return *out ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

/* A kernel node's parameters: the function and its packed arguments, which
 * the driver copies (extra and size are storage p points into). */
typedef struct {
    uint32_t grid[3], block[3], shared_bytes;
} launch_shape_t;

static CUresult kernel_params(rm_sv_t *sv, uint64_t func, launch_shape_t shape, const void *args, uint32_t len,
                              CUDA_KERNEL_NODE_PARAMS *p, void *extra[5], size_t *size)
{
    CUfunction f;
    if (rm_sv_handle_get(sv, RM_H_FUNC, func, (void **)&f) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    *size = len;
    extra[0] = CU_LAUNCH_PARAM_BUFFER_POINTER, extra[1] = (void *)args;
    extra[2] = CU_LAUNCH_PARAM_BUFFER_SIZE, extra[3] = size, extra[4] = CU_LAUNCH_PARAM_END;
    *p = (CUDA_KERNEL_NODE_PARAMS){
        .func = f, .gridDimX = shape.grid[0], .gridDimY = shape.grid[1], .gridDimZ = shape.grid[2],
        .blockDimX = shape.block[0], .blockDimY = shape.block[1], .blockDimZ = shape.block[2],
        .sharedMemBytes = shape.shared_bytes, .extra = len ? extra : NULL,
    };
    return CUDA_SUCCESS;
}

CUresult rm_sv_graph_add_kernel_node(rm_sv_t *sv, const rm_graph_add_kernel_node_req_t *in,
                                     rm_graph_add_kernel_node_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphAddKernelNode_v2);
    CUgraph g;
    CUgraphNode deps[RM_MAX_GNODES], node = NULL;
    size_t n, size;
    CUDA_KERNEL_NODE_PARAMS p;
    void *extra[5];
    launch_shape_t shape = {{in->grid_x, in->grid_y, in->grid_z}, {in->block_x, in->block_y, in->block_z},
                            in->shared_bytes};
    CUresult r = rm_sv_graph_deps(sv, in->graph, in->deps, in->deps_len, &g, deps, &n);
    if (r == CUDA_SUCCESS)
        r = kernel_params(sv, in->func, shape, in->params, in->params_len, &p, extra, &size);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuGraphAddKernelNode_v2(&node, g, deps, n, &p);
    return rm_sv_node_made(sv, r, node, in->graph, &out->node);
}

CUresult rm_sv_graph_kernel_node_set_params(rm_sv_t *sv, const rm_graph_kernel_node_set_params_req_t *in,
                                            rm_graph_kernel_node_set_params_rep_t *out)
{
    CUgraphExec e = NULL;
    CUgraphNode node;
    size_t size;
    CUDA_KERNEL_NODE_PARAMS p;
    void *extra[5];
    launch_shape_t shape = {{in->grid_x, in->grid_y, in->grid_z}, {in->block_x, in->block_y, in->block_z},
                            in->shared_bytes};
    if ((in->exec && rm_sv_handle_get(sv, RM_H_GEXEC, in->exec, (void **)&e) != 0) ||
        rm_sv_handle_get(sv, RM_H_GNODE, in->node, (void **)&node) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUresult r = kernel_params(sv, in->func, shape, in->params, in->params_len, &p, extra, &size);
    if (r != CUDA_SUCCESS)
        return r;
    if (e) {
        RM_SV_NEED(sv, cuGraphExecKernelNodeSetParams_v2);
        return sv->b->cuGraphExecKernelNodeSetParams_v2(e, node, &p);
    }
    RM_SV_NEED(sv, cuGraphKernelNodeSetParams_v2);
    return sv->b->cuGraphKernelNodeSetParams_v2(node, &p);
}

/* A node the driver names in an answer, as the id the client knows it by. */
static uint64_t node_id(rm_sv_t *sv, CUgraphNode node, uint64_t graph_id)
{
    uint64_t id = 0;
    return node && rm_sv_node_made(sv, CUDA_SUCCESS, node, graph_id, &id) == CUDA_SUCCESS ? id : 0;
}

CUresult rm_sv_graph_exec_update(rm_sv_t *sv, const rm_graph_exec_update_req_t *in, rm_graph_exec_update_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphExecUpdate_v2);
    CUgraphExec e;
    CUgraph g;
    if (rm_sv_handle_get(sv, RM_H_GEXEC, in->exec, (void **)&e) != 0 ||
        rm_sv_handle_get(sv, RM_H_GRAPH, in->graph, (void **)&g) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    CUgraphExecUpdateResultInfo info = {0};
    CUresult r = sv->b->cuGraphExecUpdate_v2(e, g, &info);
    out->result = (int32_t)info.result;
    out->error_node = node_id(sv, info.errorNode, in->graph);
    out->error_from = node_id(sv, info.errorFromNode, 0); /* a node of the graph the exec came from */
    out->status = (int32_t)r; /* the details come back also when the update failed */
    return r == CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE ? CUDA_SUCCESS : r;
}

CUresult rm_sv_graph_add_memset_node(rm_sv_t *sv, const rm_graph_add_memset_node_req_t *in,
                                     rm_graph_add_memset_node_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphAddMemsetNode);
    RM_SV_NEED(sv, cuCtxGetCurrent);
    CUgraph g;
    CUgraphNode deps[RM_MAX_GNODES], node = NULL;
    size_t n;
    CUcontext ctx = NULL;
    CUresult r = rm_sv_graph_deps(sv, in->graph, in->deps, in->deps_len, &g, deps, &n);
    uint64_t rows = in->height ? in->height : 1, row, extent;
    if (r == CUDA_SUCCESS && ((in->elem_size != 1 && in->elem_size != 2 && in->elem_size != 4) ||
                              __builtin_mul_overflow(in->width, (uint64_t)in->elem_size, &row) ||
                              (rows > 1 && in->pitch < row) || __builtin_mul_overflow(rows - 1, in->pitch, &extent) ||
                              __builtin_add_overflow(extent, row, &extent)))
        r = CUDA_ERROR_INVALID_VALUE;
    if (r == CUDA_SUCCESS)
        r = rm_sv_check_range(sv, in->dst, extent, "memset node");
    if (r == CUDA_SUCCESS)
        r = sv->b->cuCtxGetCurrent(&ctx);
    CUDA_MEMSET_NODE_PARAMS p = {in->dst, in->pitch, in->value, in->elem_size, in->width, in->height};
    if (r == CUDA_SUCCESS)
        r = sv->b->cuGraphAddMemsetNode(&node, g, deps, n, &p, ctx);
    return rm_sv_node_made(sv, r, node, in->graph, &out->node);
}

/* A side of a copy node: device memory (kind 0) or a shared-segment address
 * (kind 1), which becomes this process's mapping of it. */
static CUresult copy_side(rm_sv_t *sv, uint64_t addr, uint32_t kind, uint64_t n, const char *what, CUmemorytype *type,
                          uintptr_t *p)
{
    if (kind == 0) {
        *type = CU_MEMORYTYPE_DEVICE;
        *p = addr;
        return rm_sv_check_range(sv, addr, n, what);
    }
    void *host = kind == 1 ? rm_sv_segment_ptr(sv, addr, n) : NULL;
    if (!host)
        return CUDA_ERROR_INVALID_VALUE;
    *type = CU_MEMORYTYPE_HOST;
    *p = (uintptr_t)host;
    return CUDA_SUCCESS;
}

CUresult rm_sv_graph_add_memcpy_node(rm_sv_t *sv, const rm_graph_add_memcpy_node_req_t *in,
                                     rm_graph_add_memcpy_node_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphAddMemcpyNode);
    RM_SV_NEED(sv, cuCtxGetCurrent);
    CUgraph g;
    CUgraphNode deps[RM_MAX_GNODES], node = NULL;
    size_t n;
    CUcontext ctx = NULL;
    CUmemorytype dt = CU_MEMORYTYPE_DEVICE, st = CU_MEMORYTYPE_DEVICE;
    uintptr_t d = 0, s = 0;
    CUresult r = rm_sv_graph_deps(sv, in->graph, in->deps, in->deps_len, &g, deps, &n);
    if (r == CUDA_SUCCESS)
        r = copy_side(sv, in->dst, in->dst_kind, in->bytes, "copy node destination", &dt, &d);
    if (r == CUDA_SUCCESS)
        r = copy_side(sv, in->src, in->src_kind, in->bytes, "copy node source", &st, &s);
    if (r == CUDA_SUCCESS)
        r = sv->b->cuCtxGetCurrent(&ctx);
    CUDA_MEMCPY3D c = {
        .srcMemoryType = st, .srcHost = (const void *)s, .srcDevice = s, .srcPitch = in->bytes, .srcHeight = 1,
        .dstMemoryType = dt, .dstHost = (void *)d, .dstDevice = d, .dstPitch = in->bytes, .dstHeight = 1,
        .WidthInBytes = in->bytes, .Height = 1, .Depth = 1,
    };
    if (r == CUDA_SUCCESS)
        r = sv->b->cuGraphAddMemcpyNode(&node, g, deps, n, &c, ctx);
    return rm_sv_node_made(sv, r, node, in->graph, &out->node);
}

#define MAX_ACCESS 64 /* access descriptors of a memory node: one per device is plenty */

CUresult rm_sv_graph_add_mem_alloc_node(rm_sv_t *sv, const rm_graph_add_mem_alloc_node_req_t *in,
                                        rm_graph_add_mem_alloc_node_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphAddMemAllocNode);
    CUgraph g;
    CUgraphNode deps[RM_MAX_GNODES], node = NULL;
    size_t n;
    CUDA_MEM_ALLOC_NODE_PARAMS p = {.bytesize = in->bytes};
    CUmemAccessDesc access[MAX_ACCESS];
    CUresult r = rm_sv_graph_deps(sv, in->graph, in->deps, in->deps_len, &g, deps, &n);
    if (r == CUDA_SUCCESS && (in->props_len != sizeof p.poolProps || in->access_len % sizeof access[0] ||
                              in->access_len > sizeof access))
        r = CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    memcpy(&p.poolProps, in->props, sizeof p.poolProps);
    if (p.poolProps.win32SecurityAttributes)
        return CUDA_ERROR_INVALID_VALUE;
    if (in->access_len)
        memcpy(access, in->access, in->access_len);
    p.accessDescs = in->access_len ? access : NULL;
    p.accessDescCount = in->access_len / sizeof access[0];
    /* the session's memory, and charged to its GPU, while the graph lives
     * (its executions may hold it whenever they run) */
    rm_sv_charge_t t;
    int dev = p.poolProps.location.type == CU_MEM_LOCATION_TYPE_DEVICE ? p.poolProps.location.id : -1;
    if ((r = rm_sv_charge_take(sv, dev, in->bytes, "cuGraphAddMemAllocNode", &t)) != CUDA_SUCCESS ||
        (r = rm_sv_charge_failed(sv, &t, sv->b->cuGraphAddMemAllocNode(&node, g, deps, n, &p))) != CUDA_SUCCESS)
        return r;
    if (rm_ranges_add(&sv->s->ranges, p.dptr, p.bytesize, in->graph) != 0) {
        rm_sv_charge_failed(sv, &t, CUDA_ERROR_OUT_OF_MEMORY);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (rm_sv_charge_keep(sv, &t, p.dptr, in->graph) != 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    out->dptr = p.dptr;
    return rm_sv_node_made(sv, r, node, in->graph, &out->node);
}

CUresult rm_sv_graph_add_conditional_node(rm_sv_t *sv, const rm_graph_add_conditional_node_req_t *in,
                                          rm_graph_add_conditional_node_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphAddNode_v2);
    CUgraph g;
    CUgraphNode deps[RM_MAX_GNODES], node = NULL;
    size_t n;
    CUcontext ctx = NULL;
    CUresult r = rm_sv_graph_deps(sv, in->graph, in->deps, in->deps_len, &g, deps, &n);
    if (r == CUDA_SUCCESS && in->ctx && rm_sv_handle_get(sv, RM_H_CTX, in->ctx, (void **)&ctx) != 0)
        r = CUDA_ERROR_INVALID_HANDLE;
    if (r == CUDA_SUCCESS && (in->size == 0 || in->size > RM_MAX_GNODES))
        r = CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    CUgraphNodeParams p = {.type = CU_GRAPH_NODE_TYPE_CONDITIONAL};
    p.conditional = (CUDA_CONDITIONAL_NODE_PARAMS){
        .handle = in->handle, .type = (CUgraphConditionalNodeType)in->type, .size = in->size, .ctx = ctx};
    if ((r = sv->b->cuGraphAddNode_v2(&node, g, deps, NULL, n, &p)) != CUDA_SUCCESS)
        return r;
    if ((r = rm_sv_node_made(sv, r, node, in->graph, &out->node)) != CUDA_SUCCESS)
        return r;
    uint64_t *ids = rm_sv_scratch(sv, in->size * sizeof *ids);
    if (!ids || !p.conditional.phGraph_out)
        return CUDA_ERROR_OUT_OF_MEMORY;
    for (unsigned i = 0; i < in->size; i++) /* the bodies die with the graph */
        if (!(ids[i] = rm_handles_put_owned(&sv->s->handles, RM_H_GRAPH, p.conditional.phGraph_out[i], in->graph)))
            return CUDA_ERROR_OUT_OF_MEMORY;
    out->bodies = ids;
    out->bodies_len = in->size * (uint32_t)sizeof *ids;
    return CUDA_SUCCESS;
}

/* Every node of a graph, as the ids the client knows them by. */
CUresult rm_sv_graph_get_nodes(rm_sv_t *sv, const rm_graph_get_nodes_req_t *in, rm_graph_get_nodes_rep_t *out)
{
    RM_SV_NEED(sv, cuGraphGetNodes);
    CUgraph g;
    if (rm_sv_handle_get(sv, RM_H_GRAPH, in->graph, (void **)&g) != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    size_t n = 0;
    CUresult r = sv->b->cuGraphGetNodes(g, NULL, &n);
    if (r != CUDA_SUCCESS || n == 0)
        return r;
    if (n > RM_MAX_MSG / sizeof(uint64_t))
        return CUDA_ERROR_OUT_OF_MEMORY;
    CUgraphNode *nodes = rm_sv_scratch(sv, n * sizeof *nodes + n * sizeof(uint64_t));
    if (!nodes)
        return CUDA_ERROR_OUT_OF_MEMORY;
    uint64_t *ids = (uint64_t *)(nodes + n);
    if ((r = sv->b->cuGraphGetNodes(g, nodes, &n)) != CUDA_SUCCESS)
        return r;
    for (size_t i = 0; i < n; i++)
        if (rm_sv_node_made(sv, CUDA_SUCCESS, nodes[i], in->graph, &ids[i]) != CUDA_SUCCESS)
            return CUDA_ERROR_OUT_OF_MEMORY;
    out->nodes = ids;
    out->nodes_len = (uint32_t)(n * sizeof *ids);
    return CUDA_SUCCESS;
}
