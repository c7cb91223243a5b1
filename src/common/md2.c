/* MD2 (RFC 1319) and HMAC-MD2 (RFC 2104). */
#include "md2.h"

#include <string.h>

/* RFC 1319's substitution of 0..255, "constructed from the digits of pi":
 * a shuffle of the identity driven by pi's decimal digits. */
static const uint8_t pi_subst[256] = {
     41,  46,  67, 201, 162, 216, 124,   1,  61,  54,  84, 161, 236, 240,   6,  19,
     98, 167,   5, 243, 192, 199, 115, 140, 152, 147,  43, 217, 188,  76, 130, 202,
     30, 155,  87,  60, 253, 212, 224,  22, 103,  66, 111,  24, 138,  23, 229,  18,
    190,  78, 196, 214, 218, 158, 222,  73, 160, 251, 245, 142, 187,  47, 238, 122,
    169, 104, 121, 145,  21, 178,   7,  63, 148, 194,  16, 137,  11,  34,  95,  33,
    128, 127,  93, 154,  90, 144,  50,  39,  53,  62, 204, 231, 191, 247, 151,   3,
    255,  25,  48, 179,  72, 165, 181, 209, 215,  94, 146,  42, 172,  86, 170, 198,
     79, 184,  56, 210, 150, 164, 125, 182, 118, 252, 107, 226, 156, 116,   4, 241,
     69, 157, 112,  89, 100, 113, 135,  32, 134,  91, 207, 101, 230,  45, 168,   2,
     27,  96,  37, 173, 174, 176, 185, 246,  28,  70,  97, 105,  52,  64, 126,  15,
     85,  71, 163,  35, 221,  81, 175,  58, 195,  92, 249, 206, 186, 197, 234,  38,
     44,  83,  13, 110, 133,  40, 132,   9, 211, 223, 205, 244,  65, 129,  77,  82,
    106, 220,  55, 200, 108, 193, 171, 250,  36, 225, 123,   8,  12, 189, 177,  74,
    120, 136, 149, 139, 227,  99, 232, 109, 233, 203, 213, 254,  59,   0,  29,  57,
    242, 239, 183,  14, 102,  88, 208, 228, 166, 119, 114, 248, 235, 117,  75,  10,
     49,  68,  80, 180, 143, 237,  31,  26, 219, 153, 141,  51, 159,  17, 131,  20,
};

static void compress(rm_md2_t *c, const uint8_t block[16])
{
    for (int i = 0; i < 16; i++) {
        c->state[16 + i] = block[i];
        c->state[32 + i] = (uint8_t)(c->state[i] ^ block[i]);
        c->last = c->checksum[i] ^= pi_subst[block[i] ^ c->last];
    }
    uint8_t t = 0;
    for (int round = 0; round < 18; round++) {
        for (int k = 0; k < 48; k++)
            t = c->state[k] ^= pi_subst[t];
        t = (uint8_t)(t + round);
    }
}

void rm_md2_init(rm_md2_t *c) { memset(c, 0, sizeof *c); }

void rm_md2_update(rm_md2_t *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n) {
        size_t take = 16 - c->used;
        if (take > n)
            take = n;
        memcpy(c->block + c->used, p, take);
        c->used += take, p += take, n -= take;
        if (c->used == 16) {
            compress(c, c->block);
            c->used = 0;
        }
    }
}

void rm_md2_final(rm_md2_t *c, uint8_t out[RM_MD2_LEN])
{
    /* Pad with i bytes of value i (1..16), then the checksum as a block. */
    uint8_t pad[16];
    size_t n = 16 - c->used;
    memset(pad, (int)n, n);
    rm_md2_update(c, pad, n);
    uint8_t sum[16];
    memcpy(sum, c->checksum, 16);
    compress(c, sum);
    memcpy(out, c->state, RM_MD2_LEN);
}

void rm_md2(const void *data, size_t n, uint8_t out[RM_MD2_LEN])
{
    rm_md2_t c;
    rm_md2_init(&c);
    rm_md2_update(&c, data, n);
    rm_md2_final(&c, out);
}

static void keyed_start(rm_md2_t *c, const uint8_t key[16], uint8_t pad)
{
    uint8_t k[16];
    for (int i = 0; i < 16; i++)
        k[i] = key[i] ^ pad;
    rm_md2_init(c);
    rm_md2_update(c, k, sizeof k);
}

void rm_hmac_md2_init(rm_hmac_md2_t *h, const uint8_t key[16])
{
    memcpy(h->key, key, sizeof h->key);
    keyed_start(&h->inner, key, 0x36);
}

void rm_hmac_md2_update(rm_hmac_md2_t *h, const void *data, size_t n) { rm_md2_update(&h->inner, data, n); }

void rm_hmac_md2_final(rm_hmac_md2_t *h, uint8_t out[RM_MD2_LEN])
{
    uint8_t inner[RM_MD2_LEN];
    rm_md2_t outer;
    rm_md2_final(&h->inner, inner);
    keyed_start(&outer, h->key, 0x5c);
    rm_md2_update(&outer, inner, sizeof inner);
    rm_md2_final(&outer, out);
}
