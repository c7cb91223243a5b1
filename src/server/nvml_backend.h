/* The server's NVML (rm_nvml_api_t, gen/rm_nvml_api.h): the real
 * libnvidia-ml.so.1, loaded by absolute path (never remora's own) and
 * initialised, or the fake backend's answers, which agree with the fake
 * driver (names, UUIDs, memory) and say they are fake. */
#ifndef RM_NVML_BACKEND_H
#define RM_NVML_BACKEND_H

#include "remora/status.h"
#include "rm_nvml_api.h"

/* Search the usual driver folders (/usr/local/nvidia/lib64, ...); RM_ERR_*
 * (logged) if there is none or it does not initialise. */
rm_status rm_nvml_real_open(rm_nvml_api_t *api);
void rm_nvml_fake_fill(rm_nvml_api_t *api);

#endif
