/* Client: graph nodes made with the graph API whose parameters need more
 * than a spec line (kernel, memset, copy and memory nodes, kernel node
 * updates, exec updates; the other nodes are generated). Dependencies travel as the nodes' handles. A copy node's
 * host side must be page-locked memory in a shared segment (the shm
 * transport), which the server's graph can read whenever it runs; other
 * host memory in a copy node is CUDA_ERROR_NOT_SUPPORTED. */
#include <cuda.h>
#include <stdint.h>
#include <string.h>

#include "export.h"
#include "graph.h"
#include "handles.h"
#include "hostmem.h"
#include "log.h"
#include "memory.h"
#include "rm_stubs.h"

CUresult rm_cl_gnodes(const CUgraphNode *nodes, size_t n, uint64_t *ids)
{
    if (n > RM_MAX_GNODES || (n && !nodes))
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < n; i++)
        ids[i] = (uint64_t)(uintptr_t)nodes[i];
    return CUDA_SUCCESS;
}

/* (Called after the call: its reply is read here.) */
static CUresult node_out(CUresult r, uint64_t node, CUgraphNode *ph)
{
    if (r == CUDA_SUCCESS)
        *ph = (CUgraphNode)(uintptr_t)node;
    return r;
}

/* A kernel node's function and its arguments packed as for a launch (in a
 * buffer of the calling thread's, valid until its next kernel node). */
static CUresult pack_kernel(const CUDA_KERNEL_NODE_PARAMS *p, const rm_cl_func_t **f, const void **data, size_t *len)
{
    static __thread _Alignas(16) unsigned char buf[32768];
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    if (!(*f = rm_cl_func_of(p->func ? (const void *)p->func : (const void *)p->kern)))
        return CUDA_ERROR_INVALID_HANDLE;
    return rm_cl_pack_params(*f, p->kernelParams, p->extra, buf, sizeof buf, data, len);
}

CUresult CUDAAPI RM_IMPL(cuGraphAddKernelNode_v2)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                                  const CUDA_KERNEL_NODE_PARAMS *p)
{
    uint64_t ids[RM_MAX_GNODES];
    const rm_cl_func_t *f;
    const void *data;
    size_t len;
    CUresult r = ph ? rm_cl_gnodes(deps, n, ids) : CUDA_ERROR_INVALID_VALUE;
    if (r == CUDA_SUCCESS)
        r = pack_kernel(p, &f, &data, &len);
    if (r != CUDA_SUCCESS)
        return r;
    rm_graph_add_kernel_node_req_t in = {
        (uint64_t)(uintptr_t)g, ids, (uint32_t)(n * sizeof ids[0]), rm_cl_func_id(f), p->gridDimX, p->gridDimY, p->gridDimZ,
        p->blockDimX, p->blockDimY, p->blockDimZ, p->sharedMemBytes, data, (uint32_t)len};
    rm_graph_add_kernel_node_rep_t out = {0};
    CUresult called = rm_call_graph_add_kernel_node(&in, &out);
    return node_out(called, out.node, ph);
}

static CUresult set_kernel(CUgraphExec e, CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS *p)
{
    const rm_cl_func_t *f;
    const void *data;
    size_t len;
    CUresult r = pack_kernel(p, &f, &data, &len);
    if (r != CUDA_SUCCESS)
        return r;
    rm_graph_kernel_node_set_params_req_t in = {
        (uint64_t)(uintptr_t)e, (uint64_t)(uintptr_t)node, rm_cl_func_id(f), p->gridDimX, p->gridDimY, p->gridDimZ,
        p->blockDimX, p->blockDimY, p->blockDimZ, p->sharedMemBytes, data, (uint32_t)len};
    rm_graph_kernel_node_set_params_rep_t out;
    return rm_call_graph_kernel_node_set_params(&in, &out);
}

CUresult CUDAAPI RM_IMPL(cuGraphKernelNodeSetParams_v2)(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS *p)
{
    return set_kernel(NULL, node, p);
}

CUresult CUDAAPI RM_IMPL(cuGraphExecKernelNodeSetParams_v2)(CUgraphExec e, CUgraphNode node,
                                                            const CUDA_KERNEL_NODE_PARAMS *p)
{
    return e ? set_kernel(e, node, p) : CUDA_ERROR_INVALID_VALUE;
}

