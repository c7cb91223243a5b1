/* Fake backend, modules and libraries. Images are not parsed (one may be a
 * real nvcc fatbin): every module exposes the built-in kernels of
 * backend_fake_kernels.c by name and owns its own instance of their
 * __device__ globals, which are fake device memory (valid copy targets).
 * A library is context-independent and gets a module per context on first
 * use there, as with the driver's lazy loading.
 */
#include "backend_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct CUkern_st {
    CUlibrary lib;
    size_t index; /* of the built-in kernel */
};

struct CUlib_st {
    struct CUkern_st kernels[RM_FAKE_NKERNELS];
    rm_fake_set_t modules; /* one per context that used the library */
};

bool rm_fake_func_live(CUfunction f)
{
    for (size_t i = 0; i < rm_fake_state.modules.len; i++) {
        CUmodule m = rm_fake_state.modules.items[i];
        for (size_t k = 0; k < RM_FAKE_NKERNELS; k++)
            if (&m->funcs[k] == f)
                return true;
    }
    return false;
}

static bool fake_kernel_live(CUkernel kernel)
{
    for (size_t i = 0; i < rm_fake_state.libraries.len; i++) {
        CUlibrary lib = rm_fake_state.libraries.items[i];
        for (size_t k = 0; k < RM_FAKE_NKERNELS; k++)
            if (&lib->kernels[k] == kernel)
                return true;
    }
    return false;
}

/* ---- modules ---- */

static void fake_module_unload(CUmodule m)
{
    rm_fake_set_del(&rm_fake_state.modules, m);
    if (m->lib)
        rm_fake_set_del(&m->lib->modules, m);
    for (size_t g = 0; g < RM_FAKE_NGLOBALS; g++)
        if (m->globals[g])
            rm_fake_mem_free(m->globals[g]);
    free(m);
}

static CUresult fake_module_new(CUcontext ctx, CUlibrary lib, CUmodule *out)
{
    CUmodule m = calloc(1, sizeof *m);
    if (!m)
        return CUDA_ERROR_OUT_OF_MEMORY;
    m->ctx = ctx;
    m->lib = lib;
    for (size_t k = 0; k < RM_FAKE_NKERNELS; k++)
        rm_fake_func_init(&m->funcs[k], m, k);
    CUresult rc = CUDA_SUCCESS;
    for (size_t g = 0; g < RM_FAKE_NGLOBALS && rc == CUDA_SUCCESS; g++)
        rc = rm_fake_mem_alloc(ctx, RM_FAKE_MEM_GLOBAL, rm_fake_global_size(g), &m->globals[g]);
    if (rc == CUDA_SUCCESS && (!rm_fake_set_add(&rm_fake_state.modules, m) ||
                               (lib && !rm_fake_set_add(&lib->modules, m))))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    if (rc != CUDA_SUCCESS) {
        fake_module_unload(m);
        return rc;
    }
    *out = m;
    return CUDA_SUCCESS;
}

void rm_fake_module_release_ctx(CUcontext ctx)
{
    for (size_t i = rm_fake_state.modules.len; i-- > 0;) {
        CUmodule m = rm_fake_state.modules.items[i];
        if (m->ctx == ctx)
            fake_module_unload(m);
    }
}

/* Either output may be NULL (cuda.h), not both (the driver refuses that). */
static CUresult fake_module_global(CUmodule m, const char *name, CUdeviceptr *dptr, size_t *bytes)
{
    if (!name || (!dptr && !bytes))
        return CUDA_ERROR_INVALID_VALUE;
    long g = rm_fake_global_find(name);
    if (g < 0)
        return CUDA_ERROR_NOT_FOUND;
    if (dptr)
        *dptr = (CUdeviceptr)(uintptr_t)m->globals[g];
    if (bytes)
        *bytes = rm_fake_global_size((size_t)g);
    return CUDA_SUCCESS;
}

static CUresult fake_enter_module(CUmodule m)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !rm_fake_set_has(&rm_fake_state.modules, m))
        rc = CUDA_ERROR_INVALID_HANDLE;
    return rc;
}

static CUresult fake_cuModuleLoadData(CUmodule *module, const void *image)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && (!module || !image))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = fake_module_new(ctx, NULL, module);
    return rm_fake_leave(rc);
}

/* A library's modules go with the library, not with cuModuleUnload. */
static CUresult fake_cuModuleUnload(CUmodule hmod)
{
    CUresult rc = fake_enter_module(hmod);
    if (rc == CUDA_SUCCESS && hmod->lib)
        rc = CUDA_ERROR_NOT_PERMITTED;
    if (rc == CUDA_SUCCESS)
        fake_module_unload(hmod);
    return rm_fake_leave(rc);
}

/* Options are checked, not used (there is nothing to compile); an info log
 * buffer gets a line saying so, as a compiler's would get its report. */
