/* Bytes as hex digits and back, for handles passed to a child process on
 * its command line (the IPC programs). Header-only: C and CUDA C++ use it. */
#ifndef RM_TEST_HEX_H
#define RM_TEST_HEX_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* out holds 2 * n + 1 characters. */
static inline void rm_to_hex(const void *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", ((const unsigned char *)p)[i]);
}

/* False unless hex is exactly 2 * n hex digits. */
static inline bool rm_from_hex(const char *hex, void *p, size_t n)
{
    if (strlen(hex) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        ((unsigned char *)p)[i] = (unsigned char)v;
    }
    return true;
}

#endif
