/* Server: what device code prints (printf in kernels) goes to the client.
 * The driver writes it to the worker's stdout when work completes; the
 * worker's stdout is a pipe whose bytes are collected here, and each reply
 * to a synchronising call is preceded by what was printed before it, so the
 * client prints it where a native program would. */
#ifndef RM_OUTPUT_H
#define RM_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* Make the process's stdout the collecting pipe. -1 if it cannot be. */
int rm_output_capture(void);
/* Everything printed so far (after a flush of stdout), handed over: *data
 * is malloc'd (the caller frees it), NULL with *len 0 when there is none. */
void rm_output_take(uint8_t **data, size_t *len);

#endif
