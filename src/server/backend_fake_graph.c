/* Fake backend, stream capture and graphs. While a stream is captured, the
 * copies, memsets and kernel launches queued on it are recorded as nodes of
 * the capture's graph instead of run; an instantiated graph runs its nodes
 * in capture order before cuGraphLaunch returns, like every fake operation.
 * Host functions and event records are recorded too. The graph API's empty,
 * kernel, memset, one-row copy, host, event record and wait, and child graph
 * nodes are recorded the same way (a child graph is copied into its node,
 * as in CUDA), and so are memory nodes, whose memory is allocated when the
 * node is made and kept as long as the backend lives. Not emulated: streams joining a capture through events,
 * dependencies beyond insertion order. An instantiated graph is updated
 * from a graph with the same kinds of nodes in the same order. */
#include "backend_fake.h"

#include <stdlib.h>
#include <string.h>

typedef enum {
    NODE_EMPTY,
    NODE_COPY,
    NODE_MEMSET,
    NODE_LAUNCH,
    NODE_HOST,
    NODE_EVENT_RECORD,
    NODE_EVENT_WAIT,
    NODE_CHILD,
    NODE_MEM_ALLOC,
    NODE_MEM_FREE,
    NODE_COND,
} fake_node_kind;

#define MAX_BODIES 4
#define MAX_COND_HANDLES 64

/* Conditional handles: their default value, which they keep (no device
 * code runs here to set them otherwise). */
static unsigned fake_conds[MAX_COND_HANDLES];
static unsigned fake_nconds;

/* A node, also what a CUgraphNode of a fake graph points to. */
typedef struct CUgraphNode_st {
    fake_node_kind kind;
    struct CUgraphNode_st *next;
    const struct CUgraphNode_st *origin; /* in an instantiated graph: the graph's node it copies */
    union {
        CUDA_MEMCPY2D copy;
        rm_fake_memset_t set;
        rm_fake_launch_rec_t launch;
        struct {
            CUhostFn fn;
            void *data;
        } host;
        CUevent event;
        struct CUgraphNode_st *child; /* NODE_CHILD: its own copy of the graph's nodes */
        struct {
            CUgraphConditionalHandle handle;
            CUgraphConditionalNodeType type;
            unsigned size;
            CUgraph body[MAX_BODIES];                  /* in a graph: filled by the client */
            struct CUgraphNode_st *lists[MAX_BODIES]; /* in a copy: the bodies' nodes */
        } cond;
    } u;
} fake_node_t;

struct CUgraph_st {
    fake_node_t *head, **tail;
};

struct CUgraphExec_st {
    fake_node_t *head; /* a copy: the graph may change or go */
};

static void fake_nodes_free(fake_node_t *n)
{
    while (n) {
        fake_node_t *next = n->next;
        if (n->kind == NODE_CHILD)
            fake_nodes_free(n->u.child);
        for (unsigned i = 0; n->kind == NODE_COND && i < n->u.cond.size; i++) {
            fake_nodes_free(n->u.cond.lists[i]);
            if (n->u.cond.body[i])
                rm_fake_graph_free(n->u.cond.body[i]);
        }
        free(n);
        n = next;
    }
}

CUgraph rm_fake_graph_new(void)
{
    CUgraph g = calloc(1, sizeof *g);
    if (g && !rm_fake_set_add(&rm_fake_state.graphs, g)) {
        free(g);
        return NULL;
    }
    if (g)
        g->tail = &g->head;
    return g;
}

/* Appends a copy of n at *tail, which then names the new end; *made (when
 * not NULL) is the copy. */
static CUresult fake_clone(const fake_node_t *head, fake_node_t **out);

