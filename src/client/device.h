/* Client device cache: driver version and every device's facts, fetched
 * once at cuInit and answered locally from then on. */
#ifndef RM_CL_DEVICE_H
#define RM_CL_DEVICE_H

#include <cuda.h>

#include "wire_types.h"

/* CUDA_SUCCESS once cuInit succeeded, else CUDA_ERROR_NOT_INITIALIZED. */
CUresult rm_cl_initialized(void);
/* The cached facts of device dev, NULL if it does not exist. */
const rm_device_info_t *rm_cl_device(CUdevice dev);

#endif
