/* Queries the runtime answers through the driver: occupancy, function
 * attributes and names, stream and context identities, device flags. */
#include <cstring>

#include "rt.h"

int main()
{
    int blocks = -1;
    RT_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, rm_vector_add, 256, 0));
    RT_EXPECT(blocks > 0);
    printf("occupancy rm_vector_add, 256 threads: %d blocks per SM\n", blocks);
    RT_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, rm_scale_f32, 1024, 4096,
                                                                    cudaOccupancyDisableCachingOverride));
    printf("occupancy rm_scale_f32, 1024 threads, 4 KiB: %d\n", blocks);
    size_t smem = 0;
    RT_CHECK(cudaOccupancyAvailableDynamicSMemPerBlock(&smem, rm_fill_u32, 4, 128));
    RT_EXPECT(smem > 0);
    printf("dynamic shared memory for 4 blocks of 128: %zu\n", smem);
    int min_grid = 0, block = 0;
    RT_CHECK(cudaOccupancyMaxPotentialBlockSize(&min_grid, &block, rm_vector_add, 0, 0));
    RT_EXPECT(block > 0 && min_grid > 0);
    printf("potential block size %d, min grid %d\n", block, min_grid);

    cudaLaunchConfig_t cfg = {};
    cudaLaunchAttribute cluster;
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim.x = 2, cluster.val.clusterDim.y = 1, cluster.val.clusterDim.z = 1;
    cfg.gridDim = dim3(16);
    cfg.blockDim = dim3(128);
    cfg.attrs = &cluster;
    cfg.numAttrs = 1;
    int clusters = 0;
    RT_CHECK(cudaOccupancyMaxActiveClusters(&clusters, (void *)rm_fill_u32, &cfg));
    RT_EXPECT(clusters > 0);
    printf("clusters of 2 x 128 threads at once: %d\n", clusters);

    cudaFuncAttributes attr;
    RT_CHECK(cudaFuncGetAttributes(&attr, rm_table_sum));
    RT_EXPECT(attr.maxThreadsPerBlock > 0);
    printf("rm_table_sum: max threads %d\n", attr.maxThreadsPerBlock);
    RT_CHECK(cudaFuncSetAttribute(rm_null, cudaFuncAttributeMaxDynamicSharedMemorySize, 65536));
    RT_CHECK(cudaFuncGetAttributes(&attr, rm_null));
    RT_EXPECT(attr.maxDynamicSharedSizeBytes == 65536);
    rm_null<<<1, 32, 65536>>>();
    RT_CHECK(cudaDeviceSynchronize());
    const char *name = nullptr;
    RT_CHECK(cudaFuncGetName(&name, rm_vector_add));
    RT_EXPECT(name && strstr(name, "rm_vector_add"));
    printf("name: %s\n", name);

    cudaStream_t a, b;
    RT_CHECK(cudaStreamCreate(&a));
    RT_CHECK(cudaStreamCreate(&b));
    unsigned long long ida = 0, idb = 0, id0 = 0;
    RT_CHECK(cudaStreamGetId(a, &ida));
    RT_CHECK(cudaStreamGetId(b, &idb));
    RT_CHECK(cudaStreamGetId(0, &id0));
    RT_EXPECT(ida != idb && ida != id0 && idb != id0);
    printf("# stream ids %llu %llu %llu\n", id0, ida, idb);
    int dev = -1;
    RT_CHECK(cudaStreamGetDevice(a, &dev));
    RT_EXPECT(dev == 0);
    /* a stream's context is the runtime's (libraries such as cuDNN compare them) */
    CUcontext of_stream = NULL, current = NULL, green = NULL;
    CU_CHECK(cuCtxGetCurrent(&current));
    CU_CHECK(cuStreamGetCtx((CUstream)a, &of_stream));
    RT_EXPECT(of_stream == current && current != NULL);
    of_stream = NULL;
    CU_CHECK(cuStreamGetCtx_v2((CUstream)b, &of_stream, (CUgreenCtx *)&green));
    RT_EXPECT(of_stream == current && green == NULL);
    printf("streams belong to the current context\n");
    unsigned flags = 0;
    RT_CHECK(cudaGetDeviceFlags(&flags));
    printf("device flags %#x\n", flags);
    RT_CHECK(cudaStreamDestroy(a));
    RT_CHECK(cudaStreamDestroy(b));
    printf("PASS rt_queries\n");
    return 0;
}