/* The CUDA 11 parameter struct lacks the last two fields. */
static CUDA_KERNEL_NODE_PARAMS from_v1(const CUDA_KERNEL_NODE_PARAMS_v1 *p)
{
    return (CUDA_KERNEL_NODE_PARAMS){p->func, p->gridDimX, p->gridDimY, p->gridDimZ, p->blockDimX, p->blockDimY,
                                     p->blockDimZ, p->sharedMemBytes, p->kernelParams, p->extra, NULL, NULL};
}

CUresult CUDAAPI RM_IMPL(cuGraphAddKernelNode)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                               const CUDA_KERNEL_NODE_PARAMS_v1 *p)
{
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    CUDA_KERNEL_NODE_PARAMS v2 = from_v1(p);
    return cuGraphAddKernelNode_v2(ph, g, deps, n, &v2);
}

CUresult CUDAAPI RM_IMPL(cuGraphKernelNodeSetParams)(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS_v1 *p)
{
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    CUDA_KERNEL_NODE_PARAMS v2 = from_v1(p);
    return set_kernel(NULL, node, &v2);
}

CUresult CUDAAPI RM_IMPL(cuGraphExecKernelNodeSetParams)(CUgraphExec e, CUgraphNode node,
                                                         const CUDA_KERNEL_NODE_PARAMS_v1 *p)
{
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    CUDA_KERNEL_NODE_PARAMS v2 = from_v1(p);
    return cuGraphExecKernelNodeSetParams_v2(e, node, &v2);
}

CUresult CUDAAPI RM_IMPL(cuGraphExecUpdate_v2)(CUgraphExec e, CUgraph g, CUgraphExecUpdateResultInfo *info)
{
    if (!info)
        return CUDA_ERROR_INVALID_VALUE;
    rm_graph_exec_update_req_t in = {(uint64_t)(uintptr_t)e, (uint64_t)(uintptr_t)g};
    rm_graph_exec_update_rep_t out;
    CUresult r = rm_call_graph_exec_update(&in, &out);
    if (r != CUDA_SUCCESS)
        return r;
    info->result = (CUgraphExecUpdateResult)out.result;
    info->errorNode = (CUgraphNode)(uintptr_t)out.error_node;
    info->errorFromNode = (CUgraphNode)(uintptr_t)out.error_from;
    return (CUresult)out.status;
}

/* The CUDA 10 form. */
CUresult CUDAAPI RM_IMPL(cuGraphExecUpdate)(CUgraphExec e, CUgraph g, CUgraphNode *error_node,
                                            CUgraphExecUpdateResult *result)
{
    CUgraphExecUpdateResultInfo info = {0};
    CUresult r = cuGraphExecUpdate_v2(e, g, &info);
    if (error_node)
        *error_node = info.errorNode;
    if (result)
        *result = info.result;
    return r;
}

CUresult CUDAAPI RM_IMPL(cuGraphAddMemsetNode)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                               const CUDA_MEMSET_NODE_PARAMS *p, CUcontext ctx)
{
    uint64_t ids[RM_MAX_GNODES];
    CUresult r = ph && p ? rm_cl_gnodes(deps, n, ids) : CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    rm_graph_add_memset_node_req_t in = {(uint64_t)(uintptr_t)g, ids, (uint32_t)(n * sizeof ids[0]), p->dst,
                                         p->pitch, p->value, p->elementSize, p->width, p->height};
    rm_graph_add_memset_node_rep_t out = {0};
    CUresult called = rm_call_graph_add_memset_node(&in, &out);
    return node_out(called, out.node, ph);
}

