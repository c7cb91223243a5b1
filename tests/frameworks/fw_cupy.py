"""CuPy: elementwise, reduction, matmul, FFT, a RawKernel (NVRTC)."""
import cupy as cp

from fw_common import checksum, done

rs = cp.random.RandomState(seed=3)
a = rs.standard_normal((256, 256), dtype=cp.float32)
b = rs.standard_normal((256, 256), dtype=cp.float32)
results = {"elementwise": cp.sin(a) * b + 1, "reduction": a.sum(axis=1), "matmul": a @ b,
           "fft": cp.fft.fft2(a)}
scale = cp.RawKernel(r'''
extern "C" __global__ void scale(float *x, float k, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= k;
}''', "scale")
c = a.copy()
scale((c.size // 256,), (256,), (c, cp.float32(3.0), cp.int32(c.size)))
results["rawkernel"] = c
for name, value in results.items():
    print(name, checksum(cp.asnumpy(value).tobytes()))
done("fw_cupy")
