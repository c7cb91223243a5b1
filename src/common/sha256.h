/* SHA-256 (FIPS 180-4), for naming module images by their content. */
#ifndef RM_SHA256_H
#define RM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define RM_SHA256_LEN 32

void rm_sha256(const void *data, size_t n, uint8_t out[RM_SHA256_LEN]);

#endif