static CUresult fake_append(fake_node_t ***tail, const fake_node_t *n, fake_node_t **made)
{
    fake_node_t *copy = malloc(sizeof *copy);
    if (!copy)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *copy = *n;
    copy->next = NULL;
    copy->origin = n;
    CUresult rc = n->kind == NODE_CHILD ? fake_clone(n->u.child, &copy->u.child) : CUDA_SUCCESS;
    for (unsigned i = 0; n->kind == NODE_COND && i < n->u.cond.size; i++) { /* a copy holds nodes, not graphs */
        copy->u.cond.body[i] = NULL;
        copy->u.cond.lists[i] = NULL;
        if (rc == CUDA_SUCCESS)
            rc = fake_clone(n->u.cond.body[i] ? n->u.cond.body[i]->head : n->u.cond.lists[i], &copy->u.cond.lists[i]);
    }
    if (rc != CUDA_SUCCESS) {
        fake_nodes_free(copy);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    **tail = copy;
    *tail = &copy->next;
    if (made)
        *made = copy;
    return CUDA_SUCCESS;
}

/* A deep copy of the list at head (child graphs included). */
static CUresult fake_clone(const fake_node_t *head, fake_node_t **out)
{
    CUresult rc = CUDA_SUCCESS;
    fake_node_t **tail = out;
    *out = NULL;
    for (const fake_node_t *n = head; n && rc == CUDA_SUCCESS; n = n->next)
        rc = fake_append(&tail, n, NULL);
    if (rc != CUDA_SUCCESS) {
        fake_nodes_free(*out);
        *out = NULL;
    }
    return rc;
}

CUresult rm_fake_record_copy(CUgraph g, const CUDA_MEMCPY2D *c, CUgraphNode *node)
{
    fake_node_t n = {.kind = NODE_COPY, .u.copy = *c};
    return fake_append(&g->tail, &n, node);
}

CUresult rm_fake_record_memset(CUgraph g, const rm_fake_memset_t *m, CUgraphNode *node)
{
    fake_node_t n = {.kind = NODE_MEMSET, .u.set = *m};
    return fake_append(&g->tail, &n, node);
}

CUresult rm_fake_record_launch(CUgraph g, const rm_fake_launch_rec_t *l, CUgraphNode *node)
{
    fake_node_t n = {.kind = NODE_LAUNCH, .u.launch = *l};
    return fake_append(&g->tail, &n, node);
}

CUresult rm_fake_record_host(CUgraph g, CUhostFn fn, void *data, CUgraphNode *node)
{
    fake_node_t n = {.kind = NODE_HOST, .u.host = {fn, data}};
    return fake_append(&g->tail, &n, node);
}

CUresult rm_fake_record_event(CUgraph g, CUevent e, CUgraphNode *node)
{
    fake_node_t n = {.kind = NODE_EVENT_RECORD, .u.event = e};
    return fake_append(&g->tail, &n, node);
}

static CUresult fake_cuGraphCreate(CUgraph *phGraph, unsigned int flags)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!phGraph || flags))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && !(*phGraph = rm_fake_graph_new()))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    return rm_fake_leave(rc);
}

void rm_fake_graph_free(CUgraph g)
{
    rm_fake_set_del(&rm_fake_state.graphs, g);
    fake_nodes_free(g->head);
    free(g);
}

static CUresult fake_cuGraphDestroy(CUgraph g)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(&rm_fake_state.graphs, g))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rm_fake_graph_free(g);
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphInstantiateWithFlags(CUgraphExec *phExec, CUgraph g, unsigned long long flags)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!phExec || !rm_fake_set_has(&rm_fake_state.graphs, g)))
        rc = CUDA_ERROR_INVALID_VALUE;
    CUgraphExec e = NULL;
    if (rc == CUDA_SUCCESS && !(e = calloc(1, sizeof *e)))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS)
        rc = fake_clone(g->head, &e->head);
    if (rc == CUDA_SUCCESS && !rm_fake_set_add(&rm_fake_state.execs, e))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc != CUDA_SUCCESS && e) {
        fake_nodes_free(e->head);
        free(e);
    } else if (rc == CUDA_SUCCESS)
        *phExec = e;
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphExecDestroy(CUgraphExec e)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_del(&rm_fake_state.execs, e))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        fake_nodes_free(e->head);
        free(e);
    }
    return rm_fake_leave(rc);
}

static CUresult fake_exec_check(CUgraphExec e, CUstream s)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(&rm_fake_state.execs, e))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_stream_check(s);
    if (rc == CUDA_SUCCESS && rm_fake_stream_capture(s))
        rc = CUDA_ERROR_NOT_SUPPORTED; /* graphs inside captures are not emulated */
    return rm_fake_leave(rc);
}

/* Runs the nodes in order on the legacy stream (outside the lock: each node
 * is an operation of its own, and a host function may block). The first
 * failure stops the graph. */
