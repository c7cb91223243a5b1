/* The calling thread's current context (top of its context stack). */
#ifndef RM_CTX_CURRENT_H
#define RM_CTX_CURRENT_H

#include <cuda.h>

CUcontext rm_ctx_current(void);

#endif
