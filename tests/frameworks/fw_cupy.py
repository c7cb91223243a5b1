"""CuPy: elementwise, reduction, matmul, a RawKernel (NVRTC), FFT; each
result's checksum is printed as soon as it is computed."""
import cupy as cp

from fw_common import checksum, done

rs = cp.random.RandomState(seed=3)
a = rs.standard_normal((256, 256), dtype=cp.float32)
b = rs.standard_normal((256, 256), dtype=cp.float32)


def report(name, value):
    print(name, checksum(cp.asnumpy(value).tobytes()), flush=True)


report("elementwise", cp.sin(a) * b + 1)
report("reduction", a.sum(axis=1))
report("matmul", a @ b)
scale = cp.RawKernel(r'''
extern "C" __global__ void scale(float *x, float k, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= k;
}''', "scale")
c = a.copy()
scale((c.size // 256,), (256,), (c, cp.float32(3.0), cp.int32(c.size)))
report("rawkernel", c)
report("fft", cp.fft.fft2(a))
done("fw_cupy")
