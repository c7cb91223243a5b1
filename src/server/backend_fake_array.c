/* Fake backend, CUDA arrays, mipmapped arrays, 3D copies and texture and
 * surface objects: not emulated yet. Every entry answers
 * CUDA_ERROR_NOT_SUPPORTED (logged once), so the server's handlers for them
 * (sv_array.c, sv_texture.c) run their checks on the fake and stop there. */
#include "backend_fake.h"

#include "log.h"

static CUresult fake_arrays_unsupported(void)
{
    static int warned;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        RM_WARN("fake backend: CUDA arrays, textures and surfaces are not emulated");
    return CUDA_ERROR_NOT_SUPPORTED;
}

#define FAKE_UNSUPPORTED(fn, ...) \
    static CUresult fake_##fn(__VA_ARGS__) { return fake_arrays_unsupported(); }
FAKE_UNSUPPORTED(cuArray3DCreate_v2, CUarray *a, const CUDA_ARRAY3D_DESCRIPTOR *d)
FAKE_UNSUPPORTED(cuArray3DGetDescriptor_v2, CUDA_ARRAY3D_DESCRIPTOR *d, CUarray a)
FAKE_UNSUPPORTED(cuArrayDestroy, CUarray a)
FAKE_UNSUPPORTED(cuMipmappedArrayCreate, CUmipmappedArray *m, const CUDA_ARRAY3D_DESCRIPTOR *d, unsigned n)
FAKE_UNSUPPORTED(cuMipmappedArrayGetLevel, CUarray *a, CUmipmappedArray m, unsigned level)
FAKE_UNSUPPORTED(cuMipmappedArrayDestroy, CUmipmappedArray m)
FAKE_UNSUPPORTED(cuMemcpy3D_v2, const CUDA_MEMCPY3D *c)
FAKE_UNSUPPORTED(cuMemcpy3DAsync_v2, const CUDA_MEMCPY3D *c, CUstream s)
FAKE_UNSUPPORTED(cuTexObjectCreate, CUtexObject *t, const CUDA_RESOURCE_DESC *r, const CUDA_TEXTURE_DESC *d,
                 const CUDA_RESOURCE_VIEW_DESC *v)
FAKE_UNSUPPORTED(cuTexObjectDestroy, CUtexObject t)
FAKE_UNSUPPORTED(cuTexObjectGetResourceDesc, CUDA_RESOURCE_DESC *r, CUtexObject t)
FAKE_UNSUPPORTED(cuTexObjectGetTextureDesc, CUDA_TEXTURE_DESC *d, CUtexObject t)
FAKE_UNSUPPORTED(cuTexObjectGetResourceViewDesc, CUDA_RESOURCE_VIEW_DESC *v, CUtexObject t)
FAKE_UNSUPPORTED(cuSurfObjectCreate, CUsurfObject *s, const CUDA_RESOURCE_DESC *r)
FAKE_UNSUPPORTED(cuSurfObjectDestroy, CUsurfObject s)
FAKE_UNSUPPORTED(cuSurfObjectGetResourceDesc, CUDA_RESOURCE_DESC *r, CUsurfObject s)

void rm_fake_fill_array(rm_backend_t *out)
{
#define FAKE_FILL(fn) out->fn = fake_##fn;
    FAKE_FILL(cuArray3DCreate_v2) FAKE_FILL(cuArray3DGetDescriptor_v2) FAKE_FILL(cuArrayDestroy)
    FAKE_FILL(cuMipmappedArrayCreate) FAKE_FILL(cuMipmappedArrayGetLevel) FAKE_FILL(cuMipmappedArrayDestroy)
    FAKE_FILL(cuMemcpy3D_v2) FAKE_FILL(cuMemcpy3DAsync_v2) FAKE_FILL(cuTexObjectCreate) FAKE_FILL(cuTexObjectDestroy)
    FAKE_FILL(cuTexObjectGetResourceDesc) FAKE_FILL(cuTexObjectGetTextureDesc)
    FAKE_FILL(cuTexObjectGetResourceViewDesc) FAKE_FILL(cuSurfObjectCreate) FAKE_FILL(cuSurfObjectDestroy)
    FAKE_FILL(cuSurfObjectGetResourceDesc)
#undef FAKE_FILL
}
