/* Sizes as people write them, shared by the server's options and the
 * client's environment variables: digits, then optionally a unit K, M, G or
 * T in either case (powers of 1024), itself optionally followed by "iB" or
 * "B" ("512MiB", "4G", "4g", "1024"). */
#ifndef RM_SIZE_H
#define RM_SIZE_H

#include <stdint.h>

/* 0 and *out set for a positive size that fits 64 bits; -1 otherwise. */
int rm_parse_size(const char *s, uint64_t *out);

#endif
