/* Client: modules and what feeds them. */
#ifndef RM_CL_MODULE_H
#define RM_CL_MODULE_H

#include <stddef.h>

/* A whole file in memory, NUL-terminated (for PTX); NULL if it cannot be
 * read or is larger than a module image can be. Free it with free(). */
void *rm_cl_read_file(const char *path, size_t *n);

#endif
