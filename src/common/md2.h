/* MD2 (RFC 1319) and HMAC-MD2 (RFC 2104 with MD2's 16-byte block).
 * Only for answering NVIDIA cudart's integrity check (notes/dark-api.md):
 * MD2 is not a hash to protect anything with. */
#ifndef RM_MD2_H
#define RM_MD2_H

#include <stddef.h>
#include <stdint.h>

#define RM_MD2_LEN 16

typedef struct {
    uint8_t state[48]; /* X: state, block, state ^ block */
    uint8_t checksum[16];
    uint8_t block[16];
    size_t used; /* bytes in block */
    uint8_t last; /* L of the checksum recurrence */
} rm_md2_t;

void rm_md2_init(rm_md2_t *c);
void rm_md2_update(rm_md2_t *c, const void *data, size_t n);
void rm_md2_final(rm_md2_t *c, uint8_t out[RM_MD2_LEN]);
void rm_md2(const void *data, size_t n, uint8_t out[RM_MD2_LEN]);

/* HMAC-MD2 with a 16-byte key (MD2's block size), streamed. */
typedef struct {
    rm_md2_t inner;
    uint8_t key[16];
} rm_hmac_md2_t;

void rm_hmac_md2_init(rm_hmac_md2_t *h, const uint8_t key[16]);
void rm_hmac_md2_update(rm_hmac_md2_t *h, const void *data, size_t n);
void rm_hmac_md2_final(rm_hmac_md2_t *h, uint8_t out[RM_MD2_LEN]);

#endif
