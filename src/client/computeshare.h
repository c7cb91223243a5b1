/* Client: the compute share a program asks for, read from the environment
 * at cuInit and sent to the server (op compute_share), which keeps the
 * lower of it and its own (remora-server --compute-share). Per GPU, the
 * first of these that names it, in percent of the GPU's time:
 *   REMORA_COMPUTE_SHARE           every GPU (1-100; 0 or 100: no share)
 *   TENSOR_FUSION_CUDA_UP_LIMIT    JSON object, keys GPU UUIDs ("GPU-...",
 *                                  any case) or indices ("0"), values 1-100
 *   CUDA_DEVICE_SM_LIMIT_<i>       HAMi's, for GPU i (0-100; 0: none)
 *   CUDA_DEVICE_SM_LIMIT           HAMi's, for every GPU */
#ifndef RM_CL_COMPUTESHARE_H
#define RM_CL_COMPUTESHARE_H

#include <stdint.h>

/* The percent asked for GPU index (its UUID: uuid), 0 if none: 0, or -1
 * after an error line naming the variable whose value is not valid. */
int rm_cl_compute_share_wanted(int index, const uint8_t uuid[16], uint32_t *percent);

#endif
