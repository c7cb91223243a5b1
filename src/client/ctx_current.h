/* The calling thread's current context (top of its context stack). */
#ifndef RM_CTX_CURRENT_H
#define RM_CTX_CURRENT_H

#include <cuda.h>

CUcontext rm_ctx_current(void);
/* Makes ctx the calling thread's current context unless it is already (a
 * helper thread working for another thread, stripe.h). */
CUresult rm_ctx_adopt(CUcontext ctx);

#endif
