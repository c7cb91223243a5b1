/* Content-addressed store of module images, shared by every session of a
 * server: a directory of files named by the SHA-256 of their content. A
 * client that loads an image the server has seen sends 32 bytes instead of
 * the image (DESIGN §4). */
#ifndef RM_IMAGE_CACHE_H
#define RM_IMAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* Use `dir` (created 0700 if missing); NULL: $TMPDIR/remora-cache-UID.
 * Without a usable directory the cache is off (logged). */
void rm_image_cache_init(const char *dir);
/* The image with this hash, malloc'd (caller frees), or NULL. The content
 * is checked against the hash: a damaged file is a miss. */
void *rm_image_cache_get(const uint8_t hash[RM_SHA256_LEN], size_t *len);
/* Remember an image (named by the hash of these bytes, never the client's). */
void rm_image_cache_put(const void *data, size_t len);

#endif
