/* Test kernels for remora's driver-API programs (tests/e2e, tests/gpu, bench).
 *
 * The fake backend implements the same kernels in C, by name and signature, so
 * every name, parameter list and module global here must stay in step with it.
 * Element-wise kernels use grid-stride loops, so any launch shape covers n.
 * Built by tests/CMakeLists.txt into a fatbin (nvcc -fatbin) that
 * testutil.c loads with cuModuleLoadData. The runtime-API programs
 * (tests/rt) include this file with C++ linkage (RM_KERNEL defined first),
 * launching the same kernels by their mangled names.
 */
#ifndef RM_KERNEL
#define RM_KERNEL extern "C" __global__
#endif

__device__ int rm_counter;      /* bumped by rm_add_counter */
__device__ float rm_table[256]; /* summed by rm_table_sum */

__device__ static int rm_grid_stride(void) { return blockDim.x * gridDim.x; }
__device__ static int rm_global_index(void) { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ static bool rm_first_thread(void)
{
    return threadIdx.x == 0 && blockIdx.x == 0 && threadIdx.y == 0 && blockIdx.y == 0 &&
           threadIdx.z == 0 && blockIdx.z == 0;
}

/* c[i] = a[i] + b[i] */
RM_KERNEL void rm_vector_add(const float *a, const float *b, float *c, int n)
{
    for (int i = rm_global_index(); i < n; i += rm_grid_stride())
        c[i] = a[i] + b[i];
}

/* p[i] = v */
RM_KERNEL void rm_fill_u32(unsigned int *p, unsigned int v, int n)
{
    for (int i = rm_global_index(); i < n; i += rm_grid_stride())
        p[i] = v;
}

/* x[i] *= s */
RM_KERNEL void rm_scale_f32(float *x, float s, int n)
{
    for (int i = rm_global_index(); i < n; i += rm_grid_stride())
        x[i] *= s;
}

/* GPU time for the compute-share tests: n * 1024 dependent multiply-adds
 * per thread, the same for every launch of the same shape (the fake backend
 * sleeps n microseconds instead). */
RM_KERNEL void rm_spin(int n)
{
    float x = (float)threadIdx.x;
    for (int i = 0; i < n * 1024; i++)
        x = x * 0.999999f + 0.5f;
    if (x == -1.0f) /* never: keeps the loop */
        rm_counter = 1;
}

/* Does nothing: launch-overhead measurements. */
RM_KERNEL void rm_null(void) {}

/* rm_counter += v, once per launch whatever its shape. */
RM_KERNEL void rm_add_counter(int v)
{
    if (rm_first_thread())
        atomicAdd(&rm_counter, v);
}

/* out[0] = rm_table[0] + ... + rm_table[255], summed in index order so the
 * result is bit-identical to a sequential host (or fake backend) sum. */
/* Device printf, once per launch: "rm_print <v>". */
RM_KERNEL void rm_print(int v)
{
    if (rm_first_thread())
        printf("rm_print %d\n", v);
}

RM_KERNEL void rm_table_sum(float *out)
{
    if (!rm_first_thread())
        return;
    float sum = 0.0f;
    for (int i = 0; i < 256; i++)
        sum += rm_table[i];
    out[0] = sum;
}

/* out[i] = the texel at column i % w, row i / w of a 2D float texture
 * object, point-sampled at the texel's centre (unnormalised coordinates):
 * rows past the texture's height show its address mode. */
RM_KERNEL void rm_tex_read(unsigned long long tex, float *out, int w, int n)
{
    for (int i = rm_global_index(); i < n; i += rm_grid_stride())
        out[i] = tex2D<float>(tex, i % w + 0.5f, i / w + 0.5f);
}

/* Writes (float)i to column i % w, row i / w of a 2D float surface object;
 * writes past its edges are dropped (cudaBoundaryModeZero). */
RM_KERNEL void rm_surf_write(unsigned long long surf, int w, int n)
{
    for (int i = rm_global_index(); i < n; i += rm_grid_stride())
        surf2Dwrite((float)i, surf, (i % w) * (int)sizeof(float), i / w, cudaBoundaryModeZero);
}