static CUresult fake_jit_options(unsigned n, CUjit_option *opts, void **vals, const char *what)
{
    char *info = NULL;
    size_t size = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!opts || !vals || (unsigned)opts[i] >= CU_JIT_NUM_OPTIONS)
            return CUDA_ERROR_INVALID_VALUE;
        if (opts[i] == CU_JIT_INFO_LOG_BUFFER)
            info = vals[i];
        else if (opts[i] == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES)
            size = (uintptr_t)vals[i];
    }
    if (info && size)
        snprintf(info, size, "remora fake backend: %s, nothing compiled", what);
    return CUDA_SUCCESS;
}

static CUresult fake_cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned n, CUjit_option *opts,
                                        void **vals)
{
    CUresult rc = fake_jit_options(n, opts, vals, "module loaded");
    return rc == CUDA_SUCCESS ? fake_cuModuleLoadData(module, image) : rc;
}

static CUresult fake_cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
    CUresult rc = fake_enter_module(hmod);
    if (rc == CUDA_SUCCESS && (!hfunc || !name))
        rc = CUDA_ERROR_INVALID_VALUE;
    long k = rc == CUDA_SUCCESS ? rm_fake_kernel_find(name) : -1;
    if (rc == CUDA_SUCCESS && k < 0)
        rc = CUDA_ERROR_NOT_FOUND;
    if (rc == CUDA_SUCCESS)
        *hfunc = &hmod->funcs[k];
    return rm_fake_leave(rc);
}

/* Every module has every built-in kernel, in the kernel table's order. */
static CUresult fake_cuModuleGetFunctionCount(unsigned *count, CUmodule hmod)
{
    CUresult rc = fake_enter_module(hmod);
    if (rc == CUDA_SUCCESS && !count)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        *count = RM_FAKE_NKERNELS;
    return rm_fake_leave(rc);
}

static CUresult fake_cuModuleEnumerateFunctions(CUfunction *fns, unsigned n, CUmodule hmod)
{
    CUresult rc = fake_enter_module(hmod);
    if (rc == CUDA_SUCCESS && (!fns || n > RM_FAKE_NKERNELS))
        rc = CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; rc == CUDA_SUCCESS && i < n; i++)
        fns[i] = &hmod->funcs[i];
    return rm_fake_leave(rc);
}

static CUresult fake_cuModuleGetGlobal_v2(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod,
                                          const char *name)
{
    CUresult rc = fake_enter_module(hmod);
    if (rc == CUDA_SUCCESS)
        rc = fake_module_global(hmod, name, dptr, bytes);
    return rm_fake_leave(rc);
}

/* ---- the JIT linker: every fake module has every built-in kernel, so a
 * link's image is its first input, which must itself be a loadable image
 * (PTX or a cubin); the options are checked, not used ---- */

struct CUlinkState_st {
    void *first;
    size_t size;
    bool complete;
};

static CUresult fake_cuLinkCreate_v2(unsigned n, CUjit_option *opts, void **vals, CUlinkState *state)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && !state)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS)
        rc = fake_jit_options(n, opts, vals, "link made");
    if (rc == CUDA_SUCCESS && !(*state = calloc(1, sizeof **state)))
        rc = CUDA_ERROR_OUT_OF_MEMORY;
    return rm_fake_leave(rc);
}

static CUresult fake_cuLinkAddData_v2(CUlinkState st, CUjitInputType type, void *data, size_t size,
                                      const char *name, unsigned n, CUjit_option *opts, void **vals)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!st || !data || !size || (unsigned)type >= CU_JIT_NUM_INPUT_TYPES || st->complete))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && !st->first) {
        if (!(st->first = malloc(size)))
            rc = CUDA_ERROR_OUT_OF_MEMORY;
        else
            memcpy(st->first, data, st->size = size);
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuLinkComplete(CUlinkState st, void **image, size_t *size)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS && (!st || !image || !size || !st->first))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS) {
        st->complete = true;
        *image = st->first;
        *size = st->size;
    }
    return rm_fake_leave(rc);
}

static CUresult fake_cuLinkDestroy(CUlinkState st)
{
    if (!st)
        return CUDA_ERROR_INVALID_VALUE;
    free(st->first);
    free(st);
    return CUDA_SUCCESS;
}

/* ---- libraries ---- */

static CUresult fake_library_check(CUlibrary lib)
{
    return rm_fake_set_has(&rm_fake_state.libraries, lib) ? CUDA_SUCCESS
                                                          : CUDA_ERROR_INVALID_HANDLE;
}

/* The library's module for ctx, loaded on first use. */
static CUresult fake_library_module(CUlibrary lib, CUcontext ctx, CUmodule *out)
{
    for (size_t i = 0; i < lib->modules.len; i++) {
        CUmodule m = lib->modules.items[i];
        if (m->ctx == ctx) {
            *out = m;
            return CUDA_SUCCESS;
        }
    }
    return fake_module_new(ctx, lib, out);
}

/* Enter for a per-context library call: current context, live library, and
 * the library's module for that context. */
static CUresult fake_enter_library_module(CUlibrary lib, CUmodule *mod)
{
    CUcontext ctx;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS)
        rc = fake_library_check(lib);
    if (rc == CUDA_SUCCESS)
        rc = fake_library_module(lib, ctx, mod);
    return rc;
}