static CUresult fake_run(const fake_node_t *head);

/* A conditional node runs a body by its handle's value. A loop whose value
 * nothing here can change would never end: refused. */
static CUresult fake_run_cond(const fake_node_t *n)
{
    unsigned value = fake_conds[n->u.cond.handle - 1];
    switch (n->u.cond.type) {
    case CU_GRAPH_COND_TYPE_IF:
        return value ? fake_run(n->u.cond.lists[0]) : n->u.cond.size > 1 ? fake_run(n->u.cond.lists[1]) : CUDA_SUCCESS;
    case CU_GRAPH_COND_TYPE_SWITCH:
        return value < n->u.cond.size ? fake_run(n->u.cond.lists[value]) : CUDA_SUCCESS;
    default: /* CU_GRAPH_COND_TYPE_WHILE */
        return value ? CUDA_ERROR_NOT_SUPPORTED : CUDA_SUCCESS;
    }
}

static CUresult fake_run(const fake_node_t *head)
{
    CUresult rc = CUDA_SUCCESS;
    for (const fake_node_t *n = head; n && rc == CUDA_SUCCESS; n = n->next) {
        switch (n->kind) {
        case NODE_EMPTY: break;
        case NODE_EVENT_WAIT: break; /* what it waits for has run */
        case NODE_MEM_ALLOC: break;  /* its memory is the graph's from the start */
        case NODE_MEM_FREE: break;
        case NODE_COPY: rc = rm_fake_copy2d(&n->u.copy, NULL); break;
        case NODE_MEMSET: rc = rm_fake_memset_run(&n->u.set); break;
        case NODE_LAUNCH: rc = rm_fake_launch_replay(&n->u.launch); break;
        case NODE_HOST: n->u.host.fn(n->u.host.data); break;
        case NODE_EVENT_RECORD: rc = rm_fake_event_stamp(n->u.event); break;
        case NODE_CHILD: rc = fake_run(n->u.child); break;
        case NODE_COND: rc = fake_run_cond(n); break;
        }
    }
    return rc;
}

static CUresult fake_cuGraphLaunch(CUgraphExec e, CUstream s)
{
    CUresult rc = fake_exec_check(e, s);
    return rc == CUDA_SUCCESS ? fake_run(e->head) : rc;
}

static CUresult fake_cuGraphUpload(CUgraphExec e, CUstream s) { return fake_exec_check(e, s); }

/* ---- the graph API's nodes: dependencies must be nodes of the graph; the
 * graph runs in the order nodes were added, which respects them ---- */

static CUresult fake_enter_graph(CUgraph g, const CUgraphNode *deps, size_t n, const void *out)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!out || !rm_fake_set_has(&rm_fake_state.graphs, g) || (n && !deps)))
        rc = CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; rc == CUDA_SUCCESS && i < n; i++) {
        const fake_node_t *m = g->head;
        while (m && m != deps[i])
            m = m->next;
        if (!m)
            rc = CUDA_ERROR_INVALID_VALUE;
    }
    return rc;
}

static CUresult fake_cuGraphGetNodes(CUgraph g, CUgraphNode *nodes, size_t *num)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!num || !rm_fake_set_has(&rm_fake_state.graphs, g)))
        rc = CUDA_ERROR_INVALID_VALUE;
    size_t count = 0;
    for (fake_node_t *n = rc == CUDA_SUCCESS ? g->head : NULL; n; n = n->next, count++)
        if (nodes && count < *num)
            nodes[count] = n;
    if (rc == CUDA_SUCCESS && nodes)
        for (size_t i = count; i < *num; i++)
            nodes[i] = NULL;
    if (rc == CUDA_SUCCESS && (!nodes || count < *num))
        *num = count;
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphNodeGetType(CUgraphNode n, CUgraphNodeType *type)
{
    static const CUgraphNodeType types[] = {
        [NODE_EMPTY] = CU_GRAPH_NODE_TYPE_EMPTY,
        [NODE_COPY] = CU_GRAPH_NODE_TYPE_MEMCPY,
        [NODE_MEMSET] = CU_GRAPH_NODE_TYPE_MEMSET,
        [NODE_LAUNCH] = CU_GRAPH_NODE_TYPE_KERNEL,
        [NODE_HOST] = CU_GRAPH_NODE_TYPE_HOST,
        [NODE_EVENT_RECORD] = CU_GRAPH_NODE_TYPE_EVENT_RECORD,
        [NODE_EVENT_WAIT] = CU_GRAPH_NODE_TYPE_WAIT_EVENT,
        [NODE_CHILD] = CU_GRAPH_NODE_TYPE_GRAPH,
        [NODE_MEM_ALLOC] = CU_GRAPH_NODE_TYPE_MEM_ALLOC,
        [NODE_MEM_FREE] = CU_GRAPH_NODE_TYPE_MEM_FREE,
        [NODE_COND] = CU_GRAPH_NODE_TYPE_CONDITIONAL,
    };
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!n || !type))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *type = types[n->kind];
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphAddEmptyNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    fake_node_t node = {.kind = NODE_EMPTY};
    if (rc == CUDA_SUCCESS)
        rc = fake_append(&g->tail, &node, ph);
    return rm_fake_leave(rc);
}

