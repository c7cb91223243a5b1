/* Cooperative launch, cache configuration, peer queries, stream memory
 * operations and a tensor map, through the runtime and the driver API. */
#include <string.h>

#include "rt.h"

int main()
{
    const int count = 4096;
    unsigned int *d;
    RT_CHECK(cudaMalloc(&d, count * sizeof *d));
    cudaStream_t s;
    RT_CHECK(cudaStreamCreate(&s));

    /* cooperative launch */
    unsigned int *p = d;
    unsigned int v = 77u;
    int n = count;
    void *args[] = {&p, &v, &n};
    RT_CHECK(cudaLaunchCooperativeKernel((void *)rm_fill_u32, dim3(4), dim3(128), args, 0, s));
    unsigned int last = 0;
    RT_CHECK(cudaMemcpyAsync(&last, d + count - 1, 4, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT(last == 77u);
    printf("cooperative launch: %u\n", last);

    /* cache configuration */
    cudaFuncCache cfg;
    RT_CHECK(cudaDeviceSetCacheConfig(cudaFuncCachePreferShared));
    RT_CHECK(cudaDeviceGetCacheConfig(&cfg));
    printf("cache config %d\n", (int)cfg);

    /* peers: a device is not its own peer */
    int can = -1;
    RT_CHECK(cudaDeviceCanAccessPeer(&can, 0, 0));
    printf("device 0 peer of itself: %d\n", can);

    /* stream memory operations */
    CUstream cs = (CUstream)s;
    CUdeviceptr word = (CUdeviceptr)d;
    CU_CHECK(cuStreamWriteValue32(cs, word, 0x1234u, CU_STREAM_WRITE_VALUE_DEFAULT));
    CU_CHECK(cuStreamWaitValue32(cs, word, 0x1234u, CU_STREAM_WAIT_VALUE_EQ));
    CU_CHECK(cuStreamWriteValue64(cs, word + 8, 0x1122334455667788ull, CU_STREAM_WRITE_VALUE_DEFAULT));
    CU_CHECK(cuStreamWaitValue64(cs, word + 8, 0x1122334455667788ull, CU_STREAM_WAIT_VALUE_GEQ));
    unsigned long long both[2] = {0, 0};
    RT_CHECK(cudaMemcpyAsync(both, d, sizeof both, cudaMemcpyDeviceToHost, s));
    RT_CHECK(cudaStreamSynchronize(s));
    RT_EXPECT((both[0] & 0xffffffffull) == 0x1234u && both[1] == 0x1122334455667788ull);
    printf("stream memory operations: %#llx %#llx\n", both[0] & 0xffffffffull, both[1]);

    /* a 2D tensor map over the allocation */
    CUtensorMap map;
    cuuint64_t dims[2] = {64, 64}, strides[1] = {64 * sizeof(float)};
    cuuint32_t box[2] = {16, 16}, estrides[2] = {1, 1};
    CU_CHECK(cuTensorMapEncodeTiled(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, d, dims, strides, box, estrides,
                                    CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                    CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
    unsigned long long sum = 0;
    for (int i = 0; i < 16; i++)
        sum = sum * 31 + map.opaque[i];
    printf("# tensor map checksum %#llx\n", sum);

    /* an im2col map over an NHWC tensor (16 channels, 8x8 pixels) in the same
     * allocation; moving it to another address gives what encoding it there does */
    CUtensorMap im2col, moved, fresh;
    cuuint64_t nhwc[4] = {16, 8, 8, 1}, nhwc_strides[3] = {16 * 4, 16 * 4 * 8, 16 * 4 * 8 * 8};
    cuuint32_t ones[4] = {1, 1, 1, 1};
    int lower[2] = {-1, -1}, upper[2] = {1, 1};
    CU_CHECK(cuTensorMapEncodeIm2col(&im2col, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, d, nhwc, nhwc_strides, lower, upper,
                                     16, 8, ones, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                     CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
    moved = im2col;
    char *elsewhere = (char *)d + 4096;
    CU_CHECK(cuTensorMapReplaceAddress(&moved, elsewhere));
    CU_CHECK(cuTensorMapEncodeIm2col(&fresh, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, elsewhere, nhwc, nhwc_strides, lower,
                                     upper, 16, 8, ones, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                     CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
    RT_EXPECT(memcmp(&moved, &fresh, sizeof moved) == 0 && memcmp(&moved, &im2col, sizeof moved) != 0);
    printf("im2col tensor map: encoded, and moved to another address as encoding it there\n");
    CUtensorMap wide;
    CUresult w = cuTensorMapEncodeIm2colWide(&wide, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, d, nhwc, nhwc_strides, -1, 1, 16,
                                             8, ones, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_IM2COL_WIDE_MODE_W,
                                             CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_NONE,
                                             CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    printf("# im2col wide tensor map: %d (the device may not have them)\n", (int)w);

    RT_CHECK(cudaStreamDestroy(s));
    RT_CHECK(cudaFree(d));
    /* the calling thread's capture mode, as libraries save and restore it */
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    RT_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
    cudaStreamCaptureMode back = mode;
    RT_CHECK(cudaThreadExchangeStreamCaptureMode(&back));
    printf("capture mode was %d, then %d\n", (int)mode, (int)back);
    printf("PASS rt_misc\n");
    return 0;
}
