/* Client device cache: driver version and every device's facts, fetched
 * once at cuInit and answered locally from then on. */
#ifndef RM_CL_DEVICE_H
#define RM_CL_DEVICE_H

#include <cuda.h>
#include <stdint.h>

#include "wire_types.h"

/* CUDA_SUCCESS once cuInit succeeded, else CUDA_ERROR_NOT_INITIALIZED. */
CUresult rm_cl_initialized(void);
/* The cached facts of device dev, NULL if it does not exist. */
const rm_device_info_t *rm_cl_device(CUdevice dev);
/* Several servers: the server of device *dev, rewriting *dev to that
 * server's ordinal (a bad ordinal is left as it is, for the current server
 * to refuse); the server of dev, -1 if there is no such device; and the
 * program's ordinal of server srv's device local. */
int rm_cl_device_route(int32_t *dev);
int rm_cl_device_server(CUdevice dev);
CUdevice rm_cl_device_global(int srv, int32_t local);

#endif
