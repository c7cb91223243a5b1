/* CUDA graphs from stream capture: memsets, device copies and kernels
 * captured once and replayed; capture status; an illegal call during a
 * capture invalidates it; an empty graph made with the graph API. */
#include "rt.h"

int main()
{
    const int count = 4096;
    const size_t bytes = count * sizeof(float);
    cudaStream_t s;
    RT_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    float *a, *b;
    RT_CHECK(cudaMalloc(&a, bytes));
    RT_CHECK(cudaMalloc(&b, bytes));
    int zero = 0;
    RT_CHECK(cudaMemcpyToSymbol(rm_counter, &zero, sizeof zero));

    cudaStreamCaptureStatus st;
    RT_CHECK(cudaStreamIsCapturing(s, &st));
    RT_EXPECT(st == cudaStreamCaptureStatusNone);
    RT_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    RT_CHECK(cudaStreamIsCapturing(s, &st));
    RT_EXPECT(st == cudaStreamCaptureStatusActive);
    unsigned long long id = 0;
    RT_CHECK(cudaStreamGetCaptureInfo(s, &st, &id));
    RT_EXPECT(st == cudaStreamCaptureStatusActive && id != 0);
    /* a = 0; a = fill(3); a *= 2; b = a; counter += 5 */
    RT_CHECK(cudaMemsetAsync(a, 0, bytes, s));
    rm_fill_u32<<<8, 128, 0, s>>>((unsigned int *)a, 0x40400000u /* 3.0f */, count);
    rm_scale_f32<<<8, 128, 0, s>>>(a, 2.0f, count);
    RT_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
    rm_add_counter<<<1, 1, 0, s>>>(5);
    cudaGraph_t graph;
    RT_CHECK(cudaStreamEndCapture(s, &graph));
    RT_CHECK(cudaStreamIsCapturing(s, &st));
    RT_EXPECT(st == cudaStreamCaptureStatusNone);

    /* nothing ran while capturing */
    int counter = -1;
    RT_CHECK(cudaMemcpyFromSymbol(&counter, rm_counter, sizeof counter));
    RT_EXPECT(counter == 0);

    cudaGraphExec_t exec;
    RT_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    RT_CHECK(cudaGraphUpload(exec, s));
    for (int i = 0; i < 3; i++)
        RT_CHECK(cudaGraphLaunch(exec, s));
    RT_CHECK(cudaStreamSynchronize(s));
    float hb[4];
    RT_CHECK(cudaMemcpy(hb, b + count - 4, sizeof hb, cudaMemcpyDeviceToHost));
    RT_CHECK(cudaMemcpyFromSymbol(&counter, rm_counter, sizeof counter));
    RT_EXPECT(hb[0] == 6.0f && hb[3] == 6.0f);
    RT_EXPECT(counter == 15);
    printf("graph: 3 launches, b = %g, counter = %d\n", hb[0], counter);

    /* waiting for a stream under capture is illegal and invalidates it */
    RT_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
    RT_CHECK(cudaMemsetAsync(a, 1, bytes, s));
    cudaError_t e = cudaStreamSynchronize(s);
    printf("synchronize during capture: %s\n", cudaGetErrorName(e));
    RT_EXPECT(e != cudaSuccess);
    cudaGraph_t broken = nullptr;
    e = cudaStreamEndCapture(s, &broken);
    printf("end of an invalidated capture: %s\n", cudaGetErrorName(e));
    RT_EXPECT(e == cudaErrorStreamCaptureInvalidated);
    (void)cudaGetLastError();

    /* an empty graph from the graph API */
    cudaGraph_t empty;
    cudaGraphExec_t empty_exec;
    RT_CHECK(cudaGraphCreate(&empty, 0));
    RT_CHECK(cudaGraphInstantiate(&empty_exec, empty, 0));
    RT_CHECK(cudaGraphLaunch(empty_exec, s));
    RT_CHECK(cudaStreamSynchronize(s));

    RT_CHECK(cudaGraphExecDestroy(empty_exec));
    RT_CHECK(cudaGraphDestroy(empty));
    RT_CHECK(cudaGraphExecDestroy(exec));
    RT_CHECK(cudaGraphDestroy(graph));
    RT_CHECK(cudaStreamDestroy(s));
    RT_CHECK(cudaFree(a));
    RT_CHECK(cudaFree(b));
    printf("PASS rt_graphs\n");
    return 0;
}
