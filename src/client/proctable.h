/* Every CUDA symbol the client exports, by name (generated, sorted). */
#ifndef RM_PROCTABLE_H
#define RM_PROCTABLE_H

#include <stddef.h>

typedef struct {
    const char *name;
    void *fn;
} rm_proc_t;

extern const rm_proc_t rm_proc_table[];
extern const size_t rm_proc_count;

#endif
