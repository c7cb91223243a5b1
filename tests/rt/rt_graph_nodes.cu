/* Graph nodes beyond kernels, memsets and copies: host nodes (made with the
 * graph API, and host functions captured from a stream) that run in this
 * process each time their graph runs, in order with each other and before
 * the nodes after them; event record and wait nodes; a child graph node;
 * memory alloc and free nodes; conditional nodes (if, with both bodies, by
 * their handles' default values). */
#include "rt.h"

typedef struct {
    int id, count;
} step_t;

static int runs;     /* host functions run so far */
static int order[8]; /* the id of each run */

static void CUDART_CB host_step(void *arg)
{
    step_t *step = (step_t *)arg;
    if (runs < 8)
        order[runs] = step->id;
    runs++;
    step->count++;
}

int main()
{
    const int count = 1 << 12;
    const size_t bytes = count * sizeof(float);
    float *a, *b;
    RT_CHECK(cudaMalloc(&a, bytes));
    RT_CHECK(cudaMalloc(&b, bytes));
    cudaStream_t s, other;
    RT_CHECK(cudaStreamCreate(&s));
    RT_CHECK(cudaStreamCreate(&other));
    int n = count;

    /* A child graph: fill a with 2, then scale it by 5. */
    cudaGraph_t child;
    RT_CHECK(cudaGraphCreate(&child, 0));
    cudaGraphNode_t fill, scale;
    cudaMemsetParams ms = {};
    ms.dst = a;
    ms.value = 0x40000000u; /* 2.0f */
    ms.elementSize = 4;
    ms.width = count;
    ms.height = 1;
    RT_CHECK(cudaGraphAddMemsetNode(&fill, child, nullptr, 0, &ms));
    float factor = 5.0f;
    void *args[] = {&a, &factor, &n};
    cudaKernelNodeParams kp = {};
    kp.func = (void *)rm_scale_f32;
    kp.gridDim = dim3(8);
    kp.blockDim = dim3(128);
    kp.kernelParams = args;
    RT_CHECK(cudaGraphAddKernelNode(&scale, child, &fill, 1, &kp));

    /* The parent: child -> copy a to b -> host node -> event record. */
    cudaEvent_t done;
    RT_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    step_t node_step = {1, 0};
    cudaGraph_t g;
    RT_CHECK(cudaGraphCreate(&g, 0));
    cudaGraphNode_t sub, copy, host, record;
    RT_CHECK(cudaGraphAddChildGraphNode(&sub, g, nullptr, 0, child));
    RT_CHECK(cudaGraphDestroy(child)); /* the node has its own copy */
    RT_CHECK(cudaGraphAddMemcpyNode1D(&copy, g, &sub, 1, b, a, bytes, cudaMemcpyDeviceToDevice));
    cudaHostNodeParams hp = {};
    hp.fn = host_step;
    hp.userData = &node_step;
    RT_CHECK(cudaGraphAddHostNode(&host, g, &copy, 1, &hp));
    RT_CHECK(cudaGraphAddEventRecordNode(&record, g, &host, 1, done));
    const cudaGraphNode_t made[] = {sub, copy, host, record};
    for (cudaGraphNode_t m : made) {
        cudaGraphNodeType t;
        RT_CHECK(cudaGraphNodeGetType(m, &t));
        printf("node type %d\n", (int)t);
    }

    cudaGraphExec_t e;
    RT_CHECK(cudaGraphInstantiate(&e, g, 0));
    RT_EXPECT(runs == 0);
    for (int i = 0; i < 3; i++) {
        RT_CHECK(cudaGraphLaunch(e, s));
        RT_CHECK(cudaEventSynchronize(done)); /* recorded after the host node returned */
        RT_EXPECT(node_step.count == i + 1);
    }
    RT_CHECK(cudaStreamSynchronize(s));
    float h = 0;
    RT_CHECK(cudaMemcpy(&h, b, sizeof h, cudaMemcpyDeviceToHost));
    printf("graph nodes: child graph, copy, host node ran %d times, b = %g\n", node_step.count, h);

    /* A graph that waits for an event recorded on another stream. */
    cudaGraph_t w;
    RT_CHECK(cudaGraphCreate(&w, 0));
    cudaGraphNode_t wait, after;
    RT_CHECK(cudaGraphAddEventWaitNode(&wait, w, nullptr, 0, done));
    RT_CHECK(cudaGraphAddMemcpyNode1D(&after, w, &wait, 1, a, b, bytes, cudaMemcpyDeviceToDevice));
    cudaGraphExec_t we;
    RT_CHECK(cudaGraphInstantiate(&we, w, 0));
    RT_CHECK(cudaMemsetAsync(b, 0, bytes, other));
    RT_CHECK(cudaEventRecord(done, other));
    RT_CHECK(cudaGraphLaunch(we, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_CHECK(cudaMemcpy(&h, a, sizeof h, cudaMemcpyDeviceToHost));
    printf("event wait node: a = %g\n", h);

    /* Host functions captured from a stream run when the graph does, not
     * when captured, in order with the captured kernels. */
    runs = 0;
    step_t first = {2, 0}, second = {3, 0};
    cudaGraph_t cg;
    RT_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    rm_fill_u32<<<4, 128, 0, s>>>((unsigned *)a, 0x40400000u, n); /* 3.0f */
    RT_CHECK(cudaLaunchHostFunc(s, host_step, &first));
    rm_scale_f32<<<4, 128, 0, s>>>(a, 2.0f, n);
    RT_CHECK(cudaLaunchHostFunc(s, host_step, &second));
    RT_CHECK(cudaStreamEndCapture(s, &cg));
    RT_EXPECT(runs == 0);
    size_t nodes = 0;
    RT_CHECK(cudaGraphGetNodes(cg, nullptr, &nodes));
    printf("captured graph: %zu nodes\n", nodes);
    cudaGraphExec_t ce;
    RT_CHECK(cudaGraphInstantiate(&ce, cg, 0));
    for (int i = 0; i < 2; i++) {
        RT_CHECK(cudaGraphLaunch(ce, s));
        RT_CHECK(cudaStreamSynchronize(s));
        RT_EXPECT(first.count == i + 1 && second.count == i + 1);
        RT_EXPECT(order[2 * i] == 2 && order[2 * i + 1] == 3);
    }
    RT_CHECK(cudaMemcpy(&h, a, sizeof h, cudaMemcpyDeviceToHost));
    printf("captured host functions: ran %d and %d times in order, a = %g\n", first.count, second.count, h);

    /* Graph memory: allocated by a node, filled, copied out, freed by a node. */
    cudaGraph_t mg;
    RT_CHECK(cudaGraphCreate(&mg, 0));
    cudaMemAllocNodeParams ap = {};
    ap.poolProps.allocType = cudaMemAllocationTypePinned;
    ap.poolProps.location.type = cudaMemLocationTypeDevice;
    ap.poolProps.location.id = 0;
    ap.bytesize = bytes;
    cudaGraphNode_t alloc, fill2, out, release;
    RT_CHECK(cudaGraphAddMemAllocNode(&alloc, mg, nullptr, 0, &ap));
    RT_EXPECT(ap.dptr != nullptr);
    unsigned value = 0x40e00000u; /* 7.0f */
    void *fill_args[] = {&ap.dptr, &value, &n};
    cudaKernelNodeParams fp = {};
    fp.func = (void *)rm_fill_u32;
    fp.gridDim = dim3(8);
    fp.blockDim = dim3(128);
    fp.kernelParams = fill_args;
    RT_CHECK(cudaGraphAddKernelNode(&fill2, mg, &alloc, 1, &fp));
    RT_CHECK(cudaGraphAddMemcpyNode1D(&out, mg, &fill2, 1, b, ap.dptr, bytes, cudaMemcpyDeviceToDevice));
    RT_CHECK(cudaGraphAddMemFreeNode(&release, mg, &out, 1, ap.dptr));
    cudaGraphNodeType at, ft;
    RT_CHECK(cudaGraphNodeGetType(alloc, &at));
    RT_CHECK(cudaGraphNodeGetType(release, &ft));
    cudaGraphExec_t me;
    RT_CHECK(cudaGraphInstantiate(&me, mg, 0));
    for (int i = 0; i < 2; i++) {
        RT_CHECK(cudaMemsetAsync(b, 0, bytes, s));
        RT_CHECK(cudaGraphLaunch(me, s));
        RT_CHECK(cudaStreamSynchronize(s));
        RT_CHECK(cudaMemcpy(&h, b + count - 1, sizeof h, cudaMemcpyDeviceToHost));
        RT_EXPECT(h == 7.0f);
    }
    printf("memory nodes: types %d %d, b = %g\n", (int)at, (int)ft, h);
    RT_CHECK(cudaGraphExecDestroy(me));
    RT_CHECK(cudaGraphDestroy(mg));

    /* Conditional nodes made with cudaGraphAddNode: an if whose handle is 1
     * runs its first body (b = 8), one whose handle is 0 its second (a = 9). */
    cudaGraph_t cgr;
    RT_CHECK(cudaGraphCreate(&cgr, 0));
    cudaGraphConditionalHandle yes, no;
    RT_CHECK(cudaGraphConditionalHandleCreate(&yes, cgr, 1, cudaGraphCondAssignDefault));
    RT_CHECK(cudaGraphConditionalHandleCreate(&no, cgr, 0, cudaGraphCondAssignDefault));
    cudaGraphNode_t if_yes, if_no, leaf;
    cudaGraphNodeParams cp = {};
    cp.type = cudaGraphNodeTypeConditional;
    cp.conditional.handle = yes;
    cp.conditional.type = cudaGraphCondTypeIf;
    cp.conditional.size = 2;
    RT_CHECK(cudaGraphAddNode(&if_yes, cgr, nullptr, nullptr, 0, &cp));
    cudaGraph_t yes_then = cp.conditional.phGraph_out[0], yes_else = cp.conditional.phGraph_out[1];
    ms.dst = b;
    ms.value = 0x41000000u; /* 8.0f */
    RT_CHECK(cudaGraphAddMemsetNode(&leaf, yes_then, nullptr, 0, &ms));
    ms.value = 0x3f800000u; /* 1.0f: not run */
    RT_CHECK(cudaGraphAddMemsetNode(&leaf, yes_else, nullptr, 0, &ms));
    cp.conditional.handle = no;
    RT_CHECK(cudaGraphAddNode(&if_no, cgr, &if_yes, nullptr, 1, &cp));
    cudaGraph_t no_then = cp.conditional.phGraph_out[0], no_else = cp.conditional.phGraph_out[1];
    ms.dst = a;
    RT_CHECK(cudaGraphAddMemsetNode(&leaf, no_then, nullptr, 0, &ms)); /* 1.0f: not run */
    ms.value = 0x41100000u; /* 9.0f */
    RT_CHECK(cudaGraphAddMemsetNode(&leaf, no_else, nullptr, 0, &ms));
    cudaGraphNodeType ct;
    RT_CHECK(cudaGraphNodeGetType(if_yes, &ct));
    cudaGraphExec_t cge;
    RT_CHECK(cudaGraphInstantiate(&cge, cgr, 0));
    RT_CHECK(cudaMemset(a, 0, bytes));
    RT_CHECK(cudaMemset(b, 0, bytes));
    RT_CHECK(cudaGraphLaunch(cge, s));
    RT_CHECK(cudaStreamSynchronize(s));
    float ha = 0, hb = 0;
    RT_CHECK(cudaMemcpy(&ha, a, sizeof ha, cudaMemcpyDeviceToHost));
    RT_CHECK(cudaMemcpy(&hb, b, sizeof hb, cudaMemcpyDeviceToHost));
    printf("conditional nodes: type %d, a = %g, b = %g\n", (int)ct, ha, hb);
    RT_EXPECT(ha == 9.0f && hb == 8.0f);
    RT_CHECK(cudaGraphExecDestroy(cge));
    RT_CHECK(cudaGraphDestroy(cgr));

    RT_CHECK(cudaGraphExecDestroy(ce));
    RT_CHECK(cudaGraphDestroy(cg));
    RT_CHECK(cudaGraphExecDestroy(we));
    RT_CHECK(cudaGraphDestroy(w));
    RT_CHECK(cudaGraphExecDestroy(e));
    RT_CHECK(cudaGraphDestroy(g));
    RT_CHECK(cudaEventDestroy(done));
    RT_CHECK(cudaStreamDestroy(other));
    RT_CHECK(cudaStreamDestroy(s));
    RT_CHECK(cudaFree(a));
    RT_CHECK(cudaFree(b));
    printf("PASS rt_graph_nodes\n");
    return 0;
}
