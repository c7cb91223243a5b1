/* What every unimplemented driver entry point does. */
#ifndef RM_UNSUPPORTED_H
#define RM_UNSUPPORTED_H

/* Logs (once per symbol) and returns CUDA_ERROR_NOT_SUPPORTED. */
int rm_cl_unsupported(const char *name, int *warned);

#endif
