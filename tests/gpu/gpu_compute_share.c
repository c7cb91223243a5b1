/* GPU: a kernel loop that reports its own throughput, for the compute-share
 * runs of tests/gpu/compute_share.sh. rm_spin kernels that fill the GPU
 * (4 blocks of 256 threads per SM, the same work each) are launched back to
 * back, at most RM_SPIN_DEPTH (default 4) in flight, for RM_SPIN_SECONDS
 * (default 1) after a warm-up of half a second; then the kernels completed
 * per second and the mean time one took by events (which, on a shared GPU,
 * includes the time others ran) go on '#' lines:
 *   # rate KERNELS_PER_S kernels/s
 *   # kernel_ms MS
 * The share of the GPU a session got is its rate over the rate of a session
 * alone. RM_SPIN_WORK sets rm_spin's n (default 64 on a GPU; on the fake
 * backend microseconds, default 1000). stdout otherwise holds only the
 * PASS line, identical natively and through remora. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_DEPTH 64

static double env_number(const char *name, double def)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : def;
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    rm_test_init(&dev, &ctx);
    rm_test_load_kernels(&mod);
    CUfunction spin = rm_test_function(mod, "rm_spin");
    int sms = 0;
    CK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
    int work = (int)env_number("RM_SPIN_WORK", rm_test_is_fake() ? 1000 : 64);
    int depth = (int)env_number("RM_SPIN_DEPTH", 4);
    double seconds = env_number("RM_SPIN_SECONDS", 1);
    RM_EXPECT(depth >= 1 && depth <= MAX_DEPTH && seconds > 0 && work >= 0, "bad RM_SPIN_* values");
    CUevent start[MAX_DEPTH], end[MAX_DEPTH];
    for (int i = 0; i < depth; i++) {
        CK(cuEventCreate(&start[i], CU_EVENT_DEFAULT));
        CK(cuEventCreate(&end[i], CU_EVENT_DEFAULT));
    }
    void *params[] = {&work};
    double t0 = rm_now_us(), warm = t0 + 0.5e6, stop = warm + seconds * 1e6, counted_from = 0, kernel_ms = 0;
    long launched = 0, counted = 0;
    for (;;) {
        int slot = (int)(launched % depth);
        if (launched >= depth) { /* the oldest in flight is done before its slot is reused */
            CK(cuEventSynchronize(end[slot]));
            double now = rm_now_us();
            if (now >= stop)
                break;
            if (now >= warm) {
                float ms = 0;
                CK(cuEventElapsedTime(&ms, start[slot], end[slot]));
                if (!counted++)
                    counted_from = now;
                kernel_ms += ms;
            }
        }
        CK(cuEventRecord(start[slot], NULL));
        CK(cuLaunchKernel(spin, (unsigned)sms * 4, 1, 1, 256, 1, 1, 0, NULL, params, NULL));
        CK(cuEventRecord(end[slot], NULL));
        launched++;
    }
    CK(cuCtxSynchronize());
    double span = (rm_now_us() - counted_from) / 1e6;
    RM_EXPECT(counted > 1, "no kernel completed in the measured time");
    printf("# rate %.2f kernels/s\n", (double)(counted - 1) / span);
    printf("# kernel_ms %.4f\n", kernel_ms / (double)counted);
    for (int i = 0; i < depth; i++) {
        CK(cuEventDestroy(start[i]));
        CK(cuEventDestroy(end[i]));
    }
    rm_pass("gpu_compute_share");
    return 0;
}
