/* CUDA error names and descriptions (table generated from cuda.h). */
#ifndef RM_ERRORS_H
#define RM_ERRORS_H

#include <stddef.h>

typedef struct {
    int code;
    const char *name;
    const char *text;
} rm_cuda_error_t;

extern const rm_cuda_error_t rm_cuda_errors[]; /* sorted by code */
extern const size_t rm_cuda_error_count;

/* The entry of a code, or NULL. */
const rm_cuda_error_t *rm_cuda_error_find(int code);

#endif
