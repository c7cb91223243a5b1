/* cuDNN: a convolution forward, and its backward passes for the data and
 * the filter, with algorithms cuDNN documents as deterministic. */
#include <cudnn.h>

#include "lib.h"

#define DNN(call) LIB_CHECK("cudnn", call, CUDNN_STATUS_SUCCESS)

enum { B = 2, C = 3, H = 32, W = 32, KOUT = 8, R = 3 };

static void *workspace(size_t bytes)
{
    void *p = nullptr;
    RT_OK(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}

int main()
{
    cudnnHandle_t h;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    DNN(cudnnCreate(&h));
    DNN(cudnnCreateTensorDescriptor(&xd));
    DNN(cudnnCreateTensorDescriptor(&yd));
    DNN(cudnnCreateFilterDescriptor(&wd));
    DNN(cudnnCreateConvolutionDescriptor(&cd));
    DNN(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, B, C, H, W));
    DNN(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, KOUT, C, R, R));
    DNN(cudnnSetConvolution2dDescriptor(cd, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DNN(cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH));
    int n, c, oh, ow;
    DNN(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &c, &oh, &ow));
    printf("output %dx%dx%dx%d\n", n, c, oh, ow);
    DNN(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, oh, ow));
    const size_t xs = B * C * H * W, ws = KOUT * C * R * R, ys = (size_t)n * c * oh * ow;
    float *x = lib_device_floats(xs, 8), *w = lib_device_floats(ws, 9), *y = lib_device_floats(ys, 10);
    float *dy = lib_device_floats(ys, 11), *dx = lib_device_floats(xs, 12), *dw = lib_device_floats(ws, 13);
    const float one = 1.0f, zero = 0.0f;
    size_t bytes = 0;

    const cudnnConvolutionFwdAlgo_t fwd = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    DNN(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, fwd, &bytes));
    void *work = workspace(bytes);
    DNN(cudnnConvolutionForward(h, &one, xd, x, wd, w, cd, fwd, work, bytes, &zero, yd, y));
    lib_report("forward", y, ys);
    RT_OK(cudaFree(work));

    const cudnnConvolutionBwdDataAlgo_t bwd_data = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    DNN(cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd, yd, cd, xd, bwd_data, &bytes));
    work = workspace(bytes);
    DNN(cudnnConvolutionBackwardData(h, &one, wd, w, yd, dy, cd, bwd_data, work, bytes, &zero, xd, dx));
    lib_report("backward data", dx, xs);
    RT_OK(cudaFree(work));

    const cudnnConvolutionBwdFilterAlgo_t bwd_filter = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    DNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd, yd, cd, wd, bwd_filter, &bytes));
    work = workspace(bytes);
    DNN(cudnnConvolutionBackwardFilter(h, &one, xd, x, yd, dy, cd, bwd_filter, work, bytes, &zero, wd, dw));
    lib_report("backward filter", dw, ws);
    RT_OK(cudaFree(work));

    DNN(cudnnDestroyConvolutionDescriptor(cd));
    DNN(cudnnDestroyFilterDescriptor(wd));
    DNN(cudnnDestroyTensorDescriptor(xd));
    DNN(cudnnDestroyTensorDescriptor(yd));
    DNN(cudnnDestroy(h));
    for (float *p : {x, w, y, dy, dx, dw})
        RT_OK(cudaFree(p));
    printf("PASS lib_cudnn\n");
    return 0;
}
