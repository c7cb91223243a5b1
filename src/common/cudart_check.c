/* cudart's integrity check: fixed answers for runtime versions ending in 0
 * or 1, else HMAC-MD2 over the process, the tables and every device. */
#include "cudart_check.h"

#include <string.h>

#include "md2.h"

static const uint8_t check_key[16] = {0x14, 0x6a, 0xdd, 0xae, 0x53, 0xa9, 0xa7, 0x52,
                                      0xaa, 0x08, 0x41, 0x36, 0x0b, 0xf5, 0x5a, 0x9f};
static const uint8_t answer_v0[16] = {0x5c, 0x67, 0xcb, 0x03, 0x1c, 0x18, 0x41, 0x33,
                                      0xe8, 0xd1, 0x4c, 0x1f, 0xaa, 0x83, 0xd3, 0x8e};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void rm_cudart_check_answer(const rm_check_input_t *in, uint8_t out[16])
{
    switch (in->rt_version % 10) {
    case 0:
        memcpy(out, answer_v0, 16);
        return;
    case 1:
        memcpy(out, answer_v0, 16);
        out[7] = 0x18;
        return;
    }
    rm_hmac_md2_t h;
    uint8_t head[48];
    put32(head, in->driver_version);
    put32(head + 4, in->rt_version);
    put32(head + 8, in->pid);
    put32(head + 12, in->tid);
    put64(head + 16, in->cudart_table);
    put64(head + 24, in->check_table);
    put64(head + 32, in->check_fn);
    put64(head + 40, in->timestamp);
    rm_hmac_md2_init(&h, check_key);
    rm_hmac_md2_update(&h, head, sizeof head);
    for (uint32_t d = 0; d < in->ndevices; d++) {
        uint8_t dev[28];
        memcpy(dev, in->devices[d].uuid, 16);
        put32(dev + 16, in->devices[d].pci_domain);
        put32(dev + 20, in->devices[d].pci_bus);
        put32(dev + 24, in->devices[d].pci_device);
        rm_hmac_md2_update(&h, dev, sizeof dev);
    }
    rm_hmac_md2_final(&h, out);
}
