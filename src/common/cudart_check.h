/* The answer to NVIDIA cudart's integrity check (entry [1] of export table
 * d4082055..., notes/dark-api.md): cudart recomputes it from the table
 * addresses it was handed and refuses to start when they differ. A pure
 * function of its inputs, so it is unit-tested against the driver's own
 * answers. */
#ifndef RM_CUDART_CHECK_H
#define RM_CUDART_CHECK_H

#include <stdint.h>

typedef struct {
    uint8_t uuid[16];
    uint32_t pci_domain, pci_bus, pci_device;
} rm_check_device_t;

typedef struct {
    uint32_t driver_version; /* cuDriverGetVersion */
    uint32_t rt_version;     /* the runtime's, as passed to the check */
    uint32_t pid;            /* getpid() */
    uint32_t tid;            /* low 32 bits of pthread_self() */
    uint64_t cudart_table;   /* address of the 6bd5... table handed out */
    uint64_t check_table;    /* address of the d408... table handed out */
    uint64_t check_fn;       /* its entry [1] */
    uint64_t timestamp;      /* as passed to the check */
    const rm_check_device_t *devices;
    uint32_t ndevices;
} rm_check_input_t;

void rm_cudart_check_answer(const rm_check_input_t *in, uint8_t out[16]);

#endif
