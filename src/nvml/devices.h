/* libnvidia-ml.so.1's state: initialisation (counted, as NVML's is), the
 * link to remora's libcuda.so.1, and device handles. A handle is the
 * address of the device's slot here; the GPUs are the CUDA devices the
 * program sees through remora, in the same order. */
#ifndef RM_NVML_DEVICES_H
#define RM_NVML_DEVICES_H

#include "rm_nvml.h"

/* remora_nvml_call of libcuda.so.1 (src/client/nvml_remote.c). */
typedef int (*rm_nvml_call_fn)(unsigned fn, int device, const void *args, unsigned args_len, void *result,
                               unsigned cap, unsigned *result_len);

/* The link to libcuda while NVML is initialised, else NULL. */
rm_nvml_call_fn rm_nvml_link(void);
/* The index of a handle of ours: 0, or -1 if it is not one. */
int rm_nvml_device_index(nvmlDevice_t device, int *index);

#endif
