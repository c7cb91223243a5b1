/* Client: the state of each device's primary context (flags, active),
 * answered locally. Only this process's calls change it (its session has
 * the server's contexts to itself), so the server's answer holds until one
 * of them does; cudart asks for it hundreds of times per PyTorch training
 * step. */
#ifndef RM_CL_PRIMARY_STATE_H
#define RM_CL_PRIMARY_STATE_H

#include <cuda.h>

/* A call that may change dev's primary context (retain, release, reset,
 * set flags) is about to be made: ask the server again next time. */
void rm_primary_state_forget(CUdevice dev);

#endif
