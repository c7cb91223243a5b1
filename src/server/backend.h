/* Backends: what a session worker executes CUDA calls on.
 *
 * A backend is a table of CUDA driver entry points with their exact cuda.h
 * types. `real` fills it by dlsym from the real libcuda.so.1 (loaded by
 * absolute path, never remora's own library); `fake` fills it with a
 * host-memory emulator for machines with no GPU (CI). An entry left NULL
 * means "not available on this backend": callers answer
 * CUDA_ERROR_NOT_SUPPORTED.
 */
#ifndef RM_BACKEND_H
#define RM_BACKEND_H

#include <cuda.h>
#include <cudaProfiler.h>
#include "remora/status.h"

/* Every driver entry point the server may call, by its versioned name. */
#define RM_BACKEND_CALLS(X)                                                              \
    X(cuInit) X(cuDriverGetVersion) X(cuDeviceGetCount) X(cuDeviceGet) X(cuDeviceGetName) \
    X(cuDeviceGetUuid_v2) X(cuDeviceGetPCIBusId) X(cuDeviceTotalMem_v2) X(cuDeviceGetAttribute)                 \
    X(cuDevicePrimaryCtxRetain) X(cuDevicePrimaryCtxRelease_v2)                           \
    X(cuDevicePrimaryCtxReset_v2) X(cuDevicePrimaryCtxSetFlags_v2)                        \
    X(cuDevicePrimaryCtxGetState) X(cuCtxCreate_v4) X(cuCtxDestroy_v2) X(cuCtxSetCurrent)  \
    X(cuCtxGetCurrent) X(cuCtxGetDevice) X(cuCtxSynchronize) X(cuCtxSetLimit) X(cuCtxGetLimit)               \
    X(cuCtxGetStreamPriorityRange) X(cuMemAlloc_v2) X(cuMemFree_v2) X(cuMemGetInfo_v2)     \
    X(cuMemAllocPitch_v2) X(cuMemGetAddressRange_v2) X(cuMemHostRegister_v2)               \
    X(cuMemHostUnregister) X(cuMemHostGetDevicePointer_v2) X(cuMemcpyHtoD_v2)              \
    X(cuMemcpyDtoH_v2) X(cuMemcpyDtoD_v2) X(cuMemcpyHtoDAsync_v2) X(cuMemcpyDtoHAsync_v2)  \
    X(cuMemcpyDtoDAsync_v2) X(cuMemcpy2D_v2) X(cuMemcpy2DAsync_v2) X(cuMemsetD8_v2)       \
    X(cuMemsetD16_v2) X(cuMemsetD32_v2) X(cuMemsetD8Async) X(cuMemsetD16Async)             \
    X(cuMemsetD32Async) X(cuMemsetD2D8_v2) X(cuMemsetD2D16_v2) X(cuMemsetD2D32_v2)         \
    X(cuMemsetD2D8Async) X(cuMemsetD2D16Async) X(cuMemsetD2D32Async)                       \
    X(cuPointerGetAttribute) X(cuModuleLoadData) X(cuModuleLoadDataEx) X(cuModuleUnload) X(cuModuleGetFunction) X(cuModuleGetFunctionCount) X(cuModuleEnumerateFunctions)  \
    X(cuModuleGetGlobal_v2) X(cuLibraryLoadData) X(cuLibraryUnload) X(cuLibraryGetKernel)  \
    X(cuLibraryGetGlobal) X(cuLibraryGetModule) X(cuKernelGetFunction) X(cuFuncGetAttribute) \
    X(cuFuncSetAttribute) X(cuFuncSetCacheConfig) X(cuFuncGetParamInfo) X(cuFuncGetName)   \
    X(cuLaunchKernel) X(cuLaunchKernelEx) X(cuStreamCreate) X(cuStreamCreateWithPriority)  \
    X(cuStreamDestroy_v2) X(cuStreamSynchronize) X(cuStreamQuery) X(cuStreamWaitEvent)     \
    X(cuStreamGetPriority) X(cuStreamGetFlags)                                             \
    X(cuEventCreate) X(cuEventDestroy_v2) X(cuEventRecord) X(cuEventRecordWithFlags)       \
    X(cuEventSynchronize) X(cuEventQuery) X(cuEventElapsedTime_v2) X(cuProfilerStart)      \
    X(cuProfilerStop) X(cuLaunchHostFunc) X(cuStreamBeginCapture_v2) X(cuStreamEndCapture)  \
    X(cuStreamIsCapturing) X(cuStreamGetCaptureInfo_v3) X(cuThreadExchangeStreamCaptureMode) X(cuGraphCreate) X(cuGraphDestroy)    \
    X(cuGraphInstantiateWithFlags) X(cuGraphExecDestroy) X(cuGraphLaunch) X(cuGraphUpload)  \
    X(cuCtxGetId) X(cuCtxGetFlags) X(cuStreamGetId) X(cuStreamGetCtx) X(cuStreamGetDevice)       \
    X(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags) X(cuOccupancyAvailableDynamicSMemPerBlock)     \
    X(cuMemAllocAsync) X(cuMemAllocFromPoolAsync) X(cuMemFreeAsync) X(cuDeviceGetDefaultMemPool)  \
    X(cuDeviceGetMemPool) X(cuDeviceSetMemPool) X(cuMemPoolCreate) X(cuMemPoolDestroy)            \
    X(cuMemPoolSetAttribute) X(cuMemPoolGetAttribute) X(cuMemPoolTrimTo)                         \
    X(cuMemGetAllocationGranularity) X(cuMemAddressReserve) X(cuMemAddressFree) X(cuMemCreate)      \
    X(cuMemRelease) X(cuMemMap) X(cuMemUnmap) X(cuMemSetAccess) X(cuMemGetAccess) \
    X(cuCtxGetCacheConfig) X(cuCtxSetCacheConfig) X(cuCtxEnablePeerAccess) X(cuCtxDisablePeerAccess)  \
    X(cuDeviceCanAccessPeer) X(cuDeviceGetP2PAttribute) X(cuIpcGetMemHandle) X(cuIpcOpenMemHandle_v2)  \
    X(cuIpcCloseMemHandle) X(cuIpcGetEventHandle) X(cuIpcOpenEventHandle) X(cuStreamWriteValue32_v2)   \
    X(cuStreamWriteValue64_v2) X(cuStreamWaitValue32_v2) X(cuStreamWaitValue64_v2) X(cuTensorMapEncodeTiled) X(cuTensorMapEncodeIm2col) X(cuTensorMapEncodeIm2colWide) X(cuTensorMapReplaceAddress) X(cuMemRetainAllocationHandle) X(cuMemExportToShareableHandle) X(cuMemImportFromShareableHandle) \
    X(cuGraphAddEmptyNode) X(cuGraphAddKernelNode_v2) X(cuGraphAddMemsetNode) X(cuGraphAddMemcpyNode)  \
    X(cuGraphGetNodes) X(cuGraphNodeGetType) X(cuGraphAddEventRecordNode) X(cuGraphAddEventWaitNode) X(cuGraphAddChildGraphNode) X(cuGraphAddHostNode) X(cuGraphAddMemAllocNode) X(cuGraphAddMemFreeNode) X(cuGraphKernelNodeSetParams_v2) X(cuGraphExecKernelNodeSetParams_v2) X(cuGraphExecUpdate_v2) X(cuGraphAddNode_v2) X(cuGraphConditionalHandleCreate) X(cuLinkCreate_v2) X(cuLinkAddData_v2) X(cuLinkComplete) X(cuLinkDestroy)                                                   \
    X(cuOccupancyMaxActiveClusters)                                                                  \
    X(cuArray3DCreate_v2) X(cuArray3DGetDescriptor_v2) X(cuArrayDestroy) X(cuMipmappedArrayCreate)      \
    X(cuMipmappedArrayGetLevel) X(cuMipmappedArrayDestroy) X(cuMemcpy3D_v2) X(cuMemcpy3DAsync_v2)       \
    X(cuTexObjectCreate) X(cuTexObjectDestroy) X(cuTexObjectGetResourceDesc) X(cuTexObjectGetTextureDesc) \
    X(cuTexObjectGetResourceViewDesc) X(cuSurfObjectCreate) X(cuSurfObjectDestroy)                     \
    X(cuSurfObjectGetResourceDesc)

typedef struct rm_backend {
    const char *name; /* "real" or "fake" */
#define RM_BACKEND_MEMBER(fn) __typeof__(&fn) fn;
    RM_BACKEND_CALLS(RM_BACKEND_MEMBER)
#undef RM_BACKEND_MEMBER
    /* The device's primary context, active or not, without retaining it:
     * what NVIDIA's cudart asks the driver's private interface for. */
    CUresult (*primary_ctx_handle)(CUcontext *pctx, CUdevice dev);
} rm_backend_t;

/* Load the real driver. path NULL: search the usual driver locations
 * (/usr/local/nvidia/lib64, /usr/lib/x86_64-linux-gnu, /usr/lib64, ...),
 * skipping any library that is remora's own client. */
rm_status rm_backend_real_open(const char *path, rm_backend_t *out);
/* Fill with the host-memory emulator. */
void rm_backend_fake_fill(rm_backend_t *out);

#endif
