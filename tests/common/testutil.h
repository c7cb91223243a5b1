/* Helpers shared by remora's driver-API programs (tests/e2e, tests/gpu, bench).
 *
 * The programs run unchanged on remora's libcuda (fake or real backend) and on
 * the native driver, so these helpers use only the public driver API. Failures
 * print where and what failed and exit(1): these are test programs, and one
 * process is one test.
 *
 * Output convention: stdout carries deterministic results only (checksums,
 * counts, "PASS <name>"); timings and other run-dependent facts go on lines
 * starting with '#', which tests/gpu/run leaves out of its native-vs-remora
 * comparison.
 */
#ifndef RM_TESTUTIL_H
#define RM_TESTUTIL_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

/* Run a CUDA call; on failure print file:line, the call and the error name, exit 1. */
#define CK(call) rm_check((call), #call, __FILE__, __LINE__)

/* Assert a test condition; on failure print file:line and the message, exit 1. */
#define RM_EXPECT(cond, ...)                                             \
    do {                                                                 \
        if (!(cond))                                                     \
            rm_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);             \
    } while (0)

/* Expect a CUDA call to return exactly `want`. */
#define CK_EXPECT(call, want) rm_check_expect((call), (want), #call, __FILE__, __LINE__)

void rm_check(CUresult r, const char *call, const char *file, int line);
void rm_check_expect(CUresult got, CUresult want, const char *call, const char *file, int line);
void rm_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));
/* Name of a CUresult ("CUDA_ERROR_INVALID_VALUE"), never NULL. */
const char *rm_err_name(CUresult r);

/* cuInit, device 0, retain its primary context and make it current. */
void rm_test_init(CUdevice *dev, CUcontext *ctx);
/* True when the device is remora's host-memory emulator ("remora fake device N"). */
int rm_test_is_fake(void);
/* True when this process talks to remora-server (REMORA_SERVER is set). */
int rm_test_is_remora(void);

/* The test-kernel image: the nvcc-built fatbin named by RM_KERNELS_FATBIN, or,
 * when there is none, a placeholder that only the fake backend accepts. Loaded
 * once; the memory stays valid for the life of the process. */
const void *rm_test_kernel_image(size_t *size);
/* cuModuleLoadData of rm_test_kernel_image(). */
void rm_test_load_kernels(CUmodule *mod);
CUfunction rm_test_function(CUmodule mod, const char *name);
/* A text image of `bytes` bytes, its final NUL included: "// TAG", then
 * spaces. The fake backend takes it as PTX; rm_image_size counts all of it.
 * malloc'd: free it. */
char *rm_test_text_image(size_t bytes, const char *tag);
/* Launch a grid-stride kernel over n elements on stream s (block 256). */
void rm_launch_1d(CUfunction f, CUstream s, size_t n, void **params);

/* Monotonic clock, microseconds. */
double rm_now_us(void);
/* Sort a sample array and return its median (the array is reordered). */
double rm_median(double *v, size_t n);

/* Deterministic fast PRNG fills (splitmix64): the same seed gives the same
 * bytes on every machine. */
void rm_fill_random(void *buf, size_t bytes, uint64_t seed);
/* Floats that are small integers (0..1023) so sums and products are exact. */
void rm_fill_random_f32(float *buf, size_t n, uint64_t seed);
/* FNV-1a 64 of a buffer, for printing deterministic checksums. */
uint64_t rm_checksum(const void *buf, size_t bytes);
/* Compare two buffers; on the first difference print it and exit 1. */
void rm_expect_bytes(const void *got, const void *want, size_t bytes, const char *what);

/* Host buffers: malloc'd or pinned, freed by rm_host_free. */
enum rm_host_kind { RM_HOST_PAGEABLE, RM_HOST_PINNED, RM_HOST_PINNED_HOSTALLOC };
void *rm_host_alloc(enum rm_host_kind kind, size_t bytes);
void rm_host_free(enum rm_host_kind kind, void *p);
const char *rm_host_kind_name(enum rm_host_kind kind);

/* Print the final "PASS <name>" line. */
void rm_pass(const char *name);

#endif
