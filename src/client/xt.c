/* Client: cuGetExportTable. Known UUIDs get remora's own tables (identical
 * addresses every time: cudart's integrity check binds them); an unknown UUID
 * is logged by its value and refused. */
#include "xt.h"

#include <cuda.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "log.h"

const rm_xt_table_t *rm_xt_find(const uint8_t uuid[16])
{
    unsigned lo = 0, hi = rm_xt_table_count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = memcmp(rm_xt_tables[mid].uuid, uuid, 16);
        if (c == 0)
            return &rm_xt_tables[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const rm_xt_table_t *rm_xt_named(const char *name)
{
    for (unsigned i = 0; i < rm_xt_table_count; i++)
        if (strcmp(rm_xt_tables[i].name, name) == 0)
            return &rm_xt_tables[i];
    return NULL;
}

enum { XT_MAX_TABLES = 32, XT_MAX_ENTRIES = 128 };

static void uuid_hex(const uint8_t *uuid, char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", uuid[i]);
}

int rm_xt_unknown(const rm_xt_table_t *t, unsigned index, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                  uint64_t a4, uint64_t a5)
{
    /* a warning the first time an entry is refused, debug lines after that */
    static unsigned char warned[XT_MAX_TABLES][XT_MAX_ENTRIES];
    unsigned ti = (unsigned)(t - rm_xt_tables);
    int first = ti < XT_MAX_TABLES && index < XT_MAX_ENTRIES &&
                !__atomic_exchange_n(&warned[ti][index], 1, __ATOMIC_RELAXED);
    char hex[33];
    uuid_hex(t->uuid, hex);
    RM_LOG(first ? RM_LOG_WARN : RM_LOG_DEBUG,
           "export table %s (%s) entry [%u] is not implemented by remora: returning "
           "CUDA_ERROR_NOT_SUPPORTED (arguments %#llx %#llx %#llx %#llx %#llx %#llx)",
           t->name, hex, index, (unsigned long long)a0, (unsigned long long)a1, (unsigned long long)a2,
           (unsigned long long)a3, (unsigned long long)a4, (unsigned long long)a5);
    return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult CUDAAPI RM_IMPL(cuGetExportTable)(const void **table, const CUuuid *id)
{
    if (!table || !id)
        return CUDA_ERROR_INVALID_VALUE;
    const rm_xt_table_t *t = rm_xt_find((const uint8_t *)id->bytes);
    if (t) {
        RM_DEBUG("cuGetExportTable: %s", t->name);
        *table = t->entries;
        return CUDA_SUCCESS;
    }
    char hex[33];
    uuid_hex((const uint8_t *)id->bytes, hex);
    RM_WARN("cuGetExportTable: unknown export table %s: returning CUDA_ERROR_NOT_SUPPORTED", hex);
    *table = NULL;
    return CUDA_ERROR_NOT_SUPPORTED;
}
