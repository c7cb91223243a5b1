/* The one place where rm_status meets CUresult. */
#ifndef RM_STATUS_CUDA_H
#define RM_STATUS_CUDA_H
#include <cuda.h>
#include "remora/status.h"

CUresult rm_status_to_cuda(rm_status s);

#endif
