/* CUDA arrays through the runtime: a 2D array filled from pitched host rows
 * at an offset and read back, a 3D array filled from a pitched device
 * buffer and copied out to the host and to another array, the descriptor
 * the runtime reports, and a copy that does not fit refused. */
#include "rt.h"

enum { W = 61, H = 37, D = 5 };

static unsigned checksum(const float *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned)(p[i] * 8.0f)) * 16777619u;
    return h;
}

int main()
{
    cudaChannelFormatDesc f = cudaCreateChannelDesc<float>();
    static float host[H][W + 3], back[H][W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W + 3; x++)
            host[y][x] = (float)(y * 100 + x);

    cudaArray_t a2;
    RT_CHECK(cudaMallocArray(&a2, &f, W, H));
    /* rows 2.. of the array from host rows 0.., 3 columns in */
    RT_CHECK(cudaMemcpy2DToArray(a2, 4 * sizeof(float), 2, &host[0][3], sizeof host[0],
                                 (W - 4) * sizeof(float), H - 2, cudaMemcpyHostToDevice));
    RT_CHECK(cudaMemcpy2DFromArray(back, sizeof back[0], a2, 0, 0, W * sizeof(float), H,
                                   cudaMemcpyDeviceToHost));
    RT_EXPECT(back[2][4] == host[0][3] && back[H - 1][W - 1] == host[H - 3][W - 2] && back[0][0] == 0.0f);
    printf("2D array: %g %g, checksum %08x\n", back[2][4], back[H - 1][W - 1], checksum(&back[0][0], W * H));

    cudaChannelFormatDesc got;
    cudaExtent extent;
    unsigned flags = 0;
    RT_CHECK(cudaArrayGetInfo(&got, &extent, &flags, a2));
    printf("info: %d bits x %d, %zu x %zu x %zu, flags %u\n", got.x, got.f, extent.width, extent.height,
           extent.depth, flags);

    /* 3D: device (pitched) -> array -> array -> host */
    cudaExtent e3 = make_cudaExtent(W, H, D);
    cudaPitchedPtr dev;
    RT_CHECK(cudaMalloc3D(&dev, make_cudaExtent(W * sizeof(float), H, D)));
    static float vol[D][H][W], out[D][H][W];
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                vol[z][y][x] = (float)(z * 10000 + y * 100 + x);
    cudaMemcpy3DParms up = {};
    up.srcPtr = make_cudaPitchedPtr(vol, W * sizeof(float), W, H);
    up.dstPtr = dev;
    up.extent = make_cudaExtent(W * sizeof(float), H, D);
    up.kind = cudaMemcpyHostToDevice;
    RT_CHECK(cudaMemcpy3D(&up));
    cudaArray_t a3, b3;
    RT_CHECK(cudaMalloc3DArray(&a3, &f, e3));
    RT_CHECK(cudaMalloc3DArray(&b3, &f, e3));
    cudaMemcpy3DParms in = {};
    in.srcPtr = dev;
    in.dstArray = a3;
    in.extent = e3;
    in.kind = cudaMemcpyDeviceToDevice;
    RT_CHECK(cudaMemcpy3D(&in));
    cudaMemcpy3DParms across = {};
    across.srcArray = a3;
    across.dstArray = b3;
    across.extent = e3;
    across.kind = cudaMemcpyDeviceToDevice;
    RT_CHECK(cudaMemcpy3D(&across));
    cudaMemcpy3DParms down = {};
    down.srcArray = b3;
    down.dstPtr = make_cudaPitchedPtr(out, W * sizeof(float), W, H);
    down.extent = e3;
    down.kind = cudaMemcpyDeviceToHost;
    RT_CHECK(cudaMemcpy3D(&down));
    RT_EXPECT(out[D - 1][H - 1][W - 1] == vol[D - 1][H - 1][W - 1] && out[1][2][3] == vol[1][2][3]);
    printf("3D array: %g, checksum %08x\n", out[D - 1][H - 1][W - 1], checksum(&out[0][0][0], W * H * D));

    /* a box one row too tall for the array */
    RT_EXPECT(cudaMemcpy2DToArray(a2, 0, 1, &host[0][0], sizeof host[0], W * sizeof(float), H,
                                  cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
    (void)cudaGetLastError();
    printf("too tall a copy refused\n");

    RT_CHECK(cudaFreeArray(a2));
    RT_CHECK(cudaFreeArray(a3));
    RT_CHECK(cudaFreeArray(b3));
    RT_CHECK(cudaFree(dev.ptr));
    printf("PASS rt_arrays\n");
    return 0;
}