static CUresult fake_cuLibraryLoadData(CUlibrary *library, const void *code,
                                       CUjit_option *jitOptions, void **jitOptionsValues,
                                       unsigned int numJitOptions, CUlibraryOption *libraryOptions,
                                       void **libraryOptionValues, unsigned int numLibraryOptions)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS &&
        (!library || !code || (numJitOptions && (!jitOptions || !jitOptionsValues)) ||
         (numLibraryOptions && (!libraryOptions || !libraryOptionValues))))
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    CUlibrary lib = calloc(1, sizeof *lib);
    if (!lib || !rm_fake_set_add(&rm_fake_state.libraries, lib)) {
        free(lib);
        return rm_fake_leave(CUDA_ERROR_OUT_OF_MEMORY);
    }
    for (size_t k = 0; k < RM_FAKE_NKERNELS; k++)
        lib->kernels[k] = (struct CUkern_st){.lib = lib, .index = k};
    *library = lib;
    return rm_fake_leave(CUDA_SUCCESS);
}

static CUresult fake_cuLibraryUnload(CUlibrary library)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = fake_library_check(library);
    if (rc != CUDA_SUCCESS)
        return rm_fake_leave(rc);
    while (library->modules.len > 0)
        fake_module_unload(library->modules.items[library->modules.len - 1]);
    free(library->modules.items);
    rm_fake_set_del(&rm_fake_state.libraries, library);
    free(library);
    return rm_fake_leave(CUDA_SUCCESS);
}

static CUresult fake_cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name)
{
    CUresult rc = rm_fake_enter();
    if (rc == CUDA_SUCCESS)
        rc = fake_library_check(library);
    if (rc == CUDA_SUCCESS && (!pKernel || !name))
        rc = CUDA_ERROR_INVALID_VALUE;
    long k = rc == CUDA_SUCCESS ? rm_fake_kernel_find(name) : -1;
    if (rc == CUDA_SUCCESS && k < 0)
        rc = CUDA_ERROR_NOT_FOUND;
    if (rc == CUDA_SUCCESS)
        *pKernel = &library->kernels[k];
    return rm_fake_leave(rc);
}

static CUresult fake_cuLibraryGetModule(CUmodule *pMod, CUlibrary library)
{
    if (!pMod)
        return CUDA_ERROR_INVALID_VALUE;
    CUmodule m;
    CUresult rc = fake_enter_library_module(library, &m);
    if (rc == CUDA_SUCCESS)
        *pMod = m;
    return rm_fake_leave(rc);
}

static CUresult fake_cuLibraryGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUlibrary library,
                                        const char *name)
{
    CUmodule m;
    CUresult rc = fake_enter_library_module(library, &m);
    if (rc == CUDA_SUCCESS)
        rc = fake_module_global(m, name, dptr, bytes);
    return rm_fake_leave(rc);
}

static CUresult fake_cuKernelGetFunction(CUfunction *pFunc, CUkernel kernel)
{
    CUcontext ctx;
    CUmodule m;
    CUresult rc = rm_fake_enter_ctx(&ctx);
    if (rc == CUDA_SUCCESS && !pFunc)
        rc = CUDA_ERROR_INVALID_VALUE;
    if (rc == CUDA_SUCCESS && !fake_kernel_live(kernel))
        rc = CUDA_ERROR_INVALID_HANDLE;
    if (rc == CUDA_SUCCESS)
        rc = fake_library_module(kernel->lib, ctx, &m);
    if (rc == CUDA_SUCCESS)
        *pFunc = &m->funcs[kernel->index];
    return rm_fake_leave(rc);
}

void rm_fake_fill_module(rm_backend_t *out)
{
    out->cuModuleLoadData = fake_cuModuleLoadData;
    out->cuModuleLoadDataEx = fake_cuModuleLoadDataEx;
    out->cuModuleUnload = fake_cuModuleUnload;
    out->cuModuleGetFunction = fake_cuModuleGetFunction;
    out->cuModuleGetFunctionCount = fake_cuModuleGetFunctionCount;
    out->cuLinkCreate_v2 = fake_cuLinkCreate_v2;
    out->cuLinkAddData_v2 = fake_cuLinkAddData_v2;
    out->cuLinkComplete = fake_cuLinkComplete;
    out->cuLinkDestroy = fake_cuLinkDestroy;
    out->cuModuleEnumerateFunctions = fake_cuModuleEnumerateFunctions;
    out->cuModuleGetGlobal_v2 = fake_cuModuleGetGlobal_v2;
    out->cuLibraryLoadData = fake_cuLibraryLoadData;
    out->cuLibraryUnload = fake_cuLibraryUnload;
    out->cuLibraryGetKernel = fake_cuLibraryGetKernel;
    out->cuLibraryGetGlobal = fake_cuLibraryGetGlobal;
    out->cuLibraryGetModule = fake_cuLibraryGetModule;
    out->cuKernelGetFunction = fake_cuKernelGetFunction;
}
