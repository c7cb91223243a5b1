/* The private tables remora's libnvidia-ml.so.1 hands out through
 * nvmlInternalGetExportTable (proto/nvml.spec's table lines, generated into
 * gen/rm_nvml_xtables.c): a 16-byte id, then slots of function pointers,
 * slot 0 the table's size in bytes. */
#ifndef RM_NVML_XTABLES_H
#define RM_NVML_XTABLES_H

#include <stdint.h>

#include "rm_nvml.h"

typedef struct {
    uint8_t uuid[16];
    const char *name;
    const void *const *rows;
    unsigned count;
} rm_nvml_xtable_t;

extern const rm_nvml_xtable_t rm_nvml_xtables[]; /* sorted by UUID */
extern const unsigned rm_nvml_xtable_count;

/* The answer of every slot nobody has studied: logged once per slot (info),
 * NVML_SUCCESS, and a zero count written through a1 when a0 is a device
 * handle of ours (src/nvml/smi_table.c says why). */
nvmlReturn_t rm_nvml_xt_unknown(const rm_nvml_xtable_t *t, unsigned index, uint64_t a0, uint64_t a1, uint64_t a2,
                                uint64_t a3);

#endif
