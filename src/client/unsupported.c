/* Client: the common body of the generated stubs for driver calls remora
 * does not implement (src/client/gen/rm_unsupported.c). */
#include "unsupported.h"

#include <cuda.h>

#include "log.h"
#include "trace.h"

int rm_cl_unsupported(const char *name, int *warned)
{
    if (rm_trace_on)
        rm_trace_unsupported(name);
    if (!__atomic_exchange_n(warned, 1, __ATOMIC_RELAXED))
        RM_WARN("%s is not implemented by remora: returning CUDA_ERROR_NOT_SUPPORTED", name);
    return CUDA_ERROR_NOT_SUPPORTED;
}
