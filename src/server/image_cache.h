/* Content-addressed store of module images: a directory of files named by
 * the SHA-256 of their content, one per tenant (the client's address over
 * TCP, its user over a Unix socket), so that a client cannot learn whether
 * another tenant loaded an image. A client that loads an image its tenant's
 * sessions have loaded sends 32 bytes instead of the image (DESIGN §4). */
#ifndef RM_IMAGE_CACHE_H
#define RM_IMAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* Use `dir` (created 0700 if missing); NULL: $TMPDIR/remora-cache-UID;
 * each tenant's images are kept within `bytes`. Without a usable directory
 * the cache is off (logged). */
void rm_image_cache_init(const char *dir, uint64_t bytes);
/* In a session's worker: the tenant whose directory this process uses. */
void rm_image_cache_tenant(const char *tenant);
/* The image with this hash, malloc'd (caller frees), or NULL. The content
 * is checked against the hash: a damaged file is a miss. */
void *rm_image_cache_get(const uint8_t hash[RM_SHA256_LEN], size_t *len);
/* Remember an image (named by the hash of these bytes, never the client's). */
void rm_image_cache_put(const void *data, size_t len);

#endif