/* What a kernel node with parameters p launches (lock held). */
static CUresult fake_kernel_node_rec(const CUDA_KERNEL_NODE_PARAMS *p, rm_fake_launch_rec_t *rec)
{
    CUlaunchConfig c = {.gridDimX = p->gridDimX, .gridDimY = p->gridDimY, .gridDimZ = p->gridDimZ,
                        .blockDimX = p->blockDimX, .blockDimY = p->blockDimY, .blockDimZ = p->blockDimZ,
                        .sharedMemBytes = p->sharedMemBytes};
    return rm_fake_launch_prepare(&c, p->func, p->kernelParams, p->extra, rec);
}

static CUresult fake_cuGraphAddKernelNode_v2(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                             const CUDA_KERNEL_NODE_PARAMS *p)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    if (rc == CUDA_SUCCESS && (!p || !p->func))
        rc = CUDA_ERROR_INVALID_VALUE;
    rm_fake_launch_rec_t rec;
    if (rc == CUDA_SUCCESS)
        rc = fake_kernel_node_rec(p, &rec);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_record_launch(g, &rec, ph);
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphAddMemsetNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                          const CUDA_MEMSET_NODE_PARAMS *p, CUcontext ctx)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    if (rc == CUDA_SUCCESS && (!p || (p->elementSize != 1 && p->elementSize != 2 && p->elementSize != 4)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        rm_fake_memset_t m = {p->dst, p->pitch, p->width, p->height ? p->height : 1, p->value, p->elementSize};
        rc = rm_fake_record_memset(g, &m, ph);
    }
    return rm_fake_leave(rc);
}

/* One-row copies (what remora's server hands over). */
static CUresult fake_cuGraphAddMemcpyNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                          const CUDA_MEMCPY3D *p, CUcontext ctx)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    if (rc == CUDA_SUCCESS && (!p || p->Height > 1 || p->Depth > 1))
        rc = CUDA_ERROR_NOT_SUPPORTED;
    if (rc == CUDA_SUCCESS) {
        CUDA_MEMCPY2D c = {
            .srcMemoryType = p->srcMemoryType, .srcHost = p->srcHost, .srcDevice = p->srcDevice,
            .srcPitch = p->WidthInBytes, .dstMemoryType = p->dstMemoryType, .dstHost = p->dstHost,
            .dstDevice = p->dstDevice, .dstPitch = p->WidthInBytes, .WidthInBytes = p->WidthInBytes, .Height = 1,
        };
        rc = rm_fake_record_copy(g, &c, ph);
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphAddHostNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                        const CUDA_HOST_NODE_PARAMS *p)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    if (rc == CUDA_SUCCESS && (!p || !p->fn))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_record_host(g, p->fn, p->userData, ph);
    return rm_fake_leave(rc);
}

static CUresult fake_event_node(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n, CUevent e,
                                fake_node_kind kind)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(&rm_fake_state.events, e))
        rc = CUDA_ERROR_INVALID_HANDLE;
    fake_node_t node = {.kind = kind, .u.event = e};
    if (rc == CUDA_SUCCESS)
        rc = fake_append(&g->tail, &node, ph);
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphAddEventRecordNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                               CUevent e)
{
    return fake_event_node(ph, g, deps, n, e, NODE_EVENT_RECORD);
}

static CUresult fake_cuGraphAddEventWaitNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                             CUevent e)
{
    return fake_event_node(ph, g, deps, n, e, NODE_EVENT_WAIT);
}

static CUresult fake_cuGraphAddChildGraphNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                              CUgraph child)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    if (rc == CUDA_SUCCESS && (!rm_fake_set_has(&rm_fake_state.graphs, child) || child == g))
        rc = CUDA_ERROR_INVALID_VALUE;
    fake_node_t node = {.kind = NODE_CHILD, .u.child = rc == CUDA_SUCCESS ? child->head : NULL};
    if (rc == CUDA_SUCCESS)
        rc = fake_append(&g->tail, &node, ph); /* copies the child's nodes */
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphAddMemAllocNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                            CUDA_MEM_ALLOC_NODE_PARAMS *p)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    CUcontext ctx = NULL;
    if (rc == CUDA_SUCCESS && (!p || p->bytesize == 0 || p->poolProps.allocType != CU_MEM_ALLOCATION_TYPE_PINNED))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_current(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = rm_fake_alloc_device(ctx, p->bytesize, &p->dptr);
    fake_node_t node = {.kind = NODE_MEM_ALLOC};
    if (rc == CUDA_SUCCESS)
        rc = fake_append(&g->tail, &node, ph);
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphAddMemFreeNode(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps, size_t n,
                                           CUdeviceptr dptr)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    fake_node_t node = {.kind = NODE_MEM_FREE};
    if (rc == CUDA_SUCCESS && !dptr)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = fake_append(&g->tail, &node, ph);
    return rm_fake_leave(rc);
}

/* Kernel nodes take new parameters: in a graph (e NULL) or in an
 * instantiated graph, where node names the graph's node it was made from. */
static CUresult fake_kernel_node_set(CUgraphExec e, CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS *p)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!p || !p->func || !node || (e && !rm_fake_set_has(&rm_fake_state.execs, e))))
        rc = CUDA_ERROR_INVALID_VALUE;
    fake_node_t *target = e ? NULL : node;
    for (fake_node_t *n = rc == CUDA_SUCCESS && e ? e->head : NULL; n && !target; n = n->next)
        if (n->origin == node)
            target = n;
    if (rc == CUDA_SUCCESS && (!target || target->kind != NODE_LAUNCH))
        rc = CUDA_ERROR_INVALID_VALUE;
    rm_fake_launch_rec_t rec;
    if (rc == CUDA_SUCCESS)
        rc = fake_kernel_node_rec(p, &rec);
    if (rc == CUDA_SUCCESS)
        target->u.launch = rec;
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphKernelNodeSetParams_v2(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS *p)
{
    return fake_kernel_node_set(NULL, node, p);
}

static CUresult fake_cuGraphExecKernelNodeSetParams_v2(CUgraphExec e, CUgraphNode node,
                                                       const CUDA_KERNEL_NODE_PARAMS *p)
{
    return e ? fake_kernel_node_set(e, node, p) : CUDA_ERROR_INVALID_VALUE;
}

static CUresult fake_cuGraphExecUpdate_v2(CUgraphExec e, CUgraph g, CUgraphExecUpdateResultInfo *info)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!info || !rm_fake_set_has(&rm_fake_state.execs, e) ||
                               !rm_fake_set_has(&rm_fake_state.graphs, g)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    *info = (CUgraphExecUpdateResultInfo){.result = CU_GRAPH_EXEC_UPDATE_SUCCESS};
    const fake_node_t *a = e->head, *b = g->head;
    while (a && b && a->kind == b->kind)
        a = a->next, b = b->next;
    fake_node_t *nodes = NULL;
    if (a || b) {
        info->result = CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED;
        info->errorNode = (CUgraphNode)b;
        rc = CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE;
    } else if ((rc = fake_clone(g->head, &nodes)) == CUDA_SUCCESS) {
        fake_nodes_free(e->head);
        e->head = nodes;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuGraphConditionalHandleCreate(CUgraphConditionalHandle *h, CUgraph g, CUcontext ctx,
                                                    unsigned value, unsigned flags)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!h || !rm_fake_set_has(&rm_fake_state.graphs, g) ||
                               (flags & ~(unsigned)CU_GRAPH_COND_ASSIGN_DEFAULT)))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && fake_nconds == MAX_COND_HANDLES)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS) {
        fake_conds[fake_nconds] = value;
        *h = ++fake_nconds;
    }
    return rm_fake_leave(rc);
}

