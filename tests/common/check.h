/* The assertion of remora's C tests that are not CUDA programs (unit and
 * wire-level tests): on failure print where, what and which process, and
 * exit at once (also from a forked child). */
#ifndef RM_CHECK_H
#define RM_CHECK_H

#include <stdio.h>
#include <unistd.h>

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: [pid %d] check failed: %s\n", __FILE__, __LINE__,        \
                    (int)getpid(), #cond);                                                   \
            _exit(1);                                                                        \
        }                                                                                    \
    } while (0)

#endif
