/* IPC between two client processes through the runtime: the parent fills
 * device memory with a kernel, records an interprocess event after it and
 * starts a child (a new program, so a new CUDA client: through remora a
 * session of its own) that opens both, orders its own kernel after the
 * parent's event, doubles the values in place and checks them; the parent
 * then reads the child's values. GPU only: the fake backend's sessions
 * share no memory (tests/CMakeLists.txt keeps it out of the e2e tests). */
#include "rt.h"
#include "../common/child.h"

#include <cstring>

enum { N = 1 << 20 };

static int child(const char *mem_hex, const char *event_hex)
{
    cudaIpcMemHandle_t mh;
    cudaIpcEventHandle_t eh;
    RT_EXPECT(rm_from_hex(mem_hex, &mh, sizeof mh) && rm_from_hex(event_hex, &eh, sizeof eh));
    float *d;
    cudaEvent_t filled;
    cudaStream_t s;
    RT_CHECK(cudaIpcOpenMemHandle((void **)&d, mh, cudaIpcMemLazyEnablePeerAccess));
    RT_CHECK(cudaIpcOpenEventHandle(&filled, eh));
    RT_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    RT_CHECK(cudaStreamWaitEvent(s, filled, 0));
    rm_scale_f32<<<64, 256, 0, s>>>(d, 2.0f, N);
    RT_CHECK(cudaGetLastError());
    float first = 0, last = 0;
    RT_CHECK(cudaMemcpyAsync(&first, d, sizeof first, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaMemcpyAsync(&last, d + N - 1, sizeof last, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(first == 3.0f && last == 3.0f);
    RT_CHECK(cudaIpcCloseMemHandle(d));
    RT_CHECK(cudaEventDestroy(filled));
    RT_CHECK(cudaStreamDestroy(s));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argv[3]);
    float *d;
    cudaEvent_t filled;
    RT_CHECK(cudaMalloc(&d, N * sizeof(float)));
    RT_CHECK(cudaMemset(d, 0, N * sizeof(float)));
    RT_CHECK(cudaEventCreateWithFlags(&filled, cudaEventInterprocess | cudaEventDisableTiming));
    /* 1.5f, as 0x3fc00000 */
    rm_fill_u32<<<64, 256>>>((unsigned *)d, 0x3fc00000u, N);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaEventRecord(filled, 0));
    cudaIpcMemHandle_t mh;
    cudaIpcEventHandle_t eh;
    RT_CHECK(cudaIpcGetMemHandle(&mh, d));
    RT_CHECK(cudaIpcGetEventHandle(&eh, filled));
    char mem_hex[2 * sizeof mh + 1], event_hex[2 * sizeof eh + 1];
    rm_to_hex(&mh, sizeof mh, mem_hex);
    rm_to_hex(&eh, sizeof eh, event_hex);

    RT_EXPECT(rm_run_child(mem_hex, event_hex) == 0);
    float *host = (float *)malloc(N * sizeof(float));
    RT_CHECK(cudaMemcpy(host, d, N * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < N; i++)
        RT_EXPECT(host[i] == 3.0f);
    printf("ipc: the child waited for the parent's kernel and doubled its %d values to %g\n", N, host[0]);
    free(host);
    RT_CHECK(cudaEventDestroy(filled));
    RT_CHECK(cudaFree(d));
    printf("PASS rt_ipc\n");
    return 0;
}
