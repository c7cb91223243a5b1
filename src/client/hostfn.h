/* Client: host functions (cuLaunchHostFunc, cuStreamAddCallback). */
#ifndef RM_CL_HOSTFN_H
#define RM_CL_HOSTFN_H

#include <cuda.h>

/* Wait until the host functions pending on stream s have returned (every
 * pending one, for the legacy default stream). Cheap when there are none. */
void rm_hostfn_wait(CUstream s);

#endif