/* A side of a copy node: device memory (kind 0), or a shared segment (1). */
static CUresult copy_side(CUmemorytype type, const void *host, CUdeviceptr dev, size_t n, uint64_t *addr,
                          uint32_t *kind)
{
    if (type == CU_MEMORYTYPE_DEVICE || (type == CU_MEMORYTYPE_UNIFIED && rm_devmem_contains(dev))) {
        *addr = dev, *kind = 0;
        return CUDA_SUCCESS;
    }
    const void *p = type == CU_MEMORYTYPE_UNIFIED ? (const void *)(uintptr_t)dev : host;
    const rm_host_region_t *g = type == CU_MEMORYTYPE_HOST || type == CU_MEMORYTYPE_UNIFIED ? rm_host_find(p, n) : NULL;
    if (!g || g->kind != RM_HOST_SEGMENT) {
        RM_WARN("cuGraphAddMemcpyNode: host memory outside remora's shared segments cannot be in a graph");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    *addr = g->seg_addr + ((uintptr_t)p - g->base), *kind = 1;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI RM_IMPL(cuGraphAddMemcpyNode)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                               const CUDA_MEMCPY3D *c, CUcontext ctx)
{
    uint64_t ids[RM_MAX_GNODES];
    CUresult r = ph && c ? rm_cl_gnodes(deps, n, ids) : CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    /* one row: what 1D copies are (cudaMemcpy in a graph) */
    if (c->Height > 1 || c->Depth > 1 || c->srcXInBytes || c->srcY || c->srcZ || c->dstXInBytes || c->dstY ||
        c->dstZ || c->srcArray || c->dstArray) {
        RM_WARN("cuGraphAddMemcpyNode: only one-row copies between linear memory are supported");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    uint64_t dst, src;
    uint32_t dk, sk;
    if ((r = copy_side(c->dstMemoryType, c->dstHost, c->dstDevice, c->WidthInBytes, &dst, &dk)) != CUDA_SUCCESS ||
        (r = copy_side(c->srcMemoryType, c->srcHost, c->srcDevice, c->WidthInBytes, &src, &sk)) != CUDA_SUCCESS)
        return r;
    rm_graph_add_memcpy_node_req_t in = {(uint64_t)(uintptr_t)g, ids, (uint32_t)(n * sizeof ids[0]), dst, dk, src,
                                         sk, c->WidthInBytes};
    rm_graph_add_memcpy_node_rep_t out = {0};
    CUresult called = rm_call_graph_add_memcpy_node(&in, &out);
    return node_out(called, out.node, ph);
}

#define MAX_ACCESS 64

/* The node's memory is device memory here from now on (its addresses stay
 * the graph's). */
CUresult CUDAAPI RM_IMPL(cuGraphAddMemAllocNode)(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                                 CUDA_MEM_ALLOC_NODE_PARAMS *p)
{
    uint64_t ids[RM_MAX_GNODES];
    CUresult r = ph && p ? rm_cl_gnodes(deps, n, ids) : CUDA_ERROR_INVALID_VALUE;
    if (r == CUDA_SUCCESS && (p->accessDescCount > MAX_ACCESS || (p->accessDescCount && !p->accessDescs)))
        r = CUDA_ERROR_INVALID_VALUE;
    if (r != CUDA_SUCCESS)
        return r;
    rm_graph_add_mem_alloc_node_req_t in = {
        (uint64_t)(uintptr_t)g, ids, (uint32_t)(n * sizeof ids[0]), &p->poolProps, sizeof p->poolProps,
        p->accessDescs, (uint32_t)(p->accessDescCount * sizeof *p->accessDescs), p->bytesize};
    rm_graph_add_mem_alloc_node_rep_t out = {0};
    if ((r = rm_call_graph_add_mem_alloc_node(&in, &out)) != CUDA_SUCCESS)
        return r;
    p->dptr = out.dptr;
    rm_devmem_add(out.dptr, p->bytesize);
    return node_out(r, out.node, ph);
}

/* The nodes' ids come back in the order the server's driver lists them. */
CUresult CUDAAPI RM_IMPL(cuGraphGetNodes)(CUgraph g, CUgraphNode *nodes, size_t *num)
{
    if (!num)
        return CUDA_ERROR_INVALID_VALUE;
    rm_graph_get_nodes_req_t in = {.graph = (uint64_t)(uintptr_t)g};
    rm_graph_get_nodes_rep_t out = {0};
    CUresult r = rm_call_graph_get_nodes(&in, &out);
    if (r != CUDA_SUCCESS)
        return r;
    size_t count = out.nodes_len / sizeof(uint64_t);
    if (!nodes) {
        *num = count;
        return CUDA_SUCCESS;
    }
    for (size_t i = 0; i < *num; i++) { /* entries past the last node are NULL */
        uint64_t id = 0;
        if (i < count)
            memcpy(&id, (const char *)out.nodes + i * sizeof id, sizeof id);
        nodes[i] = (CUgraphNode)(uintptr_t)id;
    }
    if (*num > count)
        *num = count;
    return CUDA_SUCCESS;
}