/* Conditional nodes only (the server makes the other kinds with their own calls). */
static CUresult fake_cuGraphAddNode_v2(CUgraphNode *ph, CUgraph g, const CUgraphNode *deps,
                                       const CUgraphEdgeData *edges, size_t n, CUgraphNodeParams *p)
{
    CUresult rc = fake_enter_graph(g, deps, n, ph);
    CUDA_CONDITIONAL_NODE_PARAMS *c = p ? &p->conditional : NULL;
    if (rc == CUDA_SUCCESS && (!p || p->type != CU_GRAPH_NODE_TYPE_CONDITIONAL || edges))
        rc = CUDA_ERROR_NOT_SUPPORTED;
    if (rc == CUDA_SUCCESS && (c->handle == 0 || c->handle > fake_nconds || c->size == 0 ||
                               c->size > MAX_BODIES || c->type > CU_GRAPH_COND_TYPE_SWITCH ||
                               (c->type != CU_GRAPH_COND_TYPE_SWITCH && c->size > 2)))
        rc = CUDA_ERROR_INVALID_VALUE;
    fake_node_t *node = rc == CUDA_SUCCESS ? calloc(1, sizeof *node) : NULL;
    if (rc == CUDA_SUCCESS && !node)
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc == CUDA_SUCCESS) {
        node->kind = NODE_COND;
        node->u.cond.handle = c->handle, node->u.cond.type = c->type, node->u.cond.size = c->size;
        for (unsigned i = 0; i < c->size && rc == CUDA_SUCCESS; i++)
            if (!(node->u.cond.body[i] = rm_fake_graph_new()))
                rc = CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (rc == CUDA_SUCCESS) { /* made here, not copied: the node keeps its body graphs */
        *g->tail = node;
        g->tail = &node->next;
        c->phGraph_out = node->u.cond.body;
        *ph = node;
    } else if (node)
        fake_nodes_free(node);
    return rm_fake_leave(rc);
}

void rm_fake_fill_graph(rm_backend_t *out)
{
    out->cuGraphConditionalHandleCreate = fake_cuGraphConditionalHandleCreate;
    out->cuGraphAddNode_v2 = fake_cuGraphAddNode_v2;
    out->cuGraphKernelNodeSetParams_v2 = fake_cuGraphKernelNodeSetParams_v2;
    out->cuGraphExecKernelNodeSetParams_v2 = fake_cuGraphExecKernelNodeSetParams_v2;
    out->cuGraphExecUpdate_v2 = fake_cuGraphExecUpdate_v2;
    out->cuGraphAddMemAllocNode = fake_cuGraphAddMemAllocNode;
    out->cuGraphAddMemFreeNode = fake_cuGraphAddMemFreeNode;
    out->cuGraphAddHostNode = fake_cuGraphAddHostNode;
    out->cuGraphAddEventRecordNode = fake_cuGraphAddEventRecordNode;
    out->cuGraphAddEventWaitNode = fake_cuGraphAddEventWaitNode;
    out->cuGraphAddChildGraphNode = fake_cuGraphAddChildGraphNode;
    out->cuGraphCreate = fake_cuGraphCreate;
    out->cuGraphDestroy = fake_cuGraphDestroy;
    out->cuGraphInstantiateWithFlags = fake_cuGraphInstantiateWithFlags;
    out->cuGraphExecDestroy = fake_cuGraphExecDestroy;
    out->cuGraphLaunch = fake_cuGraphLaunch;
    out->cuGraphUpload = fake_cuGraphUpload;
    out->cuGraphAddEmptyNode = fake_cuGraphAddEmptyNode;
    out->cuGraphAddKernelNode_v2 = fake_cuGraphAddKernelNode_v2;
    out->cuGraphAddMemsetNode = fake_cuGraphAddMemsetNode;
    out->cuGraphAddMemcpyNode = fake_cuGraphAddMemcpyNode;
    out->cuGraphGetNodes = fake_cuGraphGetNodes;
    out->cuGraphNodeGetType = fake_cuGraphNodeGetType;
}
