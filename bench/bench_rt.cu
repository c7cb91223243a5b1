/* remora benchmark, runtime API: a program built with plain nvcc (NVIDIA's
 * cudart linked statically) measured on whichever libcuda.so.1 the loader
 * finds (bench/run runs it natively and through remora). Prints one
 * "metric value unit" line per measurement, like bench_remora:
 *   rt_startup_first_kernel  process start to the first kernel's completion
 *                            (median of 5 fresh processes: cudart start-up,
 *                            context, module load, launch)
 *   rt_graph_launch          launch + synchronize of a captured 8-kernel graph
 *   rt_host_callback         cudaLaunchHostFunc + synchronize, round trip
 *   rt_nbody                 an all-pairs n-body step, compute bound */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cuda_runtime.h>

extern char **environ;

#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static double now_us()
{
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

__global__ void null_kernel() {}

__global__ void nbody_step(const float4 *pos, float4 *acc, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float4 p = pos[i];
    float ax = 0, ay = 0, az = 0;
    for (int j = 0; j < n; j++) {
        float4 q = pos[j];
        float dx = q.x - p.x, dy = q.y - p.y, dz = q.z - p.z;
        float d2 = dx * dx + dy * dy + dz * dz + 1e-3f;
        float inv = rsqrtf(d2);
        float s = q.w * inv * inv * inv;
        ax += dx * s, ay += dy * s, az += dz * s;
    }
    acc[i] = make_float4(ax, ay, az, 0);
}

/* The child: from main() to the first kernel's completion (the process's
 * own start-up before main is the same natively and through remora). */
static int startup_child()
{
    double t0 = now_us();
    null_kernel<<<1, 1>>>();
    CK(cudaDeviceSynchronize());
    printf("%.3f\n", (now_us() - t0) / 1e3);
    return 0;
}

static void bench_startup(const char *self)
{
    double ms[5];
    for (int i = 0; i < 5; i++) {
        int fds[2];
        if (pipe(fds) != 0)
            exit(1);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        char arg0[] = "bench_rt", arg1[] = "--startup-child";
        char *argv[] = {arg0, arg1, nullptr};
        pid_t pid;
        if (posix_spawn(&pid, self, &fa, nullptr, argv, environ) != 0)
            exit(1);
        close(fds[1]);
        char buf[64] = {0};
        ssize_t got = read(fds[0], buf, sizeof buf - 1);
        close(fds[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "start-up child failed\n");
            exit(1);
        }
        ms[i] = atof(buf);
        posix_spawn_file_actions_destroy(&fa);
    }
    std::sort(ms, ms + 5);
    printf("rt_startup_first_kernel %.3f ms\n", ms[2]);
}

static void bench_graph(cudaStream_t s)
{
    cudaGraph_t g;
    cudaGraphExec_t e;
    CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    for (int i = 0; i < 8; i++)
        null_kernel<<<1, 1, 0, s>>>();
    CK(cudaStreamEndCapture(s, &g));
    CK(cudaGraphInstantiate(&e, g, 0));
    for (int i = 0; i < 100; i++)
        CK(cudaGraphLaunch(e, s));
    CK(cudaStreamSynchronize(s));
    const int iters = 2000;
    double t0 = now_us();
    for (int i = 0; i < iters; i++) {
        CK(cudaGraphLaunch(e, s));
        CK(cudaStreamSynchronize(s));
    }
    printf("rt_graph_launch %.3f us\n", (now_us() - t0) / iters);
    CK(cudaGraphExecDestroy(e));
    CK(cudaGraphDestroy(g));
}

static void CUDART_CB count_call(void *p) { ++*(int *)p; }

static void bench_host_callback(cudaStream_t s)
{
    int calls = 0;
    const int iters = 500;
    CK(cudaLaunchHostFunc(s, count_call, &calls));
    CK(cudaStreamSynchronize(s));
    double t0 = now_us();
    for (int i = 0; i < iters; i++) {
        CK(cudaLaunchHostFunc(s, count_call, &calls));
        CK(cudaStreamSynchronize(s));
    }
    double us = (now_us() - t0) / iters;
    if (calls != iters + 1) {
        fprintf(stderr, "host callbacks ran %d times, want %d\n", calls, iters + 1);
        exit(1);
    }
    printf("rt_host_callback %.3f us\n", us);
}

static void bench_nbody(cudaStream_t s)
{
    const int n = 32768, steps = 10;
    float4 *pos, *acc;
    float4 *h = (float4 *)malloc(n * sizeof(float4));
    for (int i = 0; i < n; i++)
        h[i] = make_float4((float)(i % 97), (float)(i % 89), (float)(i % 83), 1.0f);
    CK(cudaMalloc(&pos, n * sizeof(float4)));
    CK(cudaMalloc(&acc, n * sizeof(float4)));
    CK(cudaMemcpy(pos, h, n * sizeof(float4), cudaMemcpyHostToDevice));
    nbody_step<<<(n + 255) / 256, 256, 0, s>>>(pos, acc, n);
    CK(cudaStreamSynchronize(s));
    double t0 = now_us();
    for (int i = 0; i < steps; i++)
        nbody_step<<<(n + 255) / 256, 256, 0, s>>>(pos, acc, n);
    CK(cudaStreamSynchronize(s));
    double us = now_us() - t0;
    const double flops = 20.0 * n * (double)n * steps; /* the usual 20 per interaction */
    printf("rt_nbody %.3f GFLOP/s\n", flops / us / 1e3);
    CK(cudaMemcpy(h, acc, sizeof(float4), cudaMemcpyDeviceToHost));
    printf("# nbody acc[0].x %g\n", h[0].x);
    CK(cudaFree(pos));
    CK(cudaFree(acc));
    free(h);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--startup-child") == 0)
        return startup_child();
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    bench_startup(self);
    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    bench_graph(s);
    bench_host_callback(s);
    bench_nbody(s);
    CK(cudaStreamDestroy(s));
    return 0;
}
