/* Graphs built with the graph API: an empty root, a memset, a kernel and a
 * device-to-device copy node with dependencies between them, instantiated
 * and launched repeatedly; new kernel parameters for the instantiated graph
 * and for the graph, taken by an update; an update that cannot be made. */
#include "rt.h"

int main()
{
    const int count = 1 << 14;
    const size_t bytes = count * sizeof(float);
    float *a, *b;
    RT_CHECK(cudaMalloc(&a, bytes));
    RT_CHECK(cudaMalloc(&b, bytes));
    cudaStream_t s;
    RT_CHECK(cudaStreamCreate(&s));

    cudaGraph_t g;
    RT_CHECK(cudaGraphCreate(&g, 0));
    cudaGraphNode_t root, fill, scale, copy;
    RT_CHECK(cudaGraphAddEmptyNode(&root, g, nullptr, 0));

    cudaMemsetParams ms = {};
    ms.dst = a;
    ms.value = 0x3f800000u; /* 1.0f */
    ms.elementSize = 4;
    ms.width = count;
    ms.height = 1;
    RT_CHECK(cudaGraphAddMemsetNode(&fill, g, &root, 1, &ms));

    float factor = 3.0f;
    int n = count;
    void *args[] = {&a, &factor, &n};
    cudaKernelNodeParams kp = {};
    kp.func = (void *)rm_scale_f32;
    kp.gridDim = dim3(16);
    kp.blockDim = dim3(128);
    kp.kernelParams = args;
    RT_CHECK(cudaGraphAddKernelNode(&scale, g, &fill, 1, &kp));
    factor = 100.0f; /* the node keeps the value it was given */

    RT_CHECK(cudaGraphAddMemcpyNode1D(&copy, g, &scale, 1, b, a, bytes, cudaMemcpyDeviceToDevice));

    /* the graph's nodes, as the handles the calls above returned, and their types */
    size_t nodes = 0;
    RT_CHECK(cudaGraphGetNodes(g, nullptr, &nodes));
    RT_EXPECT(nodes == 4);
    cudaGraphNode_t listed[6];
    size_t room = 6;
    RT_CHECK(cudaGraphGetNodes(g, listed, &room));
    RT_EXPECT(room == 4 && listed[4] == nullptr && listed[5] == nullptr);
    const cudaGraphNode_t made[] = {root, fill, scale, copy};
    for (cudaGraphNode_t m : made) {
        bool found = false;
        for (size_t i = 0; i < 4; i++)
            found = found || listed[i] == m;
        RT_EXPECT(found);
    }
    cudaGraphNodeType types[4];
    for (int i = 0; i < 4; i++)
        RT_CHECK(cudaGraphNodeGetType(made[i], &types[i]));
    printf("node types %d %d %d %d\n", (int)types[0], (int)types[1], (int)types[2], (int)types[3]);

    cudaGraphExec_t e;
    RT_CHECK(cudaGraphInstantiate(&e, g, 0));
    float h[2] = {0, 0};
    for (int i = 0; i < 3; i++) {
        RT_CHECK(cudaMemsetAsync(b, 0, bytes, s));
        RT_CHECK(cudaGraphLaunch(e, s));
        RT_CHECK(cudaMemcpyAsync(h, b, sizeof h, cudaMemcpyDeviceToHost, s));
        RT_CHECK(cudaStreamSynchronize(s));
        RT_EXPECT(h[0] == 3.0f && h[1] == 3.0f);
    }
    printf("graph API: memset, kernel, copy: b = %g\n", h[0]);

    float factor4 = 4.0f;
    void *args4[] = {&a, &factor4, &n};
    kp.kernelParams = args4;
    RT_CHECK(cudaGraphExecKernelNodeSetParams(e, scale, &kp));
    RT_CHECK(cudaGraphLaunch(e, s));
    RT_CHECK(cudaMemcpyAsync(h, b, sizeof h, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(h[0] == 4.0f);
    float factor6 = 6.0f;
    void *args6[] = {&a, &factor6, &n};
    kp.kernelParams = args6;
    RT_CHECK(cudaGraphKernelNodeSetParams(scale, &kp));
    cudaGraphExecUpdateResultInfo info;
    RT_CHECK(cudaGraphExecUpdate(e, g, &info));
    RT_EXPECT(info.result == cudaGraphExecUpdateSuccess);
    RT_CHECK(cudaGraphLaunch(e, s));
    RT_CHECK(cudaMemcpyAsync(h, b, sizeof h, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(h[0] == 6.0f);
    printf("kernel node parameters: exec %g, then graph and update %g\n", 4.0f, h[0]);

    cudaGraphNode_t extra;
    RT_CHECK(cudaGraphAddEmptyNode(&extra, g, &copy, 1));
    cudaError_t u = cudaGraphExecUpdate(e, g, &info);
    printf("update after a node was added: %s, result %d\n", cudaGetErrorName(u), (int)info.result);
    RT_EXPECT(u == cudaErrorGraphExecUpdateFailure && info.result != cudaGraphExecUpdateSuccess);
    (void)cudaGetLastError();

    RT_CHECK(cudaGraphExecDestroy(e));
    RT_CHECK(cudaGraphDestroy(g));
    RT_CHECK(cudaStreamDestroy(s));
    RT_CHECK(cudaFree(a));
    RT_CHECK(cudaFree(b));
    printf("PASS rt_graph_api\n");
    return 0;
}
