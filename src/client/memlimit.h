/* Client: the device-memory limit a program asks for, read from the
 * environment at cuInit and sent to the server (op mem_limit), which keeps
 * the lower of it and its own (remora-server --mem-limit). Per GPU, the
 * first of these that names it:
 *   REMORA_MEM_LIMIT               a size for every GPU ("4GiB", "512M", bytes)
 *   TENSOR_FUSION_CUDA_MEM_LIMIT   JSON object, keys GPU UUIDs ("GPU-...",
 *                                  any case) or indices ("0"), values bytes
 *   CUDA_DEVICE_MEMORY_LIMIT_<i>   HAMi's, for GPU i ("4g", "512m", bytes)
 *   CUDA_DEVICE_MEMORY_LIMIT       HAMi's, for every GPU */
#ifndef RM_CL_MEMLIMIT_H
#define RM_CL_MEMLIMIT_H

#include <stdint.h>

/* The bytes asked for GPU index (its UUID: uuid), 0 if none: 0, or -1 after
 * an error line naming the variable whose value is not valid. */
int rm_cl_mem_limit_wanted(int index, const uint8_t uuid[16], uint64_t *bytes);

#endif
